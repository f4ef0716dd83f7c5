"""`reds inspect` and `reds inspect-keras` as a newcomer reads them: refusals that say what to
do, tables that never cut a name, one naming of channel groups, flags named when missing."""
from __future__ import annotations

import json
import shutil
import textwrap

import numpy as np
import pytest
from paths import DEFAULT_MODEL

from reds.errors import UnsupportedOpError
from reds_app.cli import main

LONG = "a_separable_block_whose_name_is_longer_than_eighty_columns_of_a_pipe_or_file_xyz"

BUILDERS = textwrap.dedent(f'''
    import keras
    L = keras.layers

    def long_names(input_shape, classes):
        x = inp = keras.Input(input_shape)
        x = L.Conv2D(8, 3, padding="same", activation="relu", name="first_convolution_of_the_stem")(x)
        x = L.SeparableConv2D(12, 3, padding="same", activation="relu", name="{LONG}")(x)
        x = L.GlobalAveragePooling2D()(x)
        return keras.Model(inp, L.Dense(classes, name="logits_of_the_classifier_head")(x))
''')


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "long_named_models.py").write_text(BUILDERS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def dynamic_batch_model(tmp_path_factory):
    """A stock Keras model converted as it comes: input shape (None, 8, 8, 1)."""
    import keras

    from reds.export.convert import to_int8_tflite

    L = keras.layers
    x = inp = keras.Input((8, 8, 1))
    x = L.Conv2D(4, 3, activation="relu")(x)
    model = keras.Model(inp, L.Dense(3)(L.Flatten()(x)))
    calib = np.random.default_rng(0).random((16, 8, 8, 1), dtype=np.float32)
    path = tmp_path_factory.mktemp("dyn") / "dyn.tflite"
    path.write_bytes(to_int8_tflite(model, calib, check_ops=False))
    return path


def test_a_dynamic_batch_refusal_says_to_convert_with_a_batch_of_1(dynamic_batch_model, tmp_path, capsys):
    from reds.tflite.groups import check_supported

    assert main(["inspect", str(dynamic_batch_model), "--json"]) == 0
    reason = json.loads(capsys.readouterr().out)["runtime"]["reason"]
    assert "SHAPE" in reason and "batch of 1" in reason and "keras.Input(shape, batch_size=1)" in reason
    np.save(tmp_path / "x.npy", np.zeros((1, 8, 8, 1), np.int8))
    assert main(["exec", str(dynamic_batch_model), "--input", str(tmp_path / "x.npy"),
                 "--output", str(tmp_path / "y.npy")]) == 2
    assert "keras.Input(shape, batch_size=1)" in capsys.readouterr().err
    with pytest.raises(UnsupportedOpError, match=r"dynamic batch.*batch_size=1"):
        check_supported(dynamic_batch_model.read_bytes())


def test_a_fixed_batch_model_gets_no_batch_hint(capsys):
    from reds.tflite.groups import dynamic_batch_hint

    assert dynamic_batch_hint(DEFAULT_MODEL.read_bytes()) == ""


def test_inspect_keras_tables_keep_whole_names_in_a_pipe(project, capsys):
    assert main(["inspect-keras", "long_named_models:long_names", "--input-shape", "8,8,1", "--classes", "5"]) == 0
    out = capsys.readouterr().out
    for name in (LONG, f"{LONG}_dw", "first_convolution_of_the_stem", "logits_of_the_classifier_head"):
        assert name in out, name
    assert "…" not in out


def test_a_builder_without_input_shape_names_the_flag(project, capsys):
    assert main(["inspect-keras", "long_named_models:long_names", "--classes", "5"]) == 2
    err = capsys.readouterr().err
    assert "--input-shape" in err and "--classes" not in err.split("give")[1].split("(")[0]
    assert main(["inspect-keras", "long_named_models:long_names"]) == 2
    assert "give --input-shape and --classes" in capsys.readouterr().err


def _inspect(path, capsys) -> dict:
    capsys.readouterr()
    assert main(["inspect", str(path), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_group_names_come_from_the_card_in_metadata_order(tmp_path, capsys):
    model = tmp_path / "m.tflite"
    shutil.copy(DEFAULT_MODEL, model)
    plain = _inspect(model, capsys)
    assert plain["group_names_from"] == "converter"
    # the converter's spelling of the producing Dense layers (fc1, fc2: reds_bench.board.default_model)
    assert [g["name"][:3] for g in plain["groups"]] == ["fc1", "fc2"]
    names = [f"{LONG}_{i}" for i in range(len(plain["groups"]))]
    (tmp_path / "m.card.json").write_text(json.dumps({"groups": names}))
    info = _inspect(model, capsys)
    assert info["group_names_from"] == "card" and [g["name"] for g in info["groups"]] == names
    for row, before in zip(info["subnets"], plain["subnets"]):
        assert list(row["layer_widths"]) == names
        assert list(row["layer_widths"].values()) == list(before["widths"].values())
    capsys.readouterr()
    assert main(["inspect", str(model)]) == 0  # text: whole names in a pipe
    out = capsys.readouterr().out
    assert all(f"{n}=" in out for n in names)


def test_a_run_folder_names_groups_by_its_plan(tmp_path, capsys):
    model = tmp_path / "model.tflite"
    shutil.copy(DEFAULT_MODEL, model)
    widths = _inspect(model, capsys)["subnets"]
    plan = {"subnets": [{"widths": {"hidden": r["widths"]["g0"], "bottleneck": r["widths"]["g1"]}}
                        for r in widths]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    (tmp_path / "metrics.json").write_text(json.dumps({"subnets": [{"subnet": 0, "int8_accuracy": 0.5}]}))
    info = _inspect(model, capsys)
    assert [g["name"] for g in info["groups"]] == ["hidden", "bottleneck"]
    assert [r["layer_widths"] for r in info["subnets"]] == [p["widths"] for p in plan["subnets"]]
