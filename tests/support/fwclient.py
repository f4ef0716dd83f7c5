"""The tests' client of the firmware's serial protocol (docs/protocol.md) over the host build's
stdin/stdout (``--stdio``), on ``reds_bench.board.protocol``'s framing and parsers.

A command is ``<text>%``; its reply is zero or more ``m-...`` / ``e-[...]`` lines, then
``m-ready``. The boot banner is a reply of its own (the first).
"""
from __future__ import annotations

from pathlib import Path

from reds_bench.board import protocol

import hostbuild

READY = protocol.READY


def stream(*commands: str) -> bytes:
    """The bytes that send ``commands``: each followed by ``%``."""
    return "".join(c + "%" for c in commands).encode("latin-1")


def lines(stdout: bytes) -> list[str]:
    """The non-empty lines of the board's output (``\\r\\n`` ends a line)."""
    return [ln for ln in stdout.decode("latin-1").split("\r\n") if ln]


def split_replies(out: list[str]) -> tuple[list[list[str]], list[str]]:
    """Output lines -> (the reply of each ``m-ready``, without it; the lines after the last)."""
    replies, cur = [], []
    for line in out:
        if line == READY:
            replies.append(cur)
            cur = []
        else:
            cur.append(line)
    return replies, cur


def exchange(prog: Path, *commands: str, raw: bytes = b"", timeout: float = 60.0) -> list[list[str]]:
    """Send ``raw`` then ``commands`` to a fresh ``prog --stdio``; the reply lines of each
    (boot banner first). The program must exit 0 with nothing after its last ``m-ready``."""
    p = hostbuild.run_stdio(prog, raw + stream(*commands), timeout=timeout)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    replies, rest = split_replies(lines(p.stdout))
    assert rest == [], f"output after the last m-ready: {rest}"
    return replies


def kv(line: str) -> dict:
    """The key=value fields of an ``m-<tag> k=v ...`` line (numbers converted, hex and names
    kept as text: ``protocol.parse_kv``)."""
    return protocol.parse_kv(line)[1]


def well_formed(line: str) -> bool:
    """Every reply line is ``m-...`` or ``e-[...]``."""
    return line.startswith("m-") or (line.startswith("e-[") and line.endswith("]"))


def upload(model: bytes, crc: int | None = None, chunk: int = 200) -> list[str]:
    """The commands that upload ``model`` (``model-load``, ``model-data`` of ``chunk`` bytes,
    ``model-commit`` with its CRC, or ``crc`` when given)."""
    cmds = [f"model-load {len(model)}"]
    cmds += [f"model-data {h}" for h in protocol.hex_chunks(model, chunk)]
    cmds.append(f"model-commit {(protocol.crc32(model) if crc is None else crc):08x}")
    return cmds
