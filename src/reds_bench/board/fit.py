"""Does a model fit a board? Checked before a firmware is built for it, flashed or booted.

RAM: a firmware with the model compiled in needs the runtime's context, one input and the
model's arena in its work RAM (the RAM its linker script leaves between ``.bss`` and the
stack). Flash: the firmware's code plus the model must fit the flash region of its linker
script. Available sizes come from the default firmware's ELF and linker script. A model that
does not fit is refused with both numbers.

Needed sizes come first from the runtime's own planner on the host (``reds.runtime``, the same
C code built for x86-64): its context and tables hold 8-byte pointers, so they are an upper
bound of a 32-bit board's. When that bound says "does not fit", :func:`board_needs` measures
the exact 32-bit figures instead: it boots the ``qemu_m4`` firmware (4 MB of RAM, so any model
uploads), loads the model and reads ``ctx_bytes``/``arena_max`` from ``reds-info``. That board
is a faithful proxy for every Cortex-M target: they all use the same AAPCS32 ABI (4-byte
pointers, the same struct layout and alignment) and build the same runtime sources, which have
no target or DSP/FPU conditionals, so the context, tables and plan depend only on the model
(tests/reds_bench/test_fit.py checks the figures against the STM32F405 firmware itself). The
figures are cached per model CRC and probe firmware, so a repeated check boots nothing.

A firmware built with the model compiled in needs no upload slots, so on a small-RAM board
(e.g. the STM32F405's 128 KB) :func:`compiled_in_defines` gives the slots' RAM to the arena.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import zlib
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from reds_bench.board import targets
from reds_bench.errors import ConfigError

_ALIGN = 16
DEFAULT_MODEL = targets.REPO_ROOT / "boards" / "firmware" / "default_model.tflite"


class ModelTooLargeError(ConfigError):
    """The model needs more RAM or flash than the board has."""


def _up16(n: int) -> int:
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


@dataclass(frozen=True)
class ModelNeeds:
    """What a model needs on a board besides the firmware's own code and statics."""

    ctx_bytes: int    # the runtime's context (tables are inside the arena)
    input_bytes: int  # one input, as the bench sends it (`db load N`)
    arena_bytes: int  # persistent tables + the widest subnet's activations
    model_bytes: int  # the model itself (flash when compiled in)
    source: str = "host upper bound"  # or "measured on <env>": exact 32-bit figures

    @property
    def ram_bytes(self) -> int:
        return _up16(self.ctx_bytes) + _up16(self.input_bytes) + _up16(self.arena_bytes)


# Bytes per element of the input types the runtime takes.
_ITEMSIZE = {"INT8": 1, "UINT8": 1, "INT16": 2, "FLOAT32": 4, "INT32": 4}


def model_needs(model: bytes) -> ModelNeeds:
    from reds.runtime.binding import RedsRuntimeError, Runtime, load_library
    from reds.tflite.flatbuffer import load_model

    try:
        arena = Runtime(bytes(model)).bytes_needed()
    except RedsRuntimeError as err:
        raise ConfigError(f"the runtime does not load this model: {err}") from None
    m = load_model(bytes(model))
    t = m.tensors[m.inputs[0]]
    n = 1
    for d in t.shape:
        n *= max(int(d), 1)
    ctx = int(load_library().reds_ctx_size())
    return ModelNeeds(ctx, n * _ITEMSIZE.get(str(t.dtype).upper(), 4), arena, len(model))


def _elf_symbols(elf: Path) -> dict[str, int]:
    if shutil.which("arm-none-eabi-nm") is None:
        return {}
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True,
                         timeout=30).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16)
    return syms


def work_ram_bytes(elf: Path) -> int | None:
    """The work RAM a bare-metal firmware leaves (linker symbols), None when not an ELF of ours."""
    syms = _elf_symbols(elf)
    if "__work_start" not in syms or "__work_end" not in syms:
        return None
    start = _up16(syms["__work_start"])
    return max(syms["__work_end"] - start, 0)


def code_flash_bytes(elf: Path) -> int | None:
    """Flash the firmware takes without its compiled-in default model (text + data)."""
    if shutil.which("arm-none-eabi-size") is None:
        return None
    out = subprocess.run(["arm-none-eabi-size", "-B", str(elf)], capture_output=True, text=True,
                         timeout=30).stdout.splitlines()
    try:
        text, data = (int(v) for v in out[1].split()[:2])
    except (IndexError, ValueError):
        return None
    return text + data - DEFAULT_MODEL.stat().st_size


_REGION = re.compile(r"^\s*(\w+)\s*\(r?w?x\w*\)\s*:\s*ORIGIN\s*=\s*\w+\s*,\s*LENGTH\s*=\s*(\d+)\s*([KM]?)",
                     re.MULTILINE)


def flash_bytes(env: str) -> int | None:
    """Length of the code region (the first executable MEMORY region) of the env's linker
    script, None when the env has none (the host build)."""
    import configparser

    ini = configparser.ConfigParser(interpolation=None, strict=False)
    ini.read(targets.REPO_ROOT / "platformio.ini")
    script = ini.get(f"env:{env}", "custom_ldscript", fallback=None)
    if script is None:
        parent = ini.get(f"env:{env}", "extends", fallback="").strip()
        script = ini.get(parent, "custom_ldscript", fallback=None) if parent else None
    if script is None:
        return None
    m = _REGION.search((targets.REPO_ROOT / script.strip()).read_text())
    if not m:
        return None
    return int(m.group(2)) * {"": 1, "K": 1024, "M": 1024 * 1024}[m.group(3)]


# ---------------------------------------------------------------------------- exact figures

PROBE_ENV = "qemu_m4"  # a 32-bit Cortex-M firmware with room for any model (see the docstring)
CACHE_DIR = targets.REPO_ROOT / ".pio" / "fit-cache"
_measured: dict[str, ModelNeeds] = {}


def needs_from_board(board, model: bytes) -> ModelNeeds:
    """The model's exact needs on a started board running our firmware (anything with
    ``cmd()``): upload it unless it already runs it, then read ``reds-info``. The board layer
    cannot use the bench's ``ensure_model`` (``board`` never imports ``measure``), hence the
    three commands of the upload here."""
    from reds_bench.board import protocol
    from reds_bench.board.info import board_crc, board_info

    model = bytes(model)
    crc = zlib.crc32(model) & 0xFFFFFFFF
    info = board_info(board)
    if board_crc(info) != crc:
        chunk = max(16, min(256, (int(info["build"].get("line_max", 600)) - 16) // 2))
        board.cmd(f"model-load {len(model)}")
        for h in protocol.hex_chunks(model, chunk):
            board.cmd(f"model-data {h}")
        board.cmd(f"model-commit {crc:08x}")
        info = board_info(board)
    head = info["info"]
    name = getattr(board, "env", "the board")
    if board_crc(info) != crc or "arena_max" not in head:
        raise ConfigError(f"{name} did not load the model (status {head.get('status')}) or "
                          "reports no arena_max: rebuild its firmware")
    return ModelNeeds(int(head["ctx_bytes"]), int(head["input_bytes"]), int(head["arena_max"]),
                      len(model), source=f"measured on {name}")


def board_needs(model: bytes, probe_elf: Path,
                boot: Callable[[Path], AbstractContextManager]) -> ModelNeeds:
    """Exact 32-bit needs of ``model``: from the cache (this process, then
    ``.pio/fit-cache/<model crc>-<probe firmware crc>.json``), else measured on the board that
    ``boot(probe_elf)`` starts (a context manager giving a board, e.g. ``create_board``)."""
    model = bytes(model)
    elf_crc = zlib.crc32(Path(probe_elf).read_bytes()) & 0xFFFFFFFF
    key = f"{zlib.crc32(model) & 0xFFFFFFFF:08x}-{elf_crc:08x}"
    if key in _measured:
        return _measured[key]
    path = CACHE_DIR / f"{key}.json"
    try:
        needs = ModelNeeds(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        with boot(Path(probe_elf)) as board:
            needs = needs_from_board(board, model)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(needs.__dict__))
    _measured[key] = needs
    return needs


@dataclass(frozen=True)
class Fit:
    env: str
    needs: ModelNeeds
    ram_available: int | None
    flash_needed: int | None
    flash_available: int | None

    @property
    def ram_ok(self) -> bool:
        return self.ram_available is None or self.needs.ram_bytes <= self.ram_available

    @property
    def flash_ok(self) -> bool:
        return (self.flash_available is None or self.flash_needed is None
                or self.flash_needed <= self.flash_available)

    @property
    def ok(self) -> bool:
        return self.ram_ok and self.flash_ok

    def message(self) -> str:
        n = self.needs
        parts = []
        if not self.ram_ok:
            parts.append(f"RAM: needs {n.ram_bytes} bytes (arena {n.arena_bytes} + runtime "
                         f"context {n.ctx_bytes} + input {n.input_bytes}, {n.source}), "
                         f"{self.ram_available} available")
        if not self.flash_ok:
            parts.append(f"flash: needs {self.flash_needed} bytes (model {n.model_bytes} + code "
                         f"{self.flash_needed - n.model_bytes}), {self.flash_available} available")
        return f"model does not fit {self.env}: " + "; ".join(parts)


def check(env: str, model: bytes, elf: Path | None,
          exact: Callable[[bytes], ModelNeeds] | None = None) -> Fit:
    """How `model`, compiled into `env`'s firmware, fits; `elf`: the env's default firmware.
    `exact` (e.g. :func:`board_needs` on the probe board) replaces the host upper bound when
    that bound says the RAM does not suffice: a model is refused on exact figures only."""
    needs = model_needs(model)
    ram = flash_needed = None
    if elf is not None and Path(elf).exists():
        ram = work_ram_bytes(Path(elf))
        code = code_flash_bytes(Path(elf)) if ram is not None else None
        flash_needed = None if code is None else code + needs.model_bytes
    fit = Fit(env, needs, ram, flash_needed, flash_bytes(env) if ram is not None else None)
    if not fit.ram_ok and exact is not None:
        fit = replace(fit, needs=exact(model))
    return fit


def require_fit(env: str, model: bytes, elf: Path | None,
                exact: Callable[[bytes], ModelNeeds] | None = None) -> Fit:
    """:func:`check`, raising ModelTooLargeError (one line, both numbers) when it does not fit."""
    fit = check(env, model, elf, exact)
    if not fit.ok:
        raise ModelTooLargeError(fit.message())
    return fit


def compiled_in_defines(fit: Fit) -> tuple[str, ...]:
    """Build defines for a firmware with the model compiled in: no upload slots and an input
    buffer of one input, so the arena gets the rest of the work RAM. Only where RAM is tight
    (the default carving keeps 5/16 of it for the arena); larger boards keep uploads."""
    if fit.ram_available is None or fit.needs.ram_bytes * 16 <= fit.ram_available * 5:
        return ()
    return ("-DFW_MODEL_SLOT_BYTES=0", f"-DFW_INPUT_MAX={_up16(fit.needs.input_bytes)}")
