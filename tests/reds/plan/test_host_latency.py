"""`reds bench host`: the zero-masked full-size model computes what the sliced subnet computes
(so the two latencies compare like for like), and keeps every tensor at full size."""
import numpy as np
import pytest
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


def _fake_timer(per_model_us: dict):
    """A stand-in for LiteRT: each model's round medians come from `per_model_us` in turn."""
    class Timer:
        def __init__(self, model, threads):
            self.values = list(per_model_us.get(bytes(model), [100.0]))
            self.i = 0

        def median_seconds(self, repeat):
            v = self.values[self.i % len(self.values)]
            self.i += 1
            return v * 1e-6

    return Timer


def test_ratio_only_where_the_difference_exceeds_the_spread():
    from reds.plan.host_latency import host_bench
    from reds_app.commands.profile import host_text

    model = DEFAULT_MODEL.read_bytes()
    sliced = {k: remove_metadata(slice_model(model, k)) for k in range(4)}
    us = {sliced[0]: [100.0, 102.0, 98.0],   # the full model
          sliced[1]: [50.0, 51.0, 49.0],     # clearly faster: a ratio
          sliced[2]: [90.0, 130.0, 70.0]}    # spread wider than the difference: no ratio
    res = host_bench(model, repeat=1, rounds=3, timer=_fake_timer(us))
    rows = res["subnets"]
    assert (rows[0]["sliced_min_us"], rows[0]["sliced_us"], rows[0]["sliced_max_us"]) == \
        pytest.approx((98.0, 100.0, 102.0))
    assert rows[1]["sliced_share"] == pytest.approx(50.0 / 100.0) and rows[1]["sliced_distinguishable"]
    assert rows[2]["sliced_share"] is None and not rows[2]["sliced_distinguishable"]
    assert (rows[2]["sliced_min_us"], rows[2]["sliced_max_us"]) == pytest.approx((70.0, 130.0))
    lines = host_text(res).splitlines()
    sub1 = next(line for line in lines if line.startswith("subnet 1:"))
    sub2 = next(line for line in lines if line.startswith("subnet 2:"))
    assert "not distinguishable" in sub2.split("zero-masked")[0]
    assert "not distinguishable" not in sub1.split("zero-masked")[0] and "%" in sub1.split("zero-masked")[0]


def test_more_threads_than_cores_warns(tmp_path, capsys):
    import json

    from reds.plan.host_latency import available_cores
    from reds_app.cli import main

    threads = available_cores() + 1
    out = tmp_path / "host.json"
    assert main(["bench", "host", str(DEFAULT_MODEL), "--threads", str(threads), "--repeat", "1",
                 "--rounds", "2", "--json", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"reds: warning: {threads} threads on {available_cores()} available core(s)" in err
    doc = json.loads(out.read_text())
    assert doc["warnings"] and doc["threads"] == threads and doc["rounds"] == 2
    assert all(s["sliced_min_us"] <= s["sliced_us"] <= s["sliced_max_us"] for s in doc["subnets"])
