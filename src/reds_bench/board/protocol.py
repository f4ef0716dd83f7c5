"""Pure helpers of the serial protocol (docs/protocol.md): key=value payloads, hex, CRC.

Every REDS reply is ``m-<tag> key=value key=value ...``, so one parser serves all commands:

>>> parse_kv("m-reds-bench subnet=2 runs=50 median=1234 unit=systick")
('reds-bench', {'subnet': 2, 'runs': 50, 'median': 1234, 'unit': 'systick'})
>>> parse_list(parse_kv("m-reds-switch-row from=0 ticks=1.250,0.000")[1]["ticks"])
[1.25, 0.0]
"""
from __future__ import annotations

import re
import zlib
from fractions import Fraction

# The firmware protocol this parser speaks; `board.info.board_info` refuses a board whose
# `reds-info` reports another `protocol=` (boards/firmware/fw_config.h FW_PROTOCOL_VERSION).
PROTOCOL_VERSION = 2
READY = "m-ready"
BOOT_TAG = "boot-reds"
# `name` reply, in the MLPerf Tiny runner's form m-name-dut-[<name>]; ours is reds-<target>
NAME = re.compile(r"^m-name-dut-\[reds-([^]]+)]$")
_NUM = re.compile(r"^-?\d+$")
_FLOAT = re.compile(r"^-?\d+\.\d+$")
_ERR = re.compile(r"^e-\[(.*)\]\s*$")


def _value(v: str):
    if _NUM.match(v):
        return int(v)
    if _FLOAT.match(v):
        return float(v)
    return v


# Values that are hex or names even when they happen to be all digits (e.g. crc32=00123456).
RAW_KEYS = frozenset({"hex", "crc32", "model_crc32", "expected", "got", "input", "source",
                      "model_source", "target", "unit"})


def parse_kv(line: str) -> tuple[str, dict]:
    """Split ``m-<tag> k=v ...`` into the tag and a dict (ints and floats converted, except
    the hex and name fields of RAW_KEYS)."""
    line = line.strip()
    if not line.startswith("m-"):
        raise ValueError(f"not an m- line: {line!r}")
    head, *rest = line[2:].split(" ")
    out = {}
    for item in rest:
        if "=" in item:
            k, v = item.split("=", 1)
            out[k] = v if k in RAW_KEYS else _value(v)
    return head, out


def instructions_per_tick(value) -> int | float:
    """The ``instructions_per_tick`` a board reports, as a number to multiply ticks by: an int
    when a tick is a whole number of instructions (``40`` on QEMU MPS2), the exact ratio as a
    float when the firmware reports a fraction (``125/21``: a 168 MHz SysTick under -icount),
    0 when ticks are not instruction counts (silicon, host). Also accepts an already parsed
    number (results files store the number)."""
    if value in (None, ""):
        return 0
    if isinstance(value, str) and "/" in value:
        num, den = value.split("/", 1)
        ratio = Fraction(int(num), int(den))
    else:
        ratio = Fraction(value)
    return int(ratio) if ratio.denominator == 1 else float(ratio)


def parse_error(line: str) -> str | None:
    """The message of an ``e-[...]`` line, else None."""
    m = _ERR.match(line.strip())
    return m.group(1) if m else None


def parse_list(value) -> list:
    """``"1.5,2,3"`` -> ``[1.5, 2, 3]`` (a single number comes back as a one-item list)."""
    if isinstance(value, (int, float)):
        return [value]
    return [_value(v) for v in str(value).split(",") if v != ""]


def crc32(data: bytes) -> int:
    return zlib.crc32(bytes(data)) & 0xFFFFFFFF


def hex_chunks(data: bytes, chunk: int):
    """Yield hex strings of at most ``chunk`` bytes each."""
    data = bytes(data)
    for i in range(0, len(data), chunk):
        yield data[i:i + chunk].hex()
