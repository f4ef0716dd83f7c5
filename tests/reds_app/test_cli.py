"""The `reds` command line over real files: exec, inspect, verify, and its error handling."""
from __future__ import annotations

import json

import numpy as np
import pytest

from reds.tflite import groups as graph, slicing
from reds_app.cli import main
from reds.runtime.golden import tflm_outputs

from tflite_models import conv_flatten_dense


@pytest.fixture(scope="module")
def nested_model(tmp_path_factory):
    _, tfl = conv_flatten_dense()
    groups = graph.derive_groups(tfl)
    full = groups.full_widths
    widths = [full, [max(1, w - 2) for w in full], [max(1, w // 3) for w in full]]
    path = tmp_path_factory.mktemp("cli") / "nested.tflite"
    path.write_bytes(slicing.nest(tfl, groups, widths))
    return path


def _int8_batch(n, shape, seed=0):
    return np.random.default_rng(seed).integers(-128, 128, size=(n, *shape), dtype=np.int8)


@pytest.mark.parametrize("subnet", [0, 2])
def test_exec_native_matches_tflm_on_sliced_model(nested_model, tmp_path, subnet):
    xs = _int8_batch(5, (8, 8, 3), seed=subnet)
    np.save(tmp_path / "x.npy", xs)
    rc = main(["exec", str(nested_model), "--input", str(tmp_path / "x.npy"),
               "--output", str(tmp_path / "y.npy"), "--subnet", str(subnet)])
    assert rc == 0
    ours = np.load(tmp_path / "y.npy")
    assert ours.shape == (5, 3) and ours.dtype == np.int8  # batch x the model's output shape
    golden = tflm_outputs(slicing.slice_model(nested_model.read_bytes(), subnet), xs)
    assert np.array_equal(ours, golden)


def test_exec_rejects_float_input_for_int8_model(nested_model, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((1, 8, 8, 3), np.float32))
    rc = main(["exec", str(nested_model), "--input", str(tmp_path / "x.npy"),
               "--output", str(tmp_path / "y.npy")])
    assert rc == 2
    assert "does not match the model's input INT8" in capsys.readouterr().err
    assert not (tmp_path / "y.npy").exists()


def test_exec_subnet_out_of_range_is_a_clear_error(nested_model, tmp_path, capsys):
    np.save(tmp_path / "x.npy", _int8_batch(1, (8, 8, 3)))
    rc = main(["exec", str(nested_model), "--input", str(tmp_path / "x.npy"),
               "--output", str(tmp_path / "y.npy"), "--subnet", "7"])
    assert rc == 2
    assert "subnet 7 out of range" in capsys.readouterr().err


def test_inspect_json_lists_every_subnet(nested_model, capsys):
    assert main(["inspect", str(nested_model), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["reds"] is True and len(info["subnets"]) == 3
    macs = [s["macs"] for s in info["subnets"]]
    params = [s["parameter_bytes"] for s in info["subnets"]]
    assert macs == sorted(macs, reverse=True) and macs[2] < macs[0]
    assert params == sorted(params, reverse=True) and params[2] < params[0]
    assert info["metadata_overhead_bytes"] > 0


def test_verify_passes_and_reports_each_subnet(nested_model, capsys):
    assert main(["verify", str(nested_model), "-n", "4", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["ok"] and [s["bit_exact"] for s in rep["subnets"]] == [True] * 3


def test_truncated_model_is_one_line_error(nested_model, tmp_path, capsys):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(nested_model.read_bytes()[:100])
    assert main(["inspect", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("reds: error:") and err.count("\n") == 1


def test_plan_cli_writes_documented_json(tmp_path):
    out = tmp_path / "plan.json"
    assert main(["plan", "--arch", "dnn_s", "--input-shape", "10,4,1", "--classes", "5",
                 "--budgets", "0.5,0.25", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert {"arch", "budgets", "solve_seconds", "subnets"} <= set(doc)
    subs = doc["subnets"]
    assert [s["budget"] for s in subs] == [1.0, 0.5, 0.25]
    for s in subs:
        assert {"budget", "status", "objective", "macs", "arena_bytes", "widths"} <= set(s)
        assert s["status"] == "optimal" and s["macs"] <= s["budget"] * subs[0]["macs"]
    for big, small in zip(subs, subs[1:]):  # nested
        assert all(small["widths"][g] <= big["widths"][g] for g in big["widths"])


def test_plan_cli_table_has_one_macs_percentage_column(capsys):
    assert main(["plan", "--arch", "dnn_s", "--input-shape", "10,4,1", "--classes", "5",
                 "--budgets", "0.5"]) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if "budget" in line)
    assert header.count("% MACs") == 1


def test_plan_cli_infeasible_budget_names_smallest_feasible(capsys):
    rc = main(["plan", "--arch", "dnn_s", "--input-shape", "10,4,1", "--classes", "5",
               "--budgets", "0.0001", "--min-width", "8"])
    assert rc == 2
    assert "smallest feasible budget is" in capsys.readouterr().err


def test_verify_names_subnet_index_and_values_on_mismatch(nested_model, monkeypatch, capsys):
    from reds.runtime import binding as runtime

    real = runtime.Runtime.run_batch

    def off_by_one_on_subnet_1(self, xs, subnet=None):
        out = real(self, xs, subnet=subnet)
        if subnet == 1:
            out = out.copy()
            out.reshape(len(xs), -1)[0, 2] += 1
        return out

    monkeypatch.setattr(runtime.Runtime, "run_batch", off_by_one_on_subnet_1)
    assert main(["verify", str(nested_model), "-n", "3"]) == 1
    out = capsys.readouterr().out
    assert "subnet 1: MISMATCH" in out and "subnet 0: bit-exact" in out
    assert "subnet 1, input 0, output index 2: runtime" in out and "!= TFLM" in out


def test_verify_with_data_reports_accuracy(nested_model, tmp_path, capsys):
    xs = _int8_batch(6, (8, 8, 3), seed=5)
    np.savez(tmp_path / "d.npz", x=xs, y=np.zeros(6, dtype=np.int64))
    assert main(["verify", str(nested_model), "--data", str(tmp_path / "d.npz"), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert all(0.0 <= s["int8_accuracy"] <= 1.0 and s["inputs"] == 6 for s in rep["subnets"])
