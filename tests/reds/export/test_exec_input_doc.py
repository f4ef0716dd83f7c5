"""docs/your-model.md tells how to make the `x.npy` a first `reds exec` needs: its snippet runs,
and both of its inputs (float with --quantize, int8 in the model's encoding) give the same outputs."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
from paths import DEFAULT_MODEL, REPO

from reds_app.cli import main


def _snippet() -> str:
    text = (REPO / "docs" / "your-model.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    found = [b for b in blocks if 'np.save("x.npy"' in b]
    assert len(found) == 1, "docs/your-model.md: one python block writes x.npy"
    return found[0]


def test_the_documented_inputs_run_and_agree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.tflite").write_bytes(DEFAULT_MODEL.read_bytes())
    rng = np.random.default_rng(3)
    width = 16  # the default model's input: [1, 16]
    np.savez("data.npz", x_train=rng.normal(0, 0.4, (20, width)).astype(np.float32),
             y_train=rng.integers(0, 4, 20))
    proc = subprocess.run([sys.executable, "-c", _snippet()], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert np.load("x.npy").dtype == np.float32 and np.load("x_int8.npy").dtype == np.int8
    assert main(["exec", "run/model.tflite", "--input", "x.npy", "--quantize", "--output", "y_float.npy",
                 "--subnet", "3"]) == 0
    assert main(["exec", "run/model.tflite", "--input", "x_int8.npy", "--output", "y_int8.npy",
                 "--subnet", "3"]) == 0
    a, b = np.load("y_float.npy"), np.load("y_int8.npy")
    assert a.shape[0] == 8 and np.array_equal(a, b)
