"""Errors of the bench. Each names the problem and, where one exists, the fix."""
from __future__ import annotations

from reds.errors import UserError


class BenchError(UserError):
    """Base class: a problem the user can fix (the CLI prints it as one line, exit code 2)."""


class ExpectTimeout(BenchError, TimeoutError):
    """A pattern did not appear on the serial line in time."""

    def __init__(self, pattern, timeout: float, tail: str, log_path=None):
        self.pattern, self.timeout, self.tail, self.log_path = pattern, timeout, tail, log_path
        where = f"; full log: {log_path}" if log_path else ""
        super().__init__(f"timed out after {timeout:.1f} s waiting for {pattern!r}; "
                         f"last bytes received: {tail[-300:]!r}{where}")


class DeviceError(BenchError):
    """The board answered a command with an ``e-[...]`` line."""

    def __init__(self, command: str, message: str, lines=()):
        self.command, self.message, self.lines = command, message, list(lines)
        super().__init__(f"board rejected {command!r}: {message}")


class BoardResetError(BenchError):
    """The board rebooted during a command (boot banner seen); state on the board is lost."""


class LinkClosedError(BoardResetError):
    """The serial link closed (process or emulator exited, USB cable pulled, board reset)."""


class ModelMismatchError(BenchError):
    """The board runs another model than the one measured (CRC-32 differs)."""


class ConfigError(BenchError):
    """Bad hardware map, unknown target or missing tool."""
