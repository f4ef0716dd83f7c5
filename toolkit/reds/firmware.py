"""Build the firmware with PlatformIO and describe how each CI target boots.

Builds use the project-local PlatformIO core (``.pio-core/``, made by ``make bootstrap``) and
the local platforms under ``boards/platforms/``, so they work with no network at all.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[2]
CORE_DIR = REPO_ROOT / ".pio-core"
APT_INSTALL = "sudo apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"


@dataclass(frozen=True)
class Target:
    """A CI target: how it is built and how it is started."""

    env: str
    machine: str | None  # QEMU machine, None for the host build
    clock_hz: int  # timer ticks per second as the firmware reports them

    @property
    def emulated(self) -> bool:
        return self.machine is not None


TARGETS = {
    "native": Target("native", None, 1_000_000_000),
    "qemu_m4": Target("qemu_m4", "mps2-an386", 25_000_000),
    "qemu_m7": Target("qemu_m7", "mps2-an500", 25_000_000),
    "qemu_m33": Target("qemu_m33", "mps2-an505", 20_000_000),
}


class ToolchainError(UserError):
    """A compiler or emulator the target needs is not installed."""


def target(env: str) -> Target:
    try:
        return TARGETS[env]
    except KeyError:
        raise UserError(f"unknown target {env!r}; CI targets: {', '.join(TARGETS)} "
                        "(real boards: see docs/boards.md)") from None


def check_toolchain(env: str) -> None:
    """Raise ToolchainError naming the install command when a tool of `env` is missing."""
    t = target(env)
    needed = ["gcc"] if not t.emulated else ["arm-none-eabi-gcc", "qemu-system-arm"]
    missing = [tool for tool in needed if shutil.which(tool) is None]
    if missing:
        raise ToolchainError(f"{', '.join(missing)} not found (needed for {env}); "
                             f"install with: {APT_INSTALL}  (or run `make bootstrap` as root)")
    if not (CORE_DIR / "tool-scons-src" / "package.json").exists():
        raise ToolchainError("PlatformIO's tool-scons package is not assembled; run `make bootstrap`")


def pio_executable() -> str:
    local = Path(sys.executable).with_name("pio")
    return str(local) if local.exists() else "pio"


def build(env: str, model_source: Path | None = None, build_dir: Path | None = None,
          quiet: bool = True) -> Path:
    """Build firmware for `env`; returns the ELF (QEMU) or the host program (native).

    `model_source`: a C file from `reds export --c-array` to compile in instead of the default
    model; `build_dir`: where to build (keeps builds with different models apart).
    """
    check_toolchain(env)
    environ = dict(os.environ, PLATFORMIO_CORE_DIR=str(CORE_DIR))
    if model_source is not None:
        environ["PLATFORMIO_BUILD_FLAGS"] = f'-DREDS_MODEL_SOURCE=\\"{Path(model_source).resolve()}\\"'
    out_root = Path(build_dir).resolve() if build_dir else REPO_ROOT / ".pio" / "build"
    environ["PLATFORMIO_BUILD_DIR"] = str(out_root)
    cmd = [pio_executable(), "run", "-e", env, "-d", str(REPO_ROOT)]
    proc = subprocess.run(cmd, env=environ, capture_output=quiet, text=True)
    if proc.returncode != 0:
        tail = (proc.stdout or "")[-3000:] + (proc.stderr or "")[-2000:] if quiet else ""
        raise UserError(f"firmware build failed for {env} ({' '.join(cmd)}):\n{tail}")
    return artifact(env, out_root)


def artifact(env: str, build_root: Path | None = None) -> Path:
    root = Path(build_root) if build_root else REPO_ROOT / ".pio" / "build"
    return root / env / ("program" if not target(env).emulated else "firmware.elf")


def qemu_command(env: str, elf: Path, port: int) -> list[str]:
    """QEMU with icount (1 instruction = 1 ns) and the UART on a TCP server socket."""
    t = target(env)
    return ["qemu-system-arm", "-M", t.machine, "-nographic", "-monitor", "none",
            "-icount", "shift=0,sleep=off",
            "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on",
            "-kernel", str(elf)]


def free_tcp_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulated:
    """A running emulated board (QEMU or the native host program) and its serial URL.

    Use as a context manager; `close()` kills the process. `url` is for
    ``serial.serial_for_url``. Emulator output goes to `log_path` (or is discarded).
    """

    def __init__(self, env: str, program: Path, boot_timeout: float = 20.0,
                 qemu_args: tuple[str, ...] = (), log_path: Path | None = None):
        self.env = env
        self.program = Path(program)
        self.boot_timeout = boot_timeout
        if not self.program.exists():
            raise UserError(f"no firmware for {env} at {self.program}; build it first")
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        if target(env).emulated:
            check_toolchain(env)
            port = free_tcp_port()
            self.proc = subprocess.Popen(qemu_command(env, self.program, port) + list(qemu_args),
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            self._wait_listening(port)
        else:
            self.proc = subprocess.Popen([str(self.program), "--port", "0"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log)
            line = self._first_line()  # "listening on 127.0.0.1:N"
            if not line.startswith("listening on "):
                self.close()
                raise UserError(f"{env}: host firmware did not start: {line!r}")
            port = int(line.rsplit(":", 1)[1])
        self.url = f"socket://127.0.0.1:{port}"

    def _first_line(self) -> str:
        import os
        import select
        import time

        deadline, buf = time.monotonic() + self.boot_timeout, b""
        fd = self.proc.stdout.fileno()
        while b"\n" not in buf and time.monotonic() < deadline and self.proc.poll() is None:
            if select.select([fd], [], [], 0.1)[0]:
                chunk = os.read(fd, 256)
                if not chunk:
                    break
                buf += chunk
        return buf.decode(errors="replace").strip()

    def _wait_listening(self, port: int) -> None:
        """QEMU opens its server socket a moment after start. Connecting to probe it would
        start the guest (wait=on) and lose its boot banner, so watch the socket table instead."""
        import time

        deadline = time.monotonic() + self.boot_timeout
        table = Path("/proc/net/tcp")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise UserError(f"{self.env}: QEMU exited with code {self.proc.returncode}")
            if not table.exists():  # not Linux: give QEMU a moment, connecting retries anyway
                time.sleep(0.5)
                return
            if any(f":{port:04X} " in ln and ln.split()[3] == "0A"
                   for ln in table.read_text().splitlines()[1:]):
                return
            time.sleep(0.05)
        self.close()
        raise UserError(f"{self.env}: QEMU did not open its serial port {port} within "
                        f"{self.boot_timeout:.0f} s")

    def open_serial(self, timeout: float = 5.0):
        """Connect to the board's serial link (retrying while QEMU opens its socket).

        QEMU starts the CPU only once this connection is made (`wait=on`), so nothing the
        firmware prints at boot is lost.
        """
        import time

        import serial

        deadline = time.monotonic() + self.boot_timeout
        while True:
            if self.proc.poll() is not None:
                raise UserError(f"{self.env}: emulator exited with code {self.proc.returncode}")
            try:
                return serial.serial_for_url(self.url, timeout=timeout)
            except serial.SerialException:
                if time.monotonic() > deadline:
                    raise UserError(f"{self.env}: nothing listens on {self.url} after "
                                    f"{self.boot_timeout:.0f} s") from None
                time.sleep(0.05)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> "Emulated":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_reply(link, timeout: float = 10.0, who: str = "board") -> list[str]:
    """Read lines up to `m-ready`, skipping a boot banner (`m-boot…` + `m-ready`) before it.

    Raises UserError naming `who` and the bytes received when no reply completes in time.
    """
    import time

    buf = b""
    deadline = time.monotonic() + timeout
    while True:
        lines = [ln.strip() for ln in buf.decode("ascii", "replace").splitlines() if ln.strip()]
        if "m-ready" in lines:
            end = lines.index("m-ready")
            if not lines[0].startswith("m-boot"):
                return lines[: end + 1]
            cut = buf.index(b"m-ready") + len(b"m-ready")
            buf = buf[cut:]
            continue
        if time.monotonic() > deadline:
            raise UserError(f"{who}: no m-ready within {timeout:.0f} s; received {buf[-200:]!r}")
        buf += link.read(link.in_waiting or 1)


def boot_and_ask(env: str, command: str, timeout: float = 20.0) -> list[str]:
    """Build `env`, boot it (QEMU with icount, or the host program) and send one command."""
    program = build(env)
    with Emulated(env, program) as board:
        link = board.open_serial(timeout=0.5)
        try:
            link.write(command.encode("ascii") + b"%")
            return read_reply(link, timeout, who=env)
        finally:
            link.close()
