"""The compiled-in default model is what its generator makes, and a valid REDS model."""
import subprocess
import sys

from paths import FIRMWARE
from reds.tflite import metadata


def test_committed_model_data_is_up_to_date():
    proc = subprocess.run([sys.executable, "-m", "reds_bench.board.default_model", "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_default_model_has_four_nested_subnets():
    meta = metadata.read_metadata((FIRMWARE / "default_model.tflite").read_bytes())
    assert meta.num_subnets == 4
    assert [s.widths for s in meta.subnets] == [(12, 8), (9, 6), (6, 4), (3, 2)]
