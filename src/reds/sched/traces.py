"""Interference traces for the scheduler: the CPU fraction (integer percent, 0..MAX_LOAD) that
interrupts take in each window of the timeline. The board and the simulator read a trace the
same way (window i uses trace[i % len(trace)]), see `scheduler.advance`.

Kinds: steady, step, bursty (seeded on/off), sawtooth, and a user CSV:

    # comment lines and blank lines are ignored
    load_percent          <- optional header (or: window,load_percent)
    10
    60
    ...

one row per window, integers 0..90 (the last column is the load when there are several). The
first row is a header when one of its cells is not a number, and data otherwise (`0,10` is
window 0 at 10 %), so a file without a header loses no row.

Every trace repeats (the run wraps to window 0 after the last one): `sawtooth` is whole teeth so
the repeat is seamless; `step` returns to its low load, and `simulate()` records where the run
wraps (`trace_windows`, `run_windows`) so the commands can say so.
"""
from __future__ import annotations

import csv
import difflib
import random
import re
from pathlib import Path

from reds.sched.model import SchedulerError

MAX_LOAD = 90          # percent; the task always keeps 10 % of every window
MAX_WINDOWS = 2048     # the firmware's trace buffer (FW_SCHED_TRACE_MAX)
KINDS = ("steady", "step", "bursty", "sawtooth")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _check(loads: list[int], name: str) -> list[int]:
    if not loads:
        raise SchedulerError(f"trace {name} is empty")
    if len(loads) > MAX_WINDOWS:
        raise SchedulerError(f"trace {name} has {len(loads)} windows; at most {MAX_WINDOWS}")
    for i, v in enumerate(loads):
        if not isinstance(v, int) or not 0 <= v <= MAX_LOAD:
            raise SchedulerError(f"trace {name} window {i}: load {v!r} is not an integer "
                                 f"percent in 0..{MAX_LOAD}")
    return list(loads)


def steady(windows: int, load: int = 30) -> list[int]:
    return _check([load] * windows, "steady")


def step(windows: int, low: int = 10, high: int = 60, at: float = 0.5) -> list[int]:
    """`low` until fraction `at` of the trace, then `high`."""
    cut = int(windows * at)
    return _check([low] * cut + [high] * (windows - cut), "step")


def bursty(windows: int, seed: int = 0, low: int = 10, high: int = 60, mean_on: int = 300,
           mean_off: int = 400) -> list[int]:
    """On/off bursts: segment lengths drawn uniformly in [mean/2, 3*mean/2] windows from a
    seeded generator, starting quiet."""
    rng = random.Random(seed)
    out, on = [], False
    while len(out) < windows:
        mean = mean_on if on else mean_off
        n = rng.randint(max(1, mean // 2), max(1, mean * 3 // 2))
        out += [high if on else low] * n
        on = not on
    return _check(out[:windows], "bursty")


def sawtooth(windows: int, low: int = 0, high: int = 70, ramp: int = 200) -> list[int]:
    """Load climbing linearly from `low` to `high` over `ramp` windows, then dropping: as many
    whole teeth as fit in `windows` (so the trace repeats without a partial tooth)."""
    ramp = max(1, ramp)
    teeth = windows // ramp
    if teeth == 0:
        raise SchedulerError(f"sawtooth needs at least {ramp} windows (one tooth), got {windows}")
    return _check([low + (high - low) * (i % ramp) // max(1, ramp - 1)
                   for i in range(teeth * ramp)], "sawtooth")


def read_csv(path: str | Path) -> list[int]:
    """A user trace (format in the module docstring); errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise SchedulerError(f"cannot read trace {path}: {e.strerror}") from None
    loads, header_seen = [], False
    for lineno, row in enumerate(csv.reader(text.splitlines()), 1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        cell = cells[-1]
        if not loads and not header_seen:
            header_seen = True
            if not all(_NUMBER.fullmatch(c) for c in cells if c):
                continue                             # first row has a name: the header
        try:
            v = int(cell)
        except ValueError:
            raise SchedulerError(f"{path}:{lineno}: load {cell!r} is not an integer percent") \
                from None
        if not 0 <= v <= MAX_LOAD:
            raise SchedulerError(f"{path}:{lineno}: load {v} outside 0..{MAX_LOAD} percent")
        loads.append(v)
    if not loads:
        raise SchedulerError(f"{path}: no load values (one integer percent per line)")
    return _check(loads, str(path))


def make_trace(kind: str, windows: int, seed: int = 0) -> list[int]:
    """A named trace kind, or a CSV path."""
    if windows <= 0 or windows > MAX_WINDOWS:
        raise SchedulerError(f"windows {windows} outside 1..{MAX_WINDOWS}")
    if kind == "steady":
        return steady(windows)
    if kind == "step":
        return step(windows)
    if kind == "bursty":
        return bursty(windows, seed=seed)
    if kind == "sawtooth":
        return sawtooth(windows)
    if kind.endswith(".csv") or Path(kind).exists():
        return read_csv(kind)
    near = difflib.get_close_matches(kind.lower(), KINDS, n=1, cutoff=0.6)
    hint = (f" (names are lower case: did you mean {kind.lower()!r}?)" if kind.lower() in KINDS
            else f" (did you mean {near[0]!r}?)" if near else "")
    raise SchedulerError(f"unknown trace {kind!r}{hint}: use one of {', '.join(KINDS)} or a "
                         ".csv path")


def to_hex(loads: list[int]) -> str:
    """Compact form uploaded to the board: one byte per window."""
    return bytes(_check(loads, "upload")).hex()
