"""What a device suite outside this repository needs from the plugin: the `hil` marker is
registered (no unknown-mark warning, no --strict-markers error), and the public helpers of
reds_bench.measure.device measure in named units and refuse float inputs with the fix."""
import numpy as np
import pytest

from reds_bench.errors import BenchError

from test_plugin import PLUGIN

HIL_FILE = """
import pytest

pytestmark = pytest.mark.hil

def test_marked():
    pass
"""


def test_hil_marker_is_registered_by_the_plugin(pytester):
    pytester.makepyfile(HIL_FILE)
    r = pytester.runpytest(*PLUGIN, "--strict-markers", "-W", "error::pytest.PytestUnknownMarkWarning")
    r.assert_outcomes(passed=1)
    r = pytester.runpytest(*PLUGIN, "--markers")
    r.stdout.fnmatch_lines(["@pytest.mark.hil:*"])


class _FakeDut:
    def __init__(self):
        self.lines = []

    def cmd(self, line, timeout=None):
        self.lines.append(line)
        return []


@pytest.mark.parametrize("call", ["steps", "device"])
def test_float_inputs_get_the_quantize_hint_before_any_board_command(call):
    from reds_bench.measure import device, steps

    dut = _FakeDut()
    x, y = np.zeros((3, 8, 8, 1), np.float32), np.zeros(3, np.int64)
    with pytest.raises(BenchError, match=r"float32 .*quantize_input.*reds exec --quantize"):
        if call == "steps":
            steps.accuracy(dut, 0, x, y)
        else:
            device.accuracy(dut, 0, x, y)
    with pytest.raises(BenchError, match="quantize"):
        device.outputs(dut, 0, x[0])
    assert dut.lines == []  # refused here, not by the board with a byte count


def test_float_dataset_is_refused_when_loaded(tmp_path):
    from reds_bench.measure.steps import load_dataset

    np.savez(tmp_path / "d.npz", x=np.zeros((2, 4), np.float32), y=np.zeros(2))
    with pytest.raises(BenchError, match="quantize"):
        load_dataset(tmp_path / "d.npz")


DEVICE_FILE = """
import numpy as np
import pytest

from reds_bench.errors import BenchError
from reds_bench.measure import device

pytestmark = pytest.mark.hil


def test_outputs_match_golden(board, golden, board_info):
    x = golden.inputs(1, seed=2)[0]
    assert device.outputs(board, 1, x) == golden(1, x, board_info)
    assert device.outputs(board, 1, np.frombuffer(x, np.int8)) == golden(1, x, board_info)


def test_latency_in_the_board_unit(board):
    lat = device.latency(board, 0, runs=5)
    assert lat.unit == "ns" and lat.runs == 5  # the native board measures time
    assert 0 < lat.min <= lat.median <= lat.max
    assert device.latency_ns(board, 0, runs=3) > 0
    with pytest.raises(BenchError, match="measures time"):
        device.latency_instructions(board, 0, runs=3)


def test_switch_ticks_is_a_square_matrix(board, board_info):
    m = device.switch_ticks(board, runs=5)
    assert len(m) == len(board_info["subnets"]) and all(len(r) == len(m) for r in m)


def test_accuracy_of_int8_inputs(board, golden, board_info):
    xs = [np.frombuffer(x, np.int8) for x in golden.inputs(2, seed=3)]
    y = [int(np.argmax(np.frombuffer(golden(0, x.tobytes(), board_info), np.int8))) for x in xs]
    assert device.accuracy(board, 0, np.stack(xs), y) == 1.0  # the golden's own labels
"""


def test_device_helpers_on_the_native_board(pytester, host_program):
    pytester.makepyfile(DEVICE_FILE)
    r = pytester.runpytest(*PLUGIN, "--strict-markers", "--reds-target", "native",
                           "--reds-firmware", str(host_program))
    r.assert_outcomes(passed=4)
