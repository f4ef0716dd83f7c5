"""`reds train` → `reds export` → `reds inspect`/`verify` on a tiny recipe, through the CLI."""
from __future__ import annotations

import json

import pytest

from reds_app.cli import main

pytestmark = pytest.mark.slow

RECIPE = """
arch: ds_cnn
arch_options: {channels: 6, blocks: 2, first_kernel: 3, first_stride: 1}
dataset: {name: synthetic, input_shape: [8, 8, 1], num_classes: 4, train: 96, val: 32, test: 32}
pretrain: {epochs: 2, batch_size: 16, lr: 0.01}
importance: {method: taylor, batches: 3, batch_size: 16}
plan: {budgets: [1.0, 0.6, 0.3]}
finetune: {epochs: 1, batch_size: 16, lr: 0.005, bn_epochs: 1}
export: {calibration_samples: 16}
seed: 3
"""


def test_train_export_verify(tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    run = tmp_path / "run"
    assert main(["train", "--recipe", str(recipe), "--out", str(run)]) == 0
    plan = json.loads((run / "plan.json").read_text())
    assert [s["budget"] for s in plan["subnets"]] == [1.0, 0.6, 0.3]
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics["subnets"]) == 3
    assert all(0.0 <= s["float_accuracy"] <= 1.0 for s in metrics["subnets"])

    assert main(["export", str(run), "--c-array", str(tmp_path / "model_data.c")]) == 0
    model = run / "model.tflite"
    assert (tmp_path / "model_data.h").exists()
    capsys.readouterr()
    assert main(["inspect", str(model), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [s["macs"] for s in info["subnets"]] == [s["macs"] for s in plan["subnets"]]
    assert [s["arena_bytes"] for s in info["subnets"]] == [s["arena_bytes"] for s in plan["subnets"]]
    assert all("int8_accuracy" in s and "float_accuracy" in s for s in info["subnets"])
    assert main(["verify", str(model), "-n", "5"]) == 0


def test_export_of_incomplete_run_names_the_missing_piece(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{}")
    assert main(["export", str(tmp_path)]) == 2
    assert "has no plan.json: run `reds train` first" in capsys.readouterr().err


def test_bad_recipe_names_the_key(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(RECIPE.replace("arch: ds_cnn\n", "arch: ds_cnn_xl\n"))
    assert main(["train", "--recipe", str(recipe), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "arch" in err and "ds_cnn_xl" in err
