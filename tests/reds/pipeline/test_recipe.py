
import pytest

from reds.pipeline.recipe import RecipeError, load_recipe, parse_bytes, parse_recipe
from reds.errors import UserError

from paths import MODELS

BASE = {
    "arch": "ds_cnn_digits", "dataset": {"name": "digits"},
    "pretrain": {"epochs": 1, "batch_size": 8, "lr": 0.01},
    "plan": {"budgets": [0.5, 1.0]},
    "finetune": {"epochs": 1, "batch_size": 8, "lr": 0.001},
}


def _with(**over):
    d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    for k, v in over.items():
        if "." in k:
            a, b = k.split(".")
            d[a][b] = v
        else:
            d[k] = v
    return d


@pytest.mark.parametrize("name", ["digits_ds_cnn", "kws_ds_cnn_s", "vww_mobilenet", "cifar_resnet8"])
def test_shipped_recipes_load(name):
    r = load_recipe(MODELS / name / "recipe.yaml")
    assert r.plan.budgets == sorted(r.plan.budgets, reverse=True)
    assert r.importance.method == "taylor" and r.path.endswith("recipe.yaml")


def test_defaults_and_sorting():
    r = parse_recipe(_with())
    assert r.plan.budgets == [1.0, 0.5]
    assert r.importance.batches == 100 and r.finetune.bn_epochs == 1 and r.export.calibration_samples == 200
    assert r.dataset_name == "digits" and r.to_dict()["arch"] == "ds_cnn_digits"


def test_kws_peak_memory_units():
    assert load_recipe(MODELS / "kws_ds_cnn_s").plan.peak_memory == 65536
    assert parse_bytes("1.5 kB") == 1500 and parse_bytes(4096) == 4096
    with pytest.raises(RecipeError, match="KiB"):
        parse_bytes("lots")


@pytest.mark.parametrize("over,pattern", [
    ({"pretrian": {}}, r"unknown key 'pretrian' at the top level; allowed: arch, .*pretrain"),
    ({"arch": "vgg"}, r"arch: 'vgg' is neither a zoo architecture \(.*ds_cnn_s.*\), a Keras model file"),
    ({"dataset": {"name": "mnist"}}, r"dataset.name: 'mnist' is not allowed; allowed: digits"),
    ({"pretrain.epochs": "ten"}, r"pretrain.epochs: must be an integer >= 0, got 'ten'"),
    ({"pretrain.lr": -1}, r"pretrain.lr: must be in > 0.0"),
    ({"importance": {"method": "hessian"}}, r"importance.method: 'hessian' is not allowed; allowed: taylor, magnitude, random"),
    ({"plan": {"budgets": [1.5]}}, r"plan.budgets\[0\]: must be in \(0.0, 1.0\]"),
    ({"plan": {"budgets": []}}, r"plan.budgets: must be a non-empty list"),
    ({"plan": {"budgets": [1.0], "speed": 3}}, r"unknown key 'speed' in plan; allowed: budgets, peak_memory, min_width"),
    ({"finetune": {"epochs": 1, "batch_size": 8}}, r"finetune.lr: is required"),
    ({"input_shape": [8, "x"]}, r"input_shape: must be a list of positive integers"),
])
def test_errors_name_key_and_allowed(over, pattern):
    with pytest.raises(RecipeError, match=pattern):
        parse_recipe(_with(**over), "r.yaml")


def test_file_errors(tmp_path):
    with pytest.raises(RecipeError, match="cannot read recipe"):
        load_recipe(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("arch: [unclosed\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(bad)
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(UserError, match="empty recipe"):
        load_recipe(tmp_path / "empty.yaml")
