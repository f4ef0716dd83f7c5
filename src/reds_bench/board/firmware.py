"""Firmware: build it with PlatformIO, flash it, or start it under an emulator.

Every PlatformIO call goes through :func:`pio`, with the project-local core (``.pio-core/``,
made by ``make bootstrap``) and the local platforms under ``boards/platforms/``, so CI builds
work with no network at all. Which envs exist is read from ``platformio.ini``
(:mod:`reds_bench.board.targets`).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from reds_bench.errors import BenchError, ConfigError, ExpectTimeout
from reds_bench.board.targets import REPO_ROOT, is_ci_target, target

CORE_DIR = REPO_ROOT / ".pio-core"
APT_INSTALL = "sudo apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"


class ToolchainError(ConfigError):
    """A compiler or emulator the target needs is not installed."""


def check_toolchain(env: str) -> None:
    """Raise ToolchainError naming the install command when a tool of `env` is missing."""
    if not is_ci_target(env):
        needed = []  # a real board's env: PlatformIO installs its toolchain (docs/boards.md)
    else:
        needed = ["arm-none-eabi-gcc", "qemu-system-arm"] if target(env).qemu else ["gcc"]
    missing = [tool for tool in needed if shutil.which(tool) is None]
    if missing:
        raise ToolchainError(f"{', '.join(missing)} not found (needed for {env}); "
                             f"install with: {APT_INSTALL}  (or run `make bootstrap` as root)")
    if not (CORE_DIR / "tool-scons-src" / "package.json").exists():
        raise ToolchainError("PlatformIO's tool-scons package is not assembled; run `make bootstrap`")


def pio_executable() -> str:
    local = Path(sys.executable).with_name("pio")
    return str(local) if local.exists() else "pio"


def pio(env: str, *args: str, environ: dict | None = None, quiet: bool = True,
        what: str = "build") -> None:
    """``pio run -e ENV ARGS...`` in the repository with the project's core; raises
    ConfigError with the command and the end of its output when it fails."""
    full_env = dict(os.environ, PLATFORMIO_CORE_DIR=str(CORE_DIR), **(environ or {}))
    cmd = [pio_executable(), "run", "-e", env, *args, "-d", str(REPO_ROOT)]
    proc = subprocess.run(cmd, env=full_env, capture_output=quiet, text=True)
    if proc.returncode != 0:
        tail = (proc.stdout or "")[-3000:] + (proc.stderr or "")[-2000:] if quiet else ""
        raise ConfigError(f"firmware {what} failed for {env} ({' '.join(cmd)}):\n{tail}")


def build(env: str, model_source: Path | None = None, build_dir: Path | None = None,
          quiet: bool = True, defines: tuple[str, ...] = ()) -> Path:
    """Build firmware for `env`; returns the ELF (QEMU) or the host program (native).

    `model_source`: a C file from `reds export --c-array` to compile in instead of the default
    model; `build_dir`: where to build (keeps builds with different models apart); `defines`:
    extra ``-D`` flags (e.g. the work RAM shares of a compiled-in build, board.fit).
    """
    check_toolchain(env)
    out_root = Path(build_dir).resolve() if build_dir else REPO_ROOT / ".pio" / "build"
    environ = {"PLATFORMIO_BUILD_DIR": str(out_root)}
    flags = list(defines)
    if model_source is not None:
        flags.insert(0, f'-DREDS_MODEL_SOURCE=\\"{Path(model_source).resolve()}\\"')
    if flags:
        environ["PLATFORMIO_BUILD_FLAGS"] = " ".join(flags)
    pio(env, environ=environ, quiet=quiet)
    return artifact(env, out_root)


def upload(env: str, port: str | None = None, board_id: str | None = None) -> None:
    """Flash a real board with ``pio run -e ENV -t upload [--upload-port PORT]``."""
    args = ["-t", "upload"] + (["--upload-port", port] if port and "://" not in port else [])
    pio(env, *args, what=f"upload to {board_id or env}")


def artifact(env: str, build_root: Path | None = None) -> Path:
    root = Path(build_root) if build_root else REPO_ROOT / ".pio" / "build"
    host = is_ci_target(env) and not target(env).qemu  # the native host program
    return root / env / ("program" if host else "firmware.elf")


def qemu_command(env: str, elf: Path, port: int) -> list[str]:
    """QEMU with icount (1 instruction = 1 ns) and the UART on a TCP server socket."""
    return ["qemu-system-arm", "-M", target(env).machine, "-nographic", "-monitor", "none",
            "-icount", "shift=0,sleep=off",
            "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on",
            "-kernel", str(elf)]


def stop_process(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Stop an emulator or host program: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace)


def free_tcp_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulated:
    """A running emulated board (QEMU or the native host program) and its serial URL.

    Use as a context manager; `close()` kills the process. `url` is what
    :class:`reds_bench.board.link.Link` opens. Emulator output goes to `log_path` (or is discarded).
    """

    def __init__(self, env: str, program: Path, boot_timeout: float = 20.0,
                 qemu_args: tuple[str, ...] = (), log_path: Path | None = None):
        self.env = env
        self.program = Path(program)
        self.boot_timeout = boot_timeout
        if not self.program.exists():
            raise ConfigError(f"no firmware for {env} at {self.program}; build it first")
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        if target(env).qemu:
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
                raise BenchError(f"{env}: host firmware did not start: {line!r}")
            port = int(line.rsplit(":", 1)[1])
        self.url = f"socket://127.0.0.1:{port}"

    def _first_line(self) -> str:
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
                raise BenchError(f"{self.env}: QEMU exited with code {self.proc.returncode}")
            if not table.exists():  # not Linux: give QEMU a moment, connecting retries anyway
                time.sleep(0.5)
                return
            if any(f":{port:04X} " in ln and ln.split()[3] == "0A"
                   for ln in table.read_text().splitlines()[1:]):
                return
            time.sleep(0.05)
        self.close()
        raise BenchError(f"{self.env}: QEMU did not open its serial port {port} within "
                        f"{self.boot_timeout:.0f} s")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> "Emulated":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def ask(env: str, program: Path, command: str, timeout: float = 20.0,
        qemu_args: tuple[str, ...] = ()) -> list[str]:
    """Start `program` for `env`, send one command and return the lines it answered, up to
    and including ``m-ready``. A board that does not answer is an error naming `env`."""
    from reds_bench.board.dut import Dut
    from reds_bench.board.link import Link

    with Emulated(env, program, qemu_args=qemu_args) as board:
        dut = Dut(Link(board.url), name=env, default_timeout=timeout)
        try:
            dut.sync(timeout)  # drops the boot banner
            dut.write(command + "%")
            reply = dut.expect(r"(?s).*?^m-ready\r?$").group(0)
        except ExpectTimeout as e:
            raise BenchError(f"{env}: no m-ready within {timeout:.0f} s; received "
                             f"{e.tail[-200:]!r}") from None
        finally:
            dut.close()
    return [line.strip() for line in reply.splitlines() if line.strip()]


def boot_and_ask(env: str, command: str, timeout: float = 20.0) -> list[str]:
    """Build `env`, boot it (QEMU with icount, or the host program) and send one command."""
    return ask(env, build(env), command, timeout)
