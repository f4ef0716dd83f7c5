"""`reds export` options: --out elsewhere leaves the run folder as it was and carries a card;
--symbol names the C array; --standalone from the exported file keeps the class names; the
run's own export and the inspect report agree with the plan, group names included."""
from __future__ import annotations

import json

import pytest

from reds_app.cli import main

from test_train_export_cli import RECIPE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("export_opts")
    (d / "recipe.yaml").write_text(RECIPE)
    assert main(["train", "--recipe", str(d / "recipe.yaml"), "--out", str(d / "run")]) == 0
    assert main(["export", str(d / "run")]) == 0
    return d


def test_export_elsewhere_leaves_the_run_folder_alone(trained, tmp_path):
    run = trained / "run"
    names = ("config.json", "calibration.json", "model.tflite", "model_data.c", "metrics.json")
    before = {n: (run / n).read_bytes() for n in names}
    out = tmp_path / "new_dir" / "other.tflite"  # its folder does not exist yet
    assert main(["export", str(run), "--out", str(out), "--c-array", str(tmp_path / "c" / "m.c"),
                 "--symbol", "kws_model"]) == 0
    assert out.stat().st_size > 0
    assert {n: (run / n).read_bytes() for n in names} == before
    header = (tmp_path / "c" / "m.h").read_text()
    assert "extern const uint8_t kws_model[];" in header and "KWS_MODEL_CRC32" in header
    assert "reds_default_model" not in (tmp_path / "c" / "m.c").read_text()


def test_inspect_names_the_groups_as_the_plan_does(trained, capsys):
    capsys.readouterr()
    assert main(["inspect", str(trained / "run" / "model.tflite"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    plan = json.loads((trained / "run" / "plan.json").read_text())
    assert all(g["layers"] for g in info["groups"])
    assert [g["name"] for g in info["groups"]] == list(plan["subnets"][0]["widths"])
    for sub, planned in zip(info["subnets"], plan["subnets"]):
        assert list(sub["layer_widths"].items()) == list(planned["widths"].items())


def test_export_elsewhere_carries_its_card(trained, tmp_path, capsys):
    run = trained / "run"
    out = tmp_path / "m.tflite"
    assert main(["export", str(run), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    metrics = json.loads((run / "metrics.json").read_text())
    plan = json.loads((run / "plan.json").read_text())
    assert info["class_names"] == metrics["dataset"]["class_names"]
    assert [g["name"] for g in info["groups"]] == list(plan["subnets"][0]["widths"])
    assert all(s.get("int8_accuracy") is not None for s in info["subnets"])


def test_standalone_subnets_from_the_exported_file_keep_the_class_names(trained, tmp_path):
    from reds.runtime.inspect import load_card, parameter_bytes

    run = trained / "run"
    assert main(["export", str(run / "model.tflite"), "--standalone", str(tmp_path / "sa")]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    for k, row in enumerate(metrics["subnets"]):
        path = tmp_path / "sa" / f"subnet{k}.tflite"
        card = load_card(path)
        assert card["dataset"]["class_names"] == metrics["dataset"]["class_names"]
        assert card["subnets"][0]["int8_accuracy"] == row["int8_accuracy"]
        assert parameter_bytes(path.read_bytes()) > 0


def test_export_works_under_a_spinner(trained, tmp_path, monkeypatch):
    from reds_app import quiet

    calls = []

    def spinner(text, enabled=None, console=None):
        import contextlib

        calls.append((text, enabled))
        return contextlib.nullcontext()

    monkeypatch.setattr(quiet, "working", spinner)
    assert main(["export", str(trained / "run"), "--out", str(tmp_path / "m.tflite")]) == 0
    assert len(calls) == 1 and calls[0][1] is None  # drawn when stderr is a terminal
