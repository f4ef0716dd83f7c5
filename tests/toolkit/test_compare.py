"""`reds compare`: every method on a tiny synthetic problem, plus input validation."""
import json

import pytest

from reds.cli import main
from reds.compare import METHODS, compare, parse_methods
from reds.errors import UserError
from reds.pipeline import Config

BUDGETS = (1.0, 0.5, 0.25)
ROW_KEYS = {"budget", "budget_macs", "widths", "macs", "macs_fraction", "float_accuracy"}


def tiny_config(**over) -> Config:
    cfg = dict(arch="dnn", dataset={"name": "synthetic", "input_shape": [4, 3, 1], "num_classes": 3,
                                    "train": 48, "val": 16, "test": 24},
               seed=3, pretrain_epochs=1, pretrain_batch=16, finetune_epochs=1, finetune_batch=16,
               importance_batches=2, importance_batch_size=16, budgets=BUDGETS, bn_epochs=1)
    cfg.update(over)
    return Config(**cfg)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    return out, compare(tiny_config(), out, progress=False)


@pytest.mark.slow
def test_every_method_one_row_per_budget_within_budget_and_nested(result):
    out, doc = result
    assert list(doc["methods"]) == list(METHODS) and doc["complete"]
    groups = doc["groups"]
    for m, res in doc["methods"].items():
        rows = res["subnets"]
        assert [r["budget"] for r in rows] == list(BUDGETS), m
        assert res["seconds"] >= 0
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
def test_resume_reuses_results_and_refuses_other_config(result):
    out, doc = result
    again = compare(tiny_config(), out, methods="reds,uniform", progress=False)
    for m in ("reds", "uniform"):
        assert again["methods"][m]["subnets"] == json.loads(json.dumps(doc["methods"][m]["subnets"]))
    with pytest.raises(UserError, match="another configuration.*finetune_epochs"):
        compare(tiny_config(finetune_epochs=2), out, methods="reds", progress=False)


def test_unknown_method_names_the_allowed_ones(tmp_path):
    with pytest.raises(UserError, match="unknown comparison method 'slimmable'; allowed: "
                                        "reds, uniform, magnitude, random, independent"):
        compare(tiny_config(), tmp_path, methods=["reds", "slimmable"], progress=False)
    assert not any(tmp_path.iterdir())  # nothing was started
    with pytest.raises(UserError, match="no comparison method"):
        parse_methods(" , ")
    assert parse_methods("Uniform, reds,uniform") == ["uniform", "reds"]


def test_cli_unknown_method_is_one_line_error(tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("arch: dnn\ndataset: {name: synthetic}\npretrain: {epochs: 1, batch_size: 8, lr: 0.01}\n"
                      "plan: {budgets: [1.0, 0.5]}\nfinetune: {epochs: 1, batch_size: 8, lr: 0.01}\n")
    code = main(["compare", "--recipe", str(recipe), "--out", str(tmp_path / "out"), "--methods", "reds,nope"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown comparison method 'nope'" in err and "independent" in err
