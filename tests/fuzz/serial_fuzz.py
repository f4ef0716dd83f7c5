"""Grammar-based fuzzer for the firmware's serial protocol, against the native host build with
ASan/UBSan (``--stdio``: the serial line is the process's stdin/stdout).

Batches of commands are drawn from the protocol's grammar (every command word with good, edge
and hostile arguments; model uploads of the default model, of mutated models with a correct CRC
and of broken ones; junk lines, bad bytes, overlong lines). Every line must get its ``m-ready``
within ``line_timeout`` seconds, and every reply line must be ``m-...`` or ``e-[...]``. After
every batch the board must still answer ``name%`` and ``reds-info%``, and compute the same
output as before for the running model (model CRC, subnet, input) -- for the default model the
same bytes as the host runtime, through ``reds.runtime.binding``. The active subnet must be the one the
replies announced (a rejected upload or a failed command changes nothing).

Written against the protocol words only; both ``m-results-`` formats are accepted (the REDS
list of int8 values and MLPerf Tiny's), since only equality between runs is checked.
"""
from __future__ import annotations

import os
import random
import select
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from paths import DEFAULT_MODEL

import fwclient
from fwclient import READY, well_formed
from reds_bench.board.protocol import parse_kv

HERE = Path(__file__).resolve().parent
FW_LINE_MAX = 600  # boards/firmware/fw_config.h
HEX_CHUNK = 256  # bytes per db / model-data line
NUMBERS = ["0", "1", "2", "3", "4", "7", "8", "15", "16", "17", "255", "256", "257", "1000", "65535",
           "65536", "100000", "100001", "4294967295", "4294967296", "18446744073709551616", "-1",
           "00000000000000000001", "1x", "0x10", "+1", " ", "9" * 40]
HUGE = {"4294967295", "4294967296", "18446744073709551616", "9" * 40, "100000", "100001", "65535",
        "65536", "1000"}


@dataclass
class Finding:
    kind: str  # crash, timeout, protocol, state, output
    detail: str
    stream: bytes


@dataclass
class Stats:
    lines: int = 0
    batches: int = 0
    restarts: int = 0
    max_line_s: float = 0.0
    uploads_ok: int = 0
    uploads_rejected: int = 0
    events: dict[str, int] = field(default_factory=dict)  # every finding event, by kind
    findings: list[Finding] = field(default_factory=list)  # the first of each signature


class BoardDied(Exception):
    pass


class Board:
    """The ASan firmware process; `send` returns each line's reply and its duration."""

    def __init__(self, prog: Path, log: Path):
        self.log = log
        self._err = open(log, "wb")
        self.proc = subprocess.Popen([str(prog), "--stdio"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._err)
        self._buf = b""
        boot = self.send(b"", 1, timeout=20.0)
        if not boot or not boot[0][0] or not boot[0][0][0].startswith("m-boot-reds"):
            raise BoardDied(f"no boot banner: {boot!r}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._err.close()

    def stderr_text(self) -> str:
        self._err.flush()
        return self.log.read_bytes().decode(errors="replace")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the board process has used, from /proc."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("inf")

    def send(self, data: bytes, n_ready: int, timeout: float) -> list[tuple[list[str], float]]:
        """Write `data`; read until `n_ready` m-ready lines. Raises TimeoutError when one line
        keeps the board busy for more than `timeout` seconds of its CPU time (with the replies so
        far; CPU time, so a loaded host does not fake a hang), BoardDied when it exits. The
        durations returned are wall-clock."""
        if data:
            writer = threading.Thread(target=self._write, args=(data,), daemon=True)
            writer.start()
        replies: list[tuple[list[str], float]] = []
        cur: list[str] = []
        fd = self.proc.stdout.fileno()
        last = time.monotonic()
        cpu_last = self.cpu_seconds()
        wait_from = last
        while len(replies) < n_ready:
            while b"\r\n" in self._buf and len(replies) < n_ready:
                line, self._buf = self._buf.split(b"\r\n", 1)
                text = line.decode("latin-1")
                if text == READY:
                    now = time.monotonic()
                    replies.append((cur, now - last))
                    cur, last, wait_from = [], now, now
                    cpu_last = self.cpu_seconds()
                elif text:
                    cur.append(text)
            if len(replies) == n_ready:
                break
            left = timeout - (time.monotonic() - wait_from)
            if left <= 0:
                if self.cpu_seconds() - cpu_last > timeout or time.monotonic() - last > 60 * timeout:
                    raise TimeoutError(replies)
                wait_from, left = time.monotonic(), timeout  # busy host, not a busy board: wait on
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise BoardDied(self.stderr_text()[-4000:])
                self._buf += chunk
        return replies

    def _write(self, data: bytes):
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass


# --------------------------------------------------------------------------- grammar

class Grammar:
    def __init__(self, rng: random.Random, models: list[bytes], hostile_counts: bool = True):
        self.rng = rng
        self.models = models
        self.hostile_counts = hostile_counts

    def number(self) -> str:
        r = self.rng
        if r.random() < 0.5:
            return str(r.randint(0, 20))
        n = r.choice(NUMBERS)
        if not self.hostile_counts and n in HUGE:
            return str(r.randint(0, 300))
        return n

    def hexdata(self, n: int | None = None) -> str:
        r = self.rng
        n = r.choice([0, 1, 2, 5, 16, 100, 256, 300]) if n is None else n
        s = bytes(r.randrange(256) for _ in range(n)).hex()
        if r.random() < 0.1 and s:  # odd length or a non-hex digit
            s = s[:-1] if r.random() < 0.5 else s[:-1] + r.choice("gxZ-")
        return s

    def upload(self) -> list[str]:
        """model-load / model-data... / model-commit of a whole model (valid, mutated or broken)."""
        r = self.rng
        model = bytearray(r.choice(self.models))
        kind = r.random()
        if kind < 0.6:
            for _ in range(r.randint(1, 8)):  # mutated, correct CRC: the runtime sees it
                pos = r.randrange(len(model))
                model[pos] = r.randrange(256) if r.random() < 0.7 else model[pos] ^ (1 << r.randrange(8))
        crc = zlib.crc32(bytes(model))
        if 0.9 < kind:
            crc ^= 1 << r.randrange(32)  # wrong CRC
        lines = fwclient.upload(bytes(model), crc, HEX_CHUNK)
        if 0.85 < kind <= 0.9:
            del lines[-2]  # incomplete: the last model-data line is left out
        return lines

    def junk(self) -> str:
        r = self.rng
        k = r.randrange(6)
        if k == 0:
            return r.choice(["nmae", "reds", "reds-", "model", "db-load", "INFER", "help me", "name name"])
        if k == 1:
            return " ".join(["infer"] + [self.number() for _ in range(r.randint(3, 9))])
        if k == 2:
            return "db " + "f" * r.choice([FW_LINE_MAX - 3, FW_LINE_MAX - 2, FW_LINE_MAX + 1, 3000])
        if k == 3:
            return "".join(chr(r.randrange(1, 256)) for _ in range(r.randint(1, 40))).replace("%", "")
        if k == 4:
            return r.choice(["", " ", "\r\n", "\t", "  name  "])
        return r.choice(["name", "reds-info", "db load"]) + "\x00" + self.number()

    def line(self) -> list[str]:
        r = self.rng
        n = self.number
        choices = [
            (4, lambda: [r.choice(["name", "profile", "help", "results", "reds-info"])]),
            (3, lambda: [f"db load {n()}"]),
            (3, lambda: [f"db {self.hexdata()}"]),
            (2, lambda: ["db load 16", f"db {self.hexdata(16)}"]),
            (4, lambda: [r.choice([f"infer {n()} {n()}", f"infer {n()}", "infer"])]),
            (4, lambda: [f"reds-select {n()}"]),
            (3, lambda: [r.choice([f"reds-bench {n()} {n()} {n()}", f"reds-bench {n()} {n()}"])]),
            (1, lambda: [f"reds-switch {n()}"]),
            (2, lambda: [f"model-load {n()}"]),
            (2, lambda: [f"model-data {self.hexdata()}"]),
            (2, lambda: [f"model-commit {r.choice(['0badf00d', '00000000', 'zzzzzzzz', '123', self.hexdata(4)])}"]),
            (2, self.upload),
            (1, lambda: ["model-reset"]),
            (3, lambda: [self.junk()]),
        ]
        total = sum(w for w, _ in choices)
        x = r.uniform(0, total)
        for w, f in choices:
            x -= w
            if x <= 0:
                return f()
        return choices[-1][1]()

    def batch(self, n_lines: int) -> list[str]:
        out: list[str] = []
        while len(out) < n_lines:
            out += self.line()
        return out


# ------------------------------------------------------------------------------- checks

def _kv(line: str) -> dict:
    """The key=value fields of an m- line (protocol.parse_kv), {} for any other line."""
    return parse_kv(line)[1] if line.startswith("m-") else {}


def reference_outputs(model: bytes, x: bytes) -> dict[int, bytes]:
    """Output 0 of every subnet of `model` for input bytes `x`, by the host runtime."""
    import numpy as np

    from reds.runtime.binding import Runtime

    rt = Runtime(model)
    out = {}
    for k in range(rt.num_subnets):
        rt.select(k)
        shape, dtype = rt.input_shape(), rt.input_dtype()
        n = int(np.prod(shape)) * dtype.itemsize
        y = rt.invoke(np.frombuffer(x[:n], dtype=dtype).reshape(shape))
        out[k] = np.asarray(y).tobytes()
    return out


class SerialFuzzer:
    def __init__(self, prog: Path, workdir: Path, seed: int, models: list[bytes],
                 line_timeout: float = 1.0, hostile_counts: bool = True):
        self.prog = prog
        self.workdir = workdir
        self.rng = random.Random(seed)
        self.grammar = Grammar(self.rng, models, hostile_counts)
        self.line_timeout = line_timeout
        self.stats = Stats()
        self.default = models[0]
        self.default_crc = zlib.crc32(self.default)
        self.known: dict[tuple, tuple] = {}  # (crc, subnet, input) -> (results lines, output hex)
        self.reference: dict[int, bytes] | None = None
        self.board: Board | None = None
        self.active = 0
        self.model_crc = self.default_crc
        self.signatures: set[tuple] = set()
        workdir.mkdir(parents=True, exist_ok=True)

    # -- board lifecycle
    def start(self):
        self.board = Board(self.prog, self.workdir / "board-stderr.log")
        self.active, self.model_crc = 0, self.default_crc
        self.stats.restarts += 1

    def stop(self):
        if self.board:
            self.board.close()
            self.board = None

    def finding(self, kind: str, detail: str, stream: bytes, signature: tuple):
        self.stats.events[kind] = self.stats.events.get(kind, 0) + 1
        if signature in self.signatures:
            return
        self.signatures.add(signature)
        self.stats.findings.append(Finding(kind, detail, stream))

    # -- one batch
    def run_batch(self, n_lines: int) -> None:
        if self.board is None:
            self.start()
        lines = self.grammar.batch(n_lines)
        stream = "".join(ln + "%" for ln in lines).encode("latin-1")
        try:
            replies = self.board.send(stream, stream.count(b"%"), self.line_timeout)
        except TimeoutError as e:
            done = len(e.args[0])
            culprit = self._culprit(lines, done)
            self.finding("timeout", f"no m-ready within {self.line_timeout} s after {culprit!r}",
                         stream, ("timeout", culprit.split(" ")[0]))
            self.stop()
            return
        except BoardDied as e:
            self.finding("crash", str(e)[-2000:], stream, ("crash", str(e)[-200:]))
            self.stop()
            return
        self.stats.lines += stream.count(b"%")
        self.stats.batches += 1
        self._follow_state(lines, replies, stream)
        self.check_alive_and_same(stream)

    @staticmethod
    def _culprit(lines: list[str], done: int) -> str:
        n = 0
        for ln in lines:
            n += ln.count("%") + 1
            if n > done:
                return ln[:80]
        return "?"

    def _follow_state(self, lines, replies, stream):
        """Per-reply checks, and the active subnet / model the replies announce."""
        for body, dt in replies:
            self.stats.max_line_s = max(self.stats.max_line_s, dt)
            for ln in body:
                if not well_formed(ln):
                    self.finding("protocol", f"malformed reply line {ln[:120]!r}", stream, ("protocol",))
            for ln in body:
                if ln.startswith("m-reds-select ") or ln.startswith("m-reds-bench "):
                    self.active = int(_kv(ln)["subnet"])
                elif ln.startswith("m-reds-model "):
                    self.active, self.model_crc = 0, int(_kv(ln)["crc32"], 16)
                    self.stats.uploads_ok += 1
                elif ln.startswith("e-[model rejected"):
                    self.stats.uploads_rejected += 1

    def check_alive_and_same(self, stream: bytes):
        b = self.board
        try:
            (name, _), (info, _) = b.send(b"name%reds-info%", 2, self.line_timeout)
        except (TimeoutError, BoardDied) as e:
            self.finding("crash", f"board stopped answering name/reds-info: {e}", stream, ("dead",))
            self.stop()
            return
        if not name or not name[0].startswith("m-name-"):
            self.finding("protocol", f"name% answered {name!r}", stream, ("name",))
        head = _kv(info[0]) if info else {}
        if head.get("model_ok") != 1:
            return  # no model: nothing to compute (allowed after model-reset failures? never here)
        crc, active = int(head["model_crc32"], 16), int(head["active"])
        if (crc, active) != (self.model_crc, self.active):
            self.finding("state", f"board runs model {crc:08x} subnet {active}, replies said "
                         f"{self.model_crc:08x} subnet {self.active}", stream, ("state",))
            self.model_crc, self.active = crc, active
        nbytes = int(head["input_bytes"])
        if nbytes > 16384:
            return
        x = bytes((i * 37 + 11) & 0xFF for i in range(nbytes))
        cmds = [f"db load {nbytes}"] + [f"db {x[i:i + HEX_CHUNK].hex()}" for i in range(0, nbytes, HEX_CHUNK)]
        cmds += ["infer 1 0", "results"]
        try:
            replies = b.send("".join(c + "%" for c in cmds).encode(), len(cmds), self.line_timeout)
        except (TimeoutError, BoardDied) as e:
            self.finding("crash", f"board stopped answering the output check: {e}", stream, ("dead-check",))
            self.stop()
            return
        res = replies[-1][0]
        results = tuple(ln for ln in res if ln.startswith("m-results-"))
        hexes = [_kv(ln).get("hex", "") for ln in res if ln.startswith("m-reds-output ") and "index=0" in ln]
        if not results:
            self.finding("output", f"no m-results- line: {replies[-2:]!r}", stream, ("no-results",))
            return
        key = (crc, active, nbytes)
        if key not in self.known:
            self.known[key] = (results, hexes)
        elif self.known[key] != (results, hexes):
            self.finding("output", f"model {crc:08x} subnet {active}: output changed from "
                         f"{self.known[key]!r} to {(results, hexes)!r}", stream, ("output", crc, active))
        if crc == self.default_crc and hexes:
            if self.reference is None:
                self.reference = reference_outputs(self.default, x)
            want = self.reference.get(active, b"").hex()
            if hexes[0] != want:
                self.finding("output", f"default model subnet {active}: board {hexes[0]} host runtime "
                             f"{want}", stream, ("reference", active))

    def run(self, seconds: float, lines_per_batch: int = 50, max_lines: int = 0) -> Stats:
        t0 = time.monotonic()
        try:
            while time.monotonic() - t0 < seconds and not (max_lines and self.stats.lines >= max_lines):
                self.run_batch(lines_per_batch)
        finally:
            self.stop()
        return self.stats


def replay(prog: Path, stream: bytes, workdir: Path, line_timeout: float = 1.0) -> list[Finding]:
    """Send a saved stream to a fresh board with the same checks; returns the findings."""
    fz = SerialFuzzer(prog, workdir, 0, [DEFAULT_MODEL.read_bytes()],
                      line_timeout)
    fz.start()
    try:
        replies = fz.board.send(stream, stream.count(b"%"), line_timeout)
        fz._follow_state([], replies, stream)
        fz.check_alive_and_same(stream)
    except TimeoutError:
        fz.finding("timeout", "replay timed out", stream, ("timeout",))
    except BoardDied as e:
        fz.finding("crash", str(e)[-2000:], stream, ("crash",))
    finally:
        fz.stop()
    return fz.stats.findings


if __name__ == "__main__":  # pragma: no cover - use run_fuzz.py
    sys.exit("use tests/fuzz/run_fuzz.py --target serial")
