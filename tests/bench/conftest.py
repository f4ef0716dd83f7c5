import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT / "bench", ROOT / "toolkit", ROOT / "tests" / "firmware"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import hostbuild  # noqa: E402

# Import the TFLM binding once up front: pytester's in-process runs drop modules imported
# during a run, and a pybind11 module cannot be imported twice in one process.
from tflite_micro.python.tflite_micro import runtime as _tflm_runtime  # noqa: E402,F401

DEFAULT_MODEL = ROOT / "boards" / "firmware" / "default_model.tflite"


def pytest_configure(config):
    config.addinivalue_line("markers", "qemu: needs qemu-system-arm, arm-none-eabi-gcc and the "
                            "PlatformIO envs (slow)")


@pytest.fixture(scope="session")
def host_program(tmp_path_factory):
    """The firmware built for the host with gcc."""
    return hostbuild.build(tmp_path_factory.mktemp("bench-fw"))


@pytest.fixture(scope="session")
def model_path():
    return DEFAULT_MODEL


@pytest.fixture
def native_board(host_program, tmp_path):
    from reds_bench.factory import create_dut

    b = create_dut("native", firmware=host_program, log_dir=tmp_path / "logs", timeout=20)
    yield b
    b.close()
