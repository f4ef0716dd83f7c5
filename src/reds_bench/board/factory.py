"""Create connected boards without pytest: :func:`create_board`.

A :class:`Board` owns the whole life of one device under test: build/flash, start (host
process for ``native``, QEMU with ``-icount`` for ``qemu_*``), open the serial link,
synchronise, recover after a reset, close. Measurements only use ``board.cmd()`` & co.

    from reds_bench.board.factory import create_board
    with create_board("native") as board:
        print(board.cmd("reds-info"))
"""
from __future__ import annotations

import subprocess
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from reds_bench.board import firmware as _firmware
from reds_bench.board import flash as _flash
from reds_bench.board import targets
from reds_bench.board.dut import Dut
from reds_bench.errors import BenchError, BoardResetError, ConfigError, LinkClosedError
from reds_bench.board.link import DEFAULT_BAUD, Link

# Firmware builds with a model compiled in, one directory per model (its CRC-32).
MODEL_BUILDS = targets.REPO_ROOT / ".pio" / "model-builds"

@dataclass
class BoardSpec:
    """What a board is and how to reach it (one hardware-map entry, or an emulated target)."""

    env: str
    id: str = ""
    port: str | None = None          # device path or pyserial URL; None for emulated boards
    flash: str = "none"              # "pio" | "gdb" | "openocd" | "pyocd" | "none"
    reset: str = "none"              # "none" | "dtr" | "pio"
    baud: int = DEFAULT_BAUD
    extra: dict = field(default_factory=dict)
    # a labgrid place instead of a port: {"place": NAME, "coordinator": HOST:PORT, "wait": bool}
    labgrid: dict | None = None
    # the flash method's keys of the hardware map (gdb, gdb_reset, openocd, pyocd; board.flash)
    flash_options: dict = field(default_factory=dict)

    def __post_init__(self):
        self.id = self.id or self.env

    @property
    def emulated(self) -> bool:
        return self.port is None and self.labgrid is None and targets.is_ci_target(self.env)


# ---------------------------------------------------------------------------- building


def model_firmware(env: str, model: bytes, quiet: bool = True,
                   defines: tuple[str, ...] = ()) -> Path:
    """Firmware for ``env`` with ``model`` compiled in (instead of the default model), built in
    ``.pio/model-builds/<crc32>/build`` (PlatformIO empties its build directory when the flags
    change, so the model's C array sits beside it). The incremental build makes a repeat cheap;
    the C array is rewritten only when it changed, so it is compiled once."""
    from reds.export.c_array import c_array

    crc = zlib.crc32(bytes(model)) & 0xFFFFFFFF
    root = MODEL_BUILDS / f"{crc:08x}"
    root.mkdir(parents=True, exist_ok=True)
    src = root / "model_data.c"
    text, _ = c_array(bytes(model), source=f"a model of crc32 {crc:08x}")
    if not src.exists() or src.read_text() != text:
        src.write_text(text)
    return Path(_firmware.build(env, model_source=src, build_dir=root / "build", quiet=quiet,
                                defines=defines))


# ---------------------------------------------------------------------------- board


class Board:
    """One device under test. Delegates ``cmd``/``kv``/``expect``/``expect_exact``/``write`` to
    its :class:`~reds_bench.board.dut.Dut`; ``recover()`` brings it back after a reset."""

    def __init__(self, spec: BoardSpec, firmware: Path | None = None, log_dir: Path | None = None,
                 timeout: float = 30.0):
        self.spec = spec
        self.firmware = Path(firmware) if firmware else None
        self.log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="reds-bench-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.url: str | None = spec.port
        self.dut: Dut | None = None
        self.target_name: str | None = None
        self.restarts = 0
        self.flashed: _flash.Flashed | None = None  # what start() flashed, if anything
        self.place = None  # reds_bench.board.place.Place while a labgrid place is held

    # ---- convenience
    env = property(lambda self: self.spec.env)
    id = property(lambda self: self.spec.id)
    emulated = property(lambda self: self.spec.emulated)
    log_path = property(lambda self: self.log_dir / f"{self.spec.id}.log")

    def cmd(self, line: str, timeout: float | None = None) -> list[str]:
        return self.dut.cmd(line, timeout)

    def kv(self, line: str, tag: str | None = None, timeout: float | None = None) -> dict:
        return self.dut.kv(line, tag, timeout)

    def expect(self, pattern, timeout: float | None = None):
        return self.dut.expect(pattern, timeout)

    def expect_exact(self, text, timeout: float | None = None):
        return self.dut.expect_exact(text, timeout)

    def write(self, data) -> None:
        self.dut.write(data)

    # ---- lifecycle
    def _launch(self) -> None:
        env = self.spec.env
        if self.firmware is None:
            raise ConfigError(f"no firmware for {env}: build it or pass firmware=PATH")
        if not self.firmware.exists():
            raise ConfigError(f"firmware {self.firmware} does not exist")
        try:
            emu = _firmware.Emulated(env, self.firmware, boot_timeout=10.0,
                                     log_path=self.log_dir / f"{self.spec.id}.stderr.log")
        except BenchError as err:
            raise BenchError(f"{err}; see {self.log_dir / (self.spec.id + '.stderr.log')}") from None
        self.proc, self.url = emu.proc, emu.url

    def _connect(self) -> None:
        link = Link(self.url, self.spec.baud, self.log_path)
        self.dut = Dut(link, name=self.spec.id, default_timeout=self.timeout)
        self.target_name = self.dut.sync(timeout=min(self.timeout, 10.0))

    def _acquire_place(self) -> None:
        """Hold the spec's labgrid place; its serial port is known only once acquired."""
        from reds_bench.board.place import Place

        self.place = Place.of(self.spec.labgrid)
        self.place.acquire()
        self.url = self.place.serial_url()

    def start(self) -> "Board":
        if self.spec.labgrid:
            self._acquire_place()
        if self.spec.emulated:
            self._launch()
        # `pio` uploads through a local port: a labgrid place's board is flashed on its lab host
        elif self.spec.flash != "none" and not (self.spec.flash == "pio" and self.spec.labgrid):
            self.flashed = _flash.flash(self.spec, self.firmware)
            if self.spec.flash == "pio":
                time.sleep(1.0)  # USB CDC re-enumerates after the upload
        self._connect()
        return self

    def alive(self) -> bool:
        return self.proc is None or self.proc.poll() is None

    def recover(self, attempts: int = 3) -> None:
        """Reconnect after a reset or a closed link: restart a dead emulator/process, reopen the
        port of a real board (it may re-enumerate), then resynchronise."""
        last = None
        for i in range(attempts):
            try:
                if self.dut:
                    self.dut.close()
                    self.dut = None
                if self.spec.emulated and not self.alive():
                    self.restarts += 1
                    self._launch()
                elif not self.spec.emulated:
                    time.sleep(0.5 * (i + 1))
                self._connect()
                return
            except (BoardResetError, LinkClosedError, BenchError, OSError) as e:
                last = e
                time.sleep(0.2)
        raise BoardResetError(f"{self.spec.id} did not come back after a reset: {last}")

    def reset(self) -> None:
        """Hard reset: restart the emulator/process, power-cycle a labgrid place that has a
        power switch (else reconnect), pulse DTR/RTS, or re-flash (reset: pio)."""
        if self.spec.emulated:
            self.kill()
        elif self.place is not None:
            if self.place.has_power:
                if self.dut:
                    self.dut.close()
                    self.dut = None
                self.place.power("cycle")
        elif self.spec.reset == "dtr":
            self.dut.link.set_dtr_rts(False, False)
            time.sleep(0.1)
            self.dut.link.set_dtr_rts(True, True)
        elif self.spec.reset == "pio":
            self.dut.close()
            _firmware.upload(self.spec.env, self.spec.port, self.spec.id)
        self.recover()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def close(self) -> None:
        try:
            if self.dut:
                self.dut.close()
                self.dut = None
            if self.proc:
                _firmware.stop_process(self.proc)
            if self.proc and self.proc.stdout:
                self.proc.stdout.close()
        finally:
            if self.place is not None:  # whatever failed above, the place goes back
                self.place.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def create_board(target: str | None = None, *, hw: BoardSpec | None = None,
               firmware: str | Path | None = None, build: bool = True,
               log_dir: str | Path | None = None, timeout: float = 30.0) -> Board:
    """A started, synchronised board.

    ``target``: an emulated env (``native``, ``qemu_m4``, ``qemu_m7``, ``qemu_m33``);
    ``hw``: a hardware-map entry (real board, or an emulated env with settings);
    ``firmware``: prebuilt program/ELF (skips the build); ``build=False`` uses the last build.
    A hardware-map board is flashed first by its ``flash:`` method (:mod:`reds_bench.board.flash`;
    ``gdb``/``openocd``/``pyocd`` flash ``firmware`` or the env's build).
    """
    if hw is None:
        if target is None:
            raise ConfigError("create_board needs a target env or a hardware-map entry")
        if not targets.is_ci_target(target):
            raise ConfigError(f"unknown emulated target {target!r} (choose from "
                              f"{', '.join(targets.names())}); real boards need a hardware map "
                              "(docs/boards.md)")
        hw = BoardSpec(env=target)
    program = Path(firmware) if firmware else None
    if program is None and (hw.emulated or hw.flash in _flash.NEEDS_ELF):
        program = _firmware.build(hw.env) if build else _firmware.artifact(hw.env)
    board = Board(hw, program, Path(log_dir) if log_dir else None, timeout)
    try:
        return board.start()
    except BaseException:
        board.close()
        raise


def create_board_for_model(target: str, model: bytes, *, log_dir: str | Path | None = None,
                         timeout: float = 30.0) -> tuple[Board, str]:
    """A started emulated board ready for ``model``, and how the model gets there:
    ``"upload"`` (the default firmware; the model fits its RAM slot and ``ensure_model`` sends
    it) or ``"compiled-in"`` (a firmware built with the model, see :func:`model_firmware`)."""
    from reds_bench.board import fit
    from reds_bench.board.info import board_crc, board_info

    if not targets.is_ci_target(target):
        raise ConfigError(f"unknown emulated target {target!r} (choose from "
                          f"{', '.join(targets.names())})")
    default_fw = _firmware.build(target)

    def exact(m: bytes) -> fit.ModelNeeds:  # the 32-bit figures, when the host bound is too big
        return fit.board_needs(m, _firmware.build(fit.PROBE_ENV),
                               lambda elf: create_board(fit.PROBE_ENV, firmware=elf,
                                                        log_dir=log_dir, timeout=timeout))

    # refuse before the target boots (only the probe board may start, to measure the model)
    fits = fit.require_fit(target, model, default_fw, exact)
    board = create_board(target, firmware=default_fw, log_dir=log_dir, timeout=timeout)
    try:
        info = board_info(board)
    except BaseException:
        board.close()
        raise
    slot = int(info["build"].get("model_slot_bytes", 0))
    arena = int(info["build"].get("arena_capacity", 0))
    if (len(model) <= slot and fits.needs.arena_bytes <= arena) or \
            board_crc(info) == zlib.crc32(bytes(model)) & 0xFFFFFFFF:
        return board, "upload"
    board.close()
    return create_board(target, firmware=model_firmware(target, model,
                                                        defines=fit.compiled_in_defines(fits)),
                        log_dir=log_dir, timeout=timeout), "compiled-in"
