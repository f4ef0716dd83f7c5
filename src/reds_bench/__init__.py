"""reds_bench: hardware-in-the-loop bench for REDS firmware (serial protocol client, board
discovery, hardware map, measurements, reports, pytest plugin).

Importable without pytest: ``create_board("native")`` gives a connected board,
``run_bench(...)`` runs the whole measurement plan. See docs/bench.md.
"""
from reds_bench.errors import (
    BenchError, BoardResetError, DeviceError, ExpectTimeout, LinkClosedError, ModelMismatchError)

__version__ = "0.1.0"

__all__ = ["BenchError", "BoardResetError", "DeviceError", "ExpectTimeout", "LinkClosedError",
           "ModelMismatchError", "create_board", "run_bench", "__version__"]


def create_board(*args, **kwargs):
    """Lazy alias of :func:`reds_bench.board.factory.create_board`."""
    from reds_bench.board.factory import create_board as _create

    return _create(*args, **kwargs)


def run_bench(*args, **kwargs):
    """Lazy alias of :func:`reds_bench.measure.runner.run_bench`."""
    from reds_bench.measure.runner import run_bench as _run

    return _run(*args, **kwargs)
