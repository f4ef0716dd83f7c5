"""A QEMU board with blank flash, halted, waiting for a debugger: what a real chip looks like to
a flash tool. The firmware gets there only through the GDB stub (``flash: gdb``).

    with BlankQemu() as q:          # netduinoplus2: STM32F405
        q.gdb      -> "127.0.0.1:PORT"           (the hardware map's gdb:)
        q.serial   -> "socket://127.0.0.1:PORT"  (its port:, USART1)

No ``-kernel`` (nothing is loaded), no ``-no-reboot`` (the reset after flashing would make QEMU
exit). The serial server does not wait for a client, so the chip runs once flashed.
"""
from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from reds_bench.board.firmware import stop_process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    """Whether a local TCP socket listens on ``port`` (read from the kernel, without connecting:
    a connection to the GDB stub would be a debugger session)."""
    want = f":{port:04X} "
    for ln in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        if want in ln and ln.split()[3] == "0A":
            return True
    return False


class BlankQemu:
    def __init__(self, machine: str = "netduinoplus2", log_path: Path | None = None,
                 timeout: float = 10.0):
        self.gdb_port, self.serial_port = _free_port(), _free_port()
        self.cmd = ["qemu-system-arm", "-M", machine, "-nographic", "-monitor", "none",
                    "-icount", "shift=0,sleep=off", "-S",
                    "-gdb", f"tcp:127.0.0.1:{self.gdb_port}",
                    "-serial", f"tcp:127.0.0.1:{self.serial_port},server=on,wait=off"]
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log)
        deadline = time.monotonic() + timeout
        while not (_listening(self.gdb_port) and _listening(self.serial_port)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"QEMU did not open ports {self.gdb_port}/{self.serial_port}: "
                                   f"{' '.join(self.cmd)}")
            time.sleep(0.05)

    @property
    def gdb(self) -> str:
        return f"127.0.0.1:{self.gdb_port}"

    @property
    def serial(self) -> str:
        return f"socket://127.0.0.1:{self.serial_port}"

    def stop(self) -> None:
        """Stop this QEMU (by its process), whatever state it is in."""
        stop_process(self.proc)
        if self._log is not subprocess.DEVNULL:
            self._log.close()

    def __enter__(self) -> "BlankQemu":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
