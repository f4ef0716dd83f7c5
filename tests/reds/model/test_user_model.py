"""A user's own Keras model (file or builder) through the pipeline, and layers REDS refuses."""
from __future__ import annotations

import json
import textwrap

import keras
import numpy as np
import pytest

from reds.model import user as user_model
from reds.model.groups import channel_groups
from reds.model.layer_rules import UnsupportedLayerError
from reds_app.cli import main

L = keras.layers

BUILDERS = textwrap.dedent('''
    import keras
    L = keras.layers

    def residual_separable(input_shape, classes):
        """Functional: a residual Add around a SeparableConv2D, a strided SeparableConv2D, softmax."""
        x = inp = keras.Input(input_shape)
        x = L.Conv2D(10, 3, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        a = L.ReLU(6.0)(x)
        b = L.SeparableConv2D(10, 3, padding="same")(a)
        b = L.BatchNormalization()(b)
        x = L.Add()([a, b])
        x = L.Activation("relu")(x)
        x = L.SeparableConv2D(9, 3, strides=2, padding="same", activation="relu")(x)
        x = L.GlobalAveragePooling2D()(x)
        x = L.Dropout(0.1)(x)
        return keras.Model(inp, L.Dense(classes, activation="softmax")(x))

    def three_refusals(input_shape, classes):
        """A dilated SeparableConv2D, an ELU conv, global max pooling: three layers to fix."""
        x = inp = keras.Input(input_shape)
        x = L.SeparableConv2D(8, 3, dilation_rate=2, name="sep")(x)
        x = L.Conv2D(8, 3, activation="elu", name="c_elu")(x)
        x = L.GlobalMaxPooling2D(name="gmp")(x)
        return keras.Model(inp, L.Dense(classes)(x))

    def with_concat(input_shape, classes):
        x = inp = keras.Input(input_shape)
        a = L.Conv2D(4, 3, padding="same")(x)
        b = L.Conv2D(4, 1)(x)
        x = L.Concatenate(name="merge")([a, b])
        x = L.GlobalAveragePooling2D()(x)
        return keras.Model(inp, L.Dense(classes)(x))
''')

RECIPE = """
arch: {arch}
dataset: {{name: npz, path: data.npz}}
pretrain: {{epochs: {epochs}, batch_size: 32, lr: 0.005}}
importance: {{method: taylor, batches: 4, batch_size: 32}}
plan: {{budgets: [1.0, 0.5]}}
finetune: {{epochs: 1, batch_size: 32, lr: 0.002}}
export: {{calibration_samples: 32}}
seed: 1
"""


@pytest.fixture
def project(tmp_path):
    """A user's folder: builders module, an npz dataset (digits, 10 classes), recipes beside them."""
    from sklearn.datasets import load_digits

    (tmp_path / "my_models.py").write_text(BUILDERS)
    d = load_digits()
    np.savez(tmp_path / "data.npz", x_train=(d.images[:600] / 16.0)[..., None].astype(np.float32),
             y_train=d.target[:600])
    return tmp_path


def _recipe(project, arch, epochs=2, name="recipe.yaml"):
    path = project / name
    path.write_text(RECIPE.format(arch=arch, epochs=epochs))
    return path


@pytest.mark.slow
def test_builder_model_trains_exports_and_runs_bit_exact(project, capsys):
    run = project / "run"
    keras.backend.clear_session()  # Keras' automatic layer names (conv2d, conv2d_1, ...) start afresh
    assert main(["train", "--recipe", str(_recipe(project, "my_models:residual_separable")),
                 "--out", str(run)]) == 0
    plan = json.loads((run / "plan.json").read_text())
    assert [s["budget"] for s in plan["subnets"]] == [1.0, 0.5]
    assert plan["subnets"][1]["macs"] <= 0.5 * plan["subnets"][0]["macs"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["dataset"]["name"] == "npz" and metrics["dataset"]["class_names"] == [str(i) for i in range(10)]
    assert main(["export", str(run)]) == 0
    capsys.readouterr()
    assert main(["verify", str(run / "model.tflite"), "-n", "4", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["subnets"] and all(s["bit_exact"] for s in report["subnets"])
    assert main(["inspect", str(run / "model.tflite"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["class_names"] == [str(i) for i in range(10)]
    # one naming: the exported file's groups are the groups inspect-keras shows for the builder
    keras.backend.clear_session()  # as in a new process
    assert main(["inspect-keras", "my_models:residual_separable", "--input-shape", "8,8,1",
                 "--classes", "10", "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert [g["name"] for g in info["groups"]] == [g["name"] for g in before["groups"]]
    assert [g["full_width"] for g in info["groups"]] == [g["units"] for g in before["groups"]]


@pytest.mark.slow
def test_saved_keras_file_keeps_its_weights_without_pretraining(project):
    import importlib.util

    spec = importlib.util.spec_from_file_location("my_models", project / "my_models.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    keras.utils.set_random_seed(5)
    model = mod.residual_separable((8, 8, 1), 10)
    (project / "models").mkdir()
    model.save(project / "models" / "mine.keras")
    recipe = _recipe(project, "models/mine.keras", epochs=0)
    run = project / "run"
    assert main(["train", "--recipe", str(recipe), "--out", str(run)]) == 0
    pre = keras.models.load_model(run / "pretrained.keras", compile=False)
    x = np.random.default_rng(0).random((3, 8, 8, 1), dtype=np.float32)
    # the saved weights survive (softmax removed: logits of the saved model give the same argmax)
    assert np.array_equal(np.argmax(pre(x, training=False), -1), np.argmax(model(x, training=False), -1))
    kernels = [w for w in pre.get_weights() if w.ndim == 4]
    assert any(np.array_equal(k, model.layers[1].get_weights()[0]) for k in kernels)


def test_concatenate_is_refused_before_any_training(project, capsys):
    run = project / "run"
    assert main(["train", "--recipe", str(_recipe(project, "my_models:with_concat")), "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert "'merge' (Concatenate) cannot be sliced" in err and "full width would not work" in err
    assert "Traceback" not in err
    assert not (run / "pretrained.keras").exists()


def test_normalize_splits_separable_and_drops_final_softmax():
    keras.utils.set_random_seed(0)
    x = inp = keras.Input((7, 6, 3))
    x = L.SeparableConv2D(5, 3, strides=2, padding="same", activation="relu")(x)
    x = L.Flatten()(x)
    x = L.Dense(4, activation="softmax")(x)
    model = keras.Model(inp, x)
    norm = user_model.normalize(model)
    kinds = [type(layer).__name__ for layer in norm.layers]
    assert "SeparableConv2D" not in kinds and kinds.count("DepthwiseConv2D") == 1
    z = np.random.default_rng(1).random((2, 7, 6, 3), dtype=np.float32)
    logits = np.asarray(norm(z))
    np.testing.assert_allclose(keras.ops.softmax(logits).numpy(), np.asarray(model(z)), rtol=1e-5, atol=1e-6)
    assert [g.width for g in channel_groups(norm)] == [5]


def test_sequential_model_becomes_functional_with_the_same_outputs():
    keras.utils.set_random_seed(0)
    seq = keras.Sequential([keras.Input((8, 8, 1)), L.ZeroPadding2D(1), L.Conv2D(6, 3, activation="relu"),
                            L.MaxPooling2D(), L.Reshape((-1,)), L.Dense(16, activation="relu"), L.Dense(3)])
    norm = user_model.normalize(seq)
    assert not isinstance(norm, keras.Sequential)
    z = np.random.default_rng(2).random((2, 8, 8, 1), dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(seq(z)), np.asarray(norm(z)))
    groups = {g.name: g for g in channel_groups(norm)}
    assert sorted(g.width for g in groups.values()) == [6, 16]
    conv = next(g for g in groups.values() if g.width == 6)
    assert conv.consumers[0].kind == "flatten" and conv.consumers[0].positions == 16


@pytest.mark.parametrize("make, words", [
    (lambda x: L.LSTM(4)(L.Reshape((8, 8))(x)), "(LSTM) cannot be sliced: recurrent units"),
    (lambda x: L.GlobalMaxPooling2D()(L.Conv2D(4, 3)(x)), "REDUCE_MAX"),
    (lambda x: L.Flatten()(L.Conv2D(4, 3, activation="elu")(x)), "activation 'elu'"),
    (lambda x: L.Reshape((12, 24))(L.Conv2D(8, 3)(x)), "splits the channel axis"),
    (lambda x: L.Flatten()(L.Conv2D(4, 3, dilation_rate=2)(x)), "dilation"),
])
def test_unsliceable_layers_name_layer_type_and_reason(make, words):
    inp = keras.Input((8, 8, 1))
    model = keras.Model(inp, L.Dense(3)(make(inp)))
    with pytest.raises(UnsupportedLayerError, match=words.replace("(", r"\(").replace(")", r"\)")):
        channel_groups(model)


def test_custom_layer_is_refused_with_its_name():
    class Doubler(L.Layer):
        def call(self, x):
            return 2 * x

    inp = keras.Input((4,))
    model = keras.Model(inp, L.Dense(2)(Doubler(name="twice")(L.Dense(5)(inp))))
    with pytest.raises(UnsupportedLayerError, match=r"'twice' \(Doubler\).*custom layer"):
        channel_groups(model)


def test_inspect_keras_reports_groups_and_macs(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    assert main(["inspect-keras", "my_models:residual_separable", "--input-shape", "8,8,1", "--classes", "10",
                 "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [g["units"] for g in info["groups"]] == [10, 9]
    conv = next(r for r in info["layers"] if r["type"] == "Conv2D")
    assert conv["macs"] == 8 * 8 * 3 * 3 * 1 * 10
    assert info["macs"] == sum(r["macs"] for r in info["layers"])
    assert main(["inspect-keras", "my_models:with_concat", "--input-shape", "8,8,1", "--classes", "10"]) == 2
    assert "'merge' (Concatenate)" in capsys.readouterr().err


def test_every_refused_layer_is_named_as_the_user_wrote_it(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    assert main(["inspect-keras", "my_models:three_refusals", "--input-shape", "8,8,1", "--classes", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("reds: error:") == 1 and len(err.strip().splitlines()) == 1
    assert "3 layers cannot be used" in err
    for words in ("'sep' (SeparableConv2D): dilation", "'c_elu' (Conv2D): activation 'elu'",
                  "'gmp' (GlobalMaxPooling2D)"):
        assert words in err
    assert "sep_dw" not in err and "_pw" not in err
    spec = user_model.resolve_arch("my_models:three_refusals", project)
    with pytest.raises(UnsupportedLayerError) as info:
        user_model.load_arch(spec, (8, 8, 1), 3, project)
    assert [p.split("'")[1] for p in info.value.problems] == ["sep", "c_elu", "gmp"]


def test_a_separable_group_is_named_after_the_users_layer():
    x = inp = keras.Input((8, 8, 3))
    x = L.SeparableConv2D(6, 3, activation="relu", name="block1")(x)
    x = L.GlobalAveragePooling2D()(x)
    norm = user_model.normalize(keras.Model(inp, L.Dense(2)(x)))
    assert [g.name for g in channel_groups(norm)] == ["block1"]
    assert {layer.name for layer in norm.layers} >= {"block1", "block1_dw"}


def test_bad_arch_spellings_are_one_line_errors(project, capsys):
    for arch, words in (("not a model", "neither a zoo architecture"), ("missing.keras", "not found"),
                        ("no_such_module:build", "cannot import no_such_module")):
        assert main(["train", "--recipe", str(_recipe(project, f'"{arch}"')), "--out", str(project / "r")]) == 2
        assert words in capsys.readouterr().err
