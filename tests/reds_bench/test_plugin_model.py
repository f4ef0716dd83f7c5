"""`pytest tests/device --reds-target ENV --reds-model X` works without --reds-firmware: the
plugin gives the emulated board that model (uploaded, or compiled in when larger)."""

from reds.tflite import slicing
from reds_bench.plugin import DEFAULT_MODEL

from test_plugin import PLUGIN
from paths import REPO

DEVICE_TESTS = REPO / "tests" / "device" / "test_example_regression.py"


def test_device_suite_on_another_model_without_firmware_option(pytester, tmp_path):
    other = tmp_path / "subnet1.tflite"  # another model than the firmware's: subnet 1, cut out
    other.write_bytes(slicing.slice_model(DEFAULT_MODEL.read_bytes(), 1))
    pytester.makepyfile(test_device=DEVICE_TESTS.read_text())
    r = pytester.runpytest(*PLUGIN, "--reds-target", "native", "--reds-model", str(other))
    outcomes = r.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("error", 0) == 0, r.stdout.str()[-3000:]
    assert outcomes.get("passed", 0) >= 5
