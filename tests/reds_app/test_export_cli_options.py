"""`reds export` options: --out elsewhere leaves the run folder as it was; --symbol names the C
array; the run's own export and the inspect report agree with the plan."""
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


def test_inspect_names_the_layers_of_each_group(trained, capsys):
    capsys.readouterr()
    assert main(["inspect", str(trained / "run" / "model.tflite"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    plan = json.loads((trained / "run" / "plan.json").read_text())
    assert all(g["layers"] for g in info["groups"])
    for sub, planned in zip(info["subnets"], plan["subnets"]):
        assert sorted(sub["layer_widths"].values()) == sorted(planned["widths"].values())
