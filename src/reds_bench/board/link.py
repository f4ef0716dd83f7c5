"""The serial link: a port name or any pyserial URL (``socket://``, ``rfc2217://``,
``loop://``), opened with :func:`serial.serial_for_url`, plus a byte log.

Kept small on purpose (open, read with timeout, write, close) so another transport, e.g. a
labgrid ``SerialDriver`` on a remote place, can stand in without touching the measurements.
"""
from __future__ import annotations

import time
from pathlib import Path

import serial

from reds_bench.errors import LinkClosedError

DEFAULT_BAUD = 115200


class Link:
    """One open serial link. ``read()`` returns b"" on timeout and raises
    :class:`LinkClosedError` when the other side is gone."""

    def __init__(self, url: str, baudrate: int = DEFAULT_BAUD, log_path: str | Path | None = None,
                 open_timeout: float = 10.0):
        self.url = url
        self.baudrate = baudrate
        self.log_path = Path(log_path) if log_path else None
        self._log = open(self.log_path, "ab") if self.log_path else None
        # pyserial's rfc2217 client (a labgrid place's port) has no write timeout, and it
        # renegotiates the whole port (~0.1 s) whenever its timeout is set, so on such a link
        # read() polls the receive queue instead
        self._rfc2217 = url.startswith("rfc2217://")
        self._ser = self._open(open_timeout)

    def _open(self, open_timeout: float):
        deadline = time.monotonic() + open_timeout
        while True:
            try:
                wt = {} if self._rfc2217 else {"write_timeout": 10}
                return serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.05, **wt)
            except (serial.SerialException, OSError) as e:
                if time.monotonic() > deadline:
                    raise LinkClosedError(f"cannot open {self.url}: {e}") from e
                time.sleep(0.1)

    def _logw(self, direction: bytes, data: bytes) -> None:
        if self._log and data:
            self._log.write(direction + data if direction == b">> " else data)
            if direction == b">> ":
                self._log.write(b"\n")
            self._log.flush()

    @property
    def is_open(self) -> bool:
        return self._ser is not None and self._ser.is_open

    def write(self, data: bytes) -> None:
        if not self.is_open:
            raise LinkClosedError(f"link {self.url} is closed")
        try:
            self._ser.write(data)
            self._ser.flush()
        except (serial.SerialException, OSError) as e:
            raise LinkClosedError(f"link {self.url} closed while writing: {e}") from e
        self._logw(b">> ", data)

    def read(self, timeout: float = 0.05) -> bytes:
        """Bytes that arrived within ``timeout`` seconds (possibly b"")."""
        if not self.is_open:
            raise LinkClosedError(f"link {self.url} is closed")
        try:
            if self._rfc2217:
                return self._read_polling(timeout)
            self._ser.timeout = timeout
            n = max(1, self._ser.in_waiting or 1)
            data = self._ser.read(n)
            if data and self._ser.in_waiting:
                data += self._ser.read(self._ser.in_waiting)
        except (serial.SerialException, OSError) as e:
            raise LinkClosedError(f"link {self.url} closed: {e}") from e
        self._logw(b"", data)
        return data

    def _read_polling(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while not self._ser.in_waiting and time.monotonic() < deadline:
            time.sleep(0.002)
        n = self._ser.in_waiting
        data = self._ser.read(n) if n else b""
        self._logw(b"", data)
        return data

    def set_dtr_rts(self, dtr: bool, rts: bool) -> None:
        self._ser.dtr = dtr
        self._ser.rts = rts

    def set_log(self, path: str | Path | None) -> None:
        """Send the byte log to another file from now on (the plugin keeps one per test)."""
        if self._log:
            self._log.close()
        self.log_path = Path(path) if path else None
        self._log = open(self.log_path, "ab") if self.log_path else None

    def close(self) -> None:
        if self._ser is not None:
            try:
                self._ser.close()
            except Exception:
                pass
        if self._log:
            self._log.close()
            self._log = None


