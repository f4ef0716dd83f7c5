"""`reds bench host`: the zero-masked full-size model computes what the sliced subnet computes
(so the two latencies compare like for like), and keeps every tensor at full size."""
import numpy as np
from click.testing import CliRunner
from paths import DEFAULT_MODEL

from reds.tflite import flatbuffer as tflite_io
from reds.tflite.metadata import read_metadata, remove_metadata
from reds.tflite.slicing import slice_model
from reds.runtime.golden import random_inputs
from reds.plan.host_latency import masked_model



def run_litert(model, x):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=bytes(model))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def test_masked_model_equals_sliced_subnet():
    model = DEFAULT_MODEL.read_bytes()
    meta = read_metadata(model)
    full_shapes = [t.shape for t in tflite_io.load_model(model).tensors]
    xs = random_inputs(model, 4, seed=3)
    for k, s in enumerate(meta.subnets[1:], start=1):
        masked = masked_model(model, list(s.widths))
        assert [t.shape for t in tflite_io.load_model(masked).tensors] == full_shapes
        sliced = remove_metadata(slice_model(model, k))
        assert len(sliced) < len(masked)
        for x in xs:
            np.testing.assert_array_equal(run_litert(masked, x[None]), run_litert(sliced, x[None]))
    # full widths: nothing is masked
    full = masked_model(model, list(meta.subnets[0].widths))
    for x in xs:
        np.testing.assert_array_equal(run_litert(full, x[None]), run_litert(remove_metadata(model), x[None]))


def test_host_command_writes_json(tmp_path):
    import json

    from reds_app.cli import cli

    out = tmp_path / "host.json"
    r = CliRunner().invoke(cli, ["bench", "host", str(DEFAULT_MODEL), "--repeat", "5", "--json", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert [s["subnet"] for s in doc["subnets"]] == [0, 1, 2, 3]
    assert all(s["sliced_us"] > 0 and s["masked_us"] > 0 for s in doc["subnets"])
