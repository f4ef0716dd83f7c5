"""`reds compare`: every method on a tiny synthetic problem, plus input validation."""
import json

import pytest

from reds_app.cli import main
from reds_app.compare import METHODS, compare, parse_methods
from reds.errors import UserError
from reds.runtime import golden

BUDGETS = (1.0, 0.5, 0.25)
ROW_KEYS = {"budget", "budget_macs", "widths", "macs", "macs_fraction", "float_accuracy"}


TINY_RECIPE = """\
arch: dnn
dataset: {name: synthetic, input_shape: [4, 3, 1], num_classes: 3, train: 48, val: 16, test: 24}
pretrain: {epochs: 1, batch_size: 16, lr: 0.01}
importance: {method: taylor, batches: 2, batch_size: 16}
plan: {budgets: [1.0, 0.5, 0.25]}
finetune: {epochs: 1, batch_size: 16, lr: 0.003, bn_epochs: 1}
seed: 3
"""


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    path = tmp_path_factory.mktemp("recipe") / "recipe.yaml"
    path.write_text(TINY_RECIPE)
    return path


@pytest.fixture(scope="module")
def result(tmp_path_factory, recipe):
    out = tmp_path_factory.mktemp("compare")
    return out, compare(recipe, out, progress=False)


@pytest.mark.slow
def test_every_method_one_row_per_budget_within_budget_and_nested(result):
    out, doc = result
    assert list(doc["methods"]) == list(METHODS) and doc["complete"]
    groups = doc["groups"]
    for m, res in doc["methods"].items():
        rows = res["subnets"]
        assert [r["budget"] for r in rows] == list(BUDGETS), m
        assert res["seconds"] > 0
        for k, r in enumerate(rows):
            assert ROW_KEYS <= set(r), (m, r)
            assert r["macs"] <= r["budget_macs"], (m, r)
            assert r["macs_fraction"] == pytest.approx(r["macs"] / doc["full_macs"], abs=1e-6)
            assert 0.0 <= r["float_accuracy"] <= 1.0
            assert set(r["widths"]) == set(groups)
            if k:  # nested: each group no wider than in the bigger subnet
                assert all(r["widths"][g] <= rows[k - 1]["widths"][g] for g in groups), (m, k)
        assert rows[0]["macs"] == doc["full_macs"], m  # budget 1.0 is the full model
    # independent trains exactly the REDS widths, from scratch, for pretrain + finetune epochs
    assert ([r["widths"] for r in doc["methods"]["independent"]["subnets"]]
            == [r["widths"] for r in doc["methods"]["reds"]["subnets"]])
    assert doc["methods"]["independent"]["epochs"] == 2


@pytest.mark.slow
def test_files_and_json_keys(result):
    out, doc = result
    on_disk = json.loads((out / "compare.json").read_text())
    assert on_disk == json.loads(json.dumps(doc))
    for key in ("arch", "dataset", "seed", "budgets", "full_macs", "groups", "epochs", "shared",
                "methods", "date", "machine", "config", "complete"):
        assert key in on_disk, key
    md = (out / "compare.md").read_text()
    assert "| budget | MAC cap | reds | uniform | magnitude | random | independent |" in md
    assert md.count("\n| 50 % |") == 2  # accuracy table and widths table
    # the shared pretrained model is trained once: the other run directories only copy it
    for m in ("magnitude", "random"):
        steps = [json.loads(line) for line in (out / m / "steps.jsonl").read_text().splitlines()]
        assert steps[0]["step"] == "pretrain" and steps[0]["seconds"] == 0.0
    assert (out / "uniform" / "model.keras").exists()
    assert (out / "independent" / "subnet2.keras").exists()


@pytest.mark.slow
def test_resume_reuses_results_and_refuses_other_config(result, recipe):
    out, doc = result
    again = compare(recipe, out, methods="reds,uniform", progress=False)
    for m in ("reds", "uniform"):
        assert again["methods"][m]["subnets"] == json.loads(json.dumps(doc["methods"][m]["subnets"]))
    with pytest.raises(UserError, match="another configuration.*finetune_epochs"):
        compare(recipe, out, methods="reds", finetune_epochs=2, progress=False)


def test_unknown_method_names_the_allowed_ones(tmp_path, recipe):
    with pytest.raises(UserError, match="unknown comparison method 'slimmable'; allowed: "
                                        "reds, uniform, magnitude, random, independent"):
        compare(recipe, tmp_path, methods=["reds", "slimmable"], progress=False)
    assert not any(tmp_path.iterdir())  # nothing was started
    with pytest.raises(UserError, match="no comparison method"):
        parse_methods(" , ")
    assert parse_methods("Uniform, reds,uniform") == ["uniform", "reds"]


def test_cli_unknown_method_is_one_line_error(tmp_path, recipe, capsys):
    code = main(["compare", "--recipe", str(recipe), "--out", str(tmp_path / "out"), "--methods", "reds,nope"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown comparison method 'nope'" in err and "independent" in err


@pytest.mark.slow
def test_cli_json_resumes_and_prints_only_json(result, recipe, capsys):
    out, doc = result
    code = main(["compare", "--recipe", str(recipe), "--out", str(out), "--methods", "reds,independent",
                 "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)  # the converter's chatter went to stderr
    assert list(printed["methods"]) == ["reds", "independent"]
    assert printed["methods"]["reds"]["subnets"] == json.loads(json.dumps(doc["methods"]["reds"]["subnets"]))
    assert printed["started"] == doc["started"]


def _tflm_accuracy(model_bytes: bytes, subnet: int, x, y) -> float:
    """Accuracy of one subnet by tflite_micro on the physically sliced model (not our runtime)."""
    import numpy as np

    from reds.tflite import metadata, slicing
    from reds.export.convert import quantize_input

    sliced = slicing.slice_model(model_bytes, subnet) if metadata.read_metadata(model_bytes) else model_bytes
    out = golden.tflm_outputs(sliced, quantize_input(model_bytes, x))
    return float(np.mean(np.argmax(out.reshape(len(x), -1), 1) == y))


DIGITS_RECIPE = """\
arch: dnn
dataset: {name: digits}
pretrain: {epochs: 3, batch_size: 64, lr: 0.01}
importance: {method: taylor, batches: 2, batch_size: 64}
plan: {budgets: [1.0, 0.1]}
finetune: {epochs: 1, batch_size: 64, lr: 0.003, bn_epochs: 1}
export: {calibration_samples: 64}
seed: 3
"""


@pytest.fixture(scope="module")
def digits_result(tmp_path_factory):
    """A comparison whose subnets differ in accuracy (270 test images), so an int8 number taken
    from the wrong subnet or file shows; one method per int8 path (pipeline export, uniform,
    independent)."""
    root = tmp_path_factory.mktemp("compare_digits")
    (root / "recipe.yaml").write_text(DIGITS_RECIPE)
    return root / "out", compare(root / "recipe.yaml", root / "out", methods="reds,uniform,independent",
                                 progress=False)


@pytest.mark.slow
def test_int8_accuracy_of_every_method_as_deployed_equals_tflm(digits_result):
    from reds.data.registry import load_dataset

    out, doc = digits_result
    reds_int8 = [r["int8_accuracy"] for r in doc["methods"]["reds"]["subnets"]]
    assert reds_int8[0] != reds_int8[-1]  # the check below can tell subnets apart
    opts = {k: v for k, v in doc["dataset"].items() if k != "name"}
    data = load_dataset(doc["dataset"]["name"], seed=doc["seed"], **opts)
    for m, res in doc["methods"].items():
        for k, row in enumerate(res["subnets"]):
            assert 0.0 <= row["int8_accuracy"] <= 1.0, (m, row)
            if m == "independent":
                model, subnet = (out / "independent" / f"subnet{k}.tflite").read_bytes(), 0
            else:
                model, subnet = (out / m / "model.tflite").read_bytes(), k
            assert row["int8_accuracy"] == _tflm_accuracy(model, subnet, data.x_test, data.y_test), (m, k)
    assert "Float / int8 (C runtime, as deployed)" in (out / "compare.md").read_text()


@pytest.mark.slow
def test_no_int8_leaves_rows_float_only(tmp_path, recipe):
    doc = compare(recipe, tmp_path, methods="uniform", int8=False, progress=False)
    assert all("int8_accuracy" not in r for r in doc["methods"]["uniform"]["subnets"])
    assert not (tmp_path / "uniform" / "model.tflite").exists()


@pytest.mark.slow
def test_cli_relative_out_from_another_working_directory(tmp_path, recipe, monkeypatch):
    """A relative --out (the default is `runs/compare`) must not be joined onto OUT/reds when
    the uniform method's int8 step loads OUT/uniform/model.keras."""
    monkeypatch.chdir(tmp_path)
    code = main(["compare", "--recipe", str(recipe), "--out", "runs/cmp", "--methods", "uniform"])
    assert code == 0
    doc = json.loads((tmp_path / "runs" / "cmp" / "compare.json").read_text())
    assert all("int8_accuracy" in r for r in doc["methods"]["uniform"]["subnets"])
    assert (tmp_path / "runs" / "cmp" / "uniform" / "model.tflite").exists()


@pytest.mark.slow
def test_library_takes_a_relative_out_too(tmp_path, recipe, monkeypatch):
    monkeypatch.chdir(tmp_path)
    doc = compare(recipe, "rel/cmp", methods="uniform", progress=False)
    assert all("int8_accuracy" in r for r in doc["methods"]["uniform"]["subnets"])
    assert (tmp_path / "rel" / "cmp" / "uniform" / "model.tflite").exists()
