"""Does a model fit a board? Checked before a firmware is built for it, flashed or booted.

RAM: a firmware with the model compiled in needs the runtime's context, one input and the
model's arena in its work RAM (the RAM its linker script leaves between ``.bss`` and the
stack). Flash: the firmware's code plus the model must fit the flash region of its linker
script. Needed sizes come from the runtime's own planner (``reds.runtime``, the host build of
the same C code, so its tables are at least as large as the 32-bit board's); available sizes
from the default firmware's ELF and linker script. A model that does not fit is refused with
both numbers.

A firmware built with the model compiled in needs no upload slots, so on a small-RAM board
(e.g. the STM32F405's 128 KB) :func:`compiled_in_defines` gives the slots' RAM to the arena.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

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
                         f"context {n.ctx_bytes} + input {n.input_bytes}), "
                         f"{self.ram_available} available")
        if not self.flash_ok:
            parts.append(f"flash: needs {self.flash_needed} bytes (model {n.model_bytes} + code "
                         f"{self.flash_needed - n.model_bytes}), {self.flash_available} available")
        return f"model does not fit {self.env}: " + "; ".join(parts)


def check(env: str, model: bytes, elf: Path | None) -> Fit:
    """How `model`, compiled into `env`'s firmware, fits; `elf`: the env's default firmware."""
    needs = model_needs(model)
    ram = flash_needed = None
    if elf is not None and Path(elf).exists():
        ram = work_ram_bytes(Path(elf))
        code = code_flash_bytes(Path(elf)) if ram is not None else None
        flash_needed = None if code is None else code + needs.model_bytes
    return Fit(env, needs, ram, flash_needed, flash_bytes(env) if ram is not None else None)


def require_fit(env: str, model: bytes, elf: Path | None) -> Fit:
    """:func:`check`, raising ModelTooLargeError (one line, both numbers) when it does not fit."""
    fit = check(env, model, elf)
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
