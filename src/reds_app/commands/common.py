"""What every command shares: argument checks that fail before long work starts, consoles
that never wrap lines in files or pipes, JSON or text output, units printed with values."""
from __future__ import annotations

import json
import os
from pathlib import Path

import click

from reds.errors import UserError
from reds_bench.board import targets

TARGET_CHOICE = click.Choice(targets.names())


def emit(data, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)


def writable_file(path: str | Path, option: str) -> Path:
    """An output file's path, its directory created now so that no work is lost at the end."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{option} {p} is a directory; give a file name inside it")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{option} {p}: cannot create its directory {p.parent} "
                        f"({err.strerror or err}); choose another path") from None
    if not os.access(p.parent, os.W_OK):
        raise UserError(f"{option} {p}: directory {p.parent} is not writable; choose another path")
    return p


def load_array(path: str | Path, option: str):
    """A numeric array from a .npy file (a .npz's `x`), or one line saying what is wrong."""
    import numpy as np

    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as err:
        if "pickle" in str(err):
            raise UserError(f"{option} {path} holds Python objects, not a numeric array; "
                            "save it with numpy.save(path, array.astype(numpy.int8))") from None
        raise UserError(f"{option} {path} is not a .npy/.npz array file ({err})") from None
    except (OSError, EOFError) as err:
        raise UserError(f"{option} {path} cannot be read as a .npy/.npz file ({err})") from None
    if not isinstance(data, np.ndarray):  # .npz
        if "x" not in data.files:
            raise UserError(f"{option} {path} has arrays {', '.join(data.files) or 'none'} but no "
                            "'x'; save inputs as numpy.savez(path, x=inputs, y=labels)")
        data = data["x"]
    if data.dtype.kind not in "iuf":
        raise UserError(f"{option} {path} holds {data.dtype} values; expected int8 or float numbers")
    if data.size == 0:
        raise UserError(f"{option} {path} is empty (shape {data.shape}); give at least one sample")
    return data


def ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None


def stderr_console():
    """Step lines on stderr: one line each, never wrapped when stderr is a file or pipe."""
    from rich.console import Console

    con = Console(stderr=True)
    return con if con.is_terminal else Console(stderr=True, width=200, soft_wrap=True)


def stdout_console():
    """Rich console for results on stdout: a terminal's own width (long names fold inside their
    table cell); in a file or a pipe, read by scripts and `grep`, wide enough that no line is
    wrapped and no name is cut."""
    from rich.console import Console

    con = Console()
    return con if con.is_terminal else Console(width=100_000, soft_wrap=True)


def require_runtime(blob: bytes, model: str) -> None:
    """Refuse early, in one line, a model the C runtime will not load (float ops, ...)."""
    from reds.runtime.inspect import runtime_support

    reason = runtime_support(blob)
    if reason:
        raise UserError(f"{model}: the REDS C runtime cannot run this model: {reason}; "
                        "`reds inspect` shows its ops and tensor types (the runtime runs "
                        "full-integer int8 models, e.g. from `reds export`)")


def format_quantity(value: float, unit: str) -> str:
    """`538.9 µs`, `1.62 ns`, `1,234 instructions`: a few significant digits and the unit."""
    if unit in ("instructions", "instr", "ticks", "bytes", "MACs"):
        return f"{value:,.0f} {unit}"
    if unit == "ns":
        for scale, name in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
            if abs(value) >= scale:
                return f"{value / scale:.4g} {name}"
        return f"{value:.3g} ns"
    return f"{value:.4g} {unit}"
