"""Device under test: ``expect`` / ``expect_exact`` over a :class:`~reds_bench.board.link.Link`, and
``cmd()`` for the request/response protocol (docs/protocol.md)::

    dut.cmd("reds-select 2")            # -> ["m-reds-select subnet=2 macs=..."]
    dut.kv("reds-bench 2 50")           # -> {"subnet": 2, "median": ..., ...}
    dut.expect(r"m-name-dut-\\[reds-(\\w+)]")    # -> re.Match
"""
from __future__ import annotations

import re
import time
from typing import Iterable, Union

from reds_bench.board import protocol
from reds_bench.errors import BoardResetError, DeviceError, ExpectTimeout, LinkClosedError
from reds_bench.board.link import Link

Pattern = Union[str, bytes, "re.Pattern"]
DEFAULT_TIMEOUT = 10.0


class Dut:
    def __init__(self, link: Link, name: str = "dut", default_timeout: float = DEFAULT_TIMEOUT):
        self.link = link
        self.name = name
        self.default_timeout = default_timeout
        self._buf = ""
        self.boot_seen = 0  # boot banners seen (reset detection)

    # ------------------------------------------------------------------ raw I/O
    @property
    def log_path(self):
        return self.link.log_path

    def write(self, data: Union[str, bytes]) -> None:
        self.link.write(data.encode() if isinstance(data, str) else data)

    def _fill(self, timeout: float) -> bool:
        data = self.link.read(timeout)
        if data:
            self._buf += data.decode("latin-1")
            return True
        return False

    def tail(self, n: int = 300) -> str:
        return self._buf[-n:]

    def drain(self, quiet: float = 0.1, limit: float = 2.0) -> str:
        """Read until the line is silent for ``quiet`` seconds; returns and drops the bytes."""
        end = time.monotonic() + limit
        while time.monotonic() < end and self._fill(quiet):
            pass
        out, self._buf = self._buf, ""
        return out

    # ------------------------------------------------------------------ expect
    @staticmethod
    def _compile(p: Pattern) -> "re.Pattern":
        if isinstance(p, re.Pattern):
            return p
        if isinstance(p, bytes):
            p = p.decode("latin-1")
        return re.compile(p, re.MULTILINE)

    def expect(self, pattern: Union[Pattern, Iterable[Pattern]], timeout: float | None = None):
        """Wait for a regex (or the first of a list) in the received text; consume through the
        match and return the ``re.Match``. Raises :class:`ExpectTimeout` with the pattern, the
        buffered tail and the log path."""
        pats = [pattern] if isinstance(pattern, (str, bytes, re.Pattern)) else list(pattern)
        regs = [self._compile(p) for p in pats]
        timeout = self.default_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            best = None
            for r in regs:
                m = r.search(self._buf)
                if m and (best is None or m.start() < best.start()):
                    best = m
            if best is not None:
                self._buf = self._buf[best.end():]
                return best
            left = deadline - time.monotonic()
            if left <= 0:
                raise ExpectTimeout(pattern, timeout, self._buf, self.log_path)
            self._fill(min(left, 0.05))

    def expect_exact(self, text: Union[str, Iterable[str]], timeout: float | None = None):
        texts = [text] if isinstance(text, (str, bytes)) else list(text)
        texts = [t.decode("latin-1") if isinstance(t, bytes) else t for t in texts]
        return self.expect([re.escape(t) for t in texts] if len(texts) > 1 else re.escape(texts[0]),
                           timeout)

    # ------------------------------------------------------------------ protocol
    def _next_line(self, deadline: float, what: str) -> str:
        while "\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ExpectTimeout(what, 0.0, self._buf, self.log_path)
            self._fill(min(left, 0.05))
        line, self._buf = self._buf.split("\n", 1)
        return line.rstrip("\r")

    def cmd(self, line: str, timeout: float | None = None) -> list[str]:
        """Send ``line%`` and return its ``m-`` lines (without ``m-ready``).

        Raises :class:`DeviceError` when the board answered ``e-[...]``, and
        :class:`BoardResetError` when a boot banner shows the board rebooted meanwhile."""
        timeout = self.default_timeout if timeout is None else timeout
        self.write(line + "%")
        deadline = time.monotonic() + timeout
        lines, errors = [], []
        while True:
            try:
                got = self._next_line(deadline, f"m-ready after {line!r}")
            except ExpectTimeout as e:
                raise ExpectTimeout(f"m-ready after {line!r}", timeout, e.tail, self.log_path) from None
            if got == protocol.READY:
                break
            if got.startswith("m-" + protocol.BOOT_TAG):
                self.boot_seen += 1
                raise BoardResetError(f"{self.name} rebooted while running {line!r} "
                                      f"(boot banner: {got!r})")
            err = protocol.parse_error(got)
            if err is not None:
                errors.append(err)
            elif got.startswith("m-"):
                lines.append(got)
            # anything else is noise (e.g. a board's own boot text); it is in the log
        if errors:
            raise DeviceError(line, "; ".join(errors), lines)
        return lines

    def kv(self, line: str, tag: str | None = None, timeout: float | None = None) -> dict:
        """Run a command and parse its first (or its ``tag``) reply line into a dict."""
        for got in self.cmd(line, timeout):
            t, d = protocol.parse_kv(got)
            if tag is None or t == tag:
                return d
        raise DeviceError(line, f"no m-{tag or '...'} line in the reply")

    def sync(self, timeout: float = 5.0) -> str:
        """Bring the line to a known state: terminate any partial command, drop pending output,
        then check the board answers ``name``. Returns the target name."""
        self.write("%")
        try:
            self.expect_exact(protocol.READY, timeout)
        except ExpectTimeout:
            pass
        self.drain(quiet=0.1)
        for got in self.cmd("name", timeout):
            m = protocol.NAME.match(got)
            if m:
                return m.group(1)
        raise DeviceError("name", "no m-name-dut-[reds-...] line: is this REDS firmware?")

    def close(self) -> None:
        self.link.close()


__all__ = ["Dut", "ExpectTimeout", "DeviceError", "BoardResetError", "LinkClosedError"]
