"""What your own device test calls: a small public API over the bench's measurements.

Every function takes the connected board (the plugin's ``board`` fixture, or
``reds_bench.create_board(...)``) and names its unit: a QEMU ``-icount`` board counts
instructions and measures no time, so ``latency_ns`` refuses it and ``latency_instructions``
refuses a board that measures time; ``latency`` returns either, with its unit. docs/bench.md
("Writing your own device test") shows them in a test; tests/device/ is the example.

    from reds_bench.measure import device

    def test_subnet_2_fits_its_deadline(board):
        assert device.latency_instructions(board, 2) < 40_000
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reds_bench.errors import BenchError
from reds_bench.measure import steps

__all__ = ["Latency", "outputs", "latency", "latency_instructions", "latency_ns", "switch_ticks",
           "accuracy"]


@dataclass(frozen=True)
class Latency:
    """One subnet's inference cost over ``runs`` timed inferences, in ``unit``: "instructions"
    (QEMU -icount) or "ns" (a board's timer)."""

    median: float
    min: float
    max: float
    unit: str
    runs: int


def outputs(board, subnet: int, x) -> bytes:
    """Output 0 of one inference of ``subnet`` on the quantized input ``x`` (an integer array
    of one sample, or its raw bytes), as raw bytes: compare them with the ``golden`` fixture's."""
    if not isinstance(x, (bytes, bytearray)):
        steps.check_quantized(x)
        x = np.ascontiguousarray(x).tobytes()
    return steps.device_outputs(board, subnet, x)


def latency(board, subnet: int, runs: int = 20, warmup: int = 1) -> Latency:
    """Median, min and max of ``runs`` timed inferences of ``subnet``, in the board's unit."""
    d = steps.latency(board, subnet, runs, warmup)
    u = d["cost_unit"]
    return Latency(d[f"median_{u}"], d[f"min_{u}"], d[f"max_{u}"], u, runs)


def latency_instructions(board, subnet: int, runs: int = 20, warmup: int = 1) -> float:
    """Median instructions per inference of ``subnet``: only on a board that counts them."""
    lat = latency(board, subnet, runs, warmup)
    if lat.unit != "instructions":
        raise BenchError(f"this board measures time ({lat.unit}), not instructions: use latency_ns "
                         "or latency (instruction counts come from QEMU -icount targets)")
    return lat.median


def latency_ns(board, subnet: int, runs: int = 20, warmup: int = 1) -> float:
    """Median nanoseconds per inference of ``subnet``: only on a board that measures time."""
    lat = latency(board, subnet, runs, warmup)
    if lat.unit != "ns":
        raise BenchError(f"this board counts {lat.unit} (QEMU -icount), not time: use "
                         "latency_instructions or latency")
    return lat.median


def switch_ticks(board, runs: int = 100) -> list[list[float]]:
    """Mean timer ticks of ``reds_select(j)`` right after ``reds_select(i)``, as a matrix
    [i][j] (loop and timer overhead removed): an O(1) switch costs about the same everywhere."""
    return steps.adaptation(board, runs)["matrix_ticks"]


def accuracy(board, subnet: int, x, y) -> float:
    """Share of ``y`` (labels) that ``subnet`` predicts on the board from quantized inputs
    ``x`` [N, ...] (float inputs are refused with the way to quantize them)."""
    return steps.accuracy(board, subnet, np.asarray(x), np.asarray(y))["int8_accuracy"]
