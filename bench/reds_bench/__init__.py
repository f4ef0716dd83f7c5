"""reds_bench: hardware-in-the-loop bench for REDS firmware (serial protocol client, board
discovery, hardware map, measurements, reports, pytest plugin).

Importable without pytest: ``create_dut("native")`` gives a connected board,
``run_bench(...)`` runs the whole measurement plan. See docs/bench.md.
"""
from .errors import (BenchError, BoardResetError, DeviceError, ExpectTimeout, LinkClosedError,
                     ModelMismatchError)

__version__ = "0.1.0"

__all__ = ["BenchError", "BoardResetError", "DeviceError", "ExpectTimeout", "LinkClosedError",
           "ModelMismatchError", "create_dut", "run_bench", "__version__"]


def create_dut(*args, **kwargs):
    """Lazy alias of :func:`reds_bench.factory.create_dut`."""
    from .factory import create_dut as _create

    return _create(*args, **kwargs)


def run_bench(*args, **kwargs):
    """Lazy alias of :func:`reds_bench.runner.run_bench`."""
    from .runner import run_bench as _run

    return _run(*args, **kwargs)
