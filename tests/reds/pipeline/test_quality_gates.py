"""Quality gates: a plan or an accuracy that makes no sense is a warning line, journaled in
steps.jsonl and listed in report.md, never a silent ✓."""
from __future__ import annotations

import io
import json


from reds.pipeline.steps import Config, Pipeline, accuracy_warnings, plan_warnings
from reds_app.cli import main
from paths import MODELS


def test_plan_cli_warns_about_one_channel_layers(capsys):
    # magnitude scores on an untrained DS-CNN-L squeeze conv1 to one channel at 50 % and 25 %
    assert main(["plan", "--arch", "ds_cnn_l", "--input-shape", "49,10,1", "--classes", "12"]) == 0
    err = capsys.readouterr().err
    assert "reds: warning: subnet 2 (50 %): width 1 in conv1" in err
    assert "subnet 3 (25 %): width 1 in conv1" in err


def _doc(*widths):
    return {"subnets": [{"budget": b, "widths": dict(zip("ab", w))}
                        for b, w in zip((1.0, 0.75, 0.5), widths)]}


def test_plan_warnings_name_identical_neighbours_and_nothing_else():
    lines = plan_warnings(_doc((8, 8), (6, 8), (6, 8)))
    assert len(lines) == 1 and "subnet 2 (50 %) is identical to subnet 1" in lines[0]
    assert plan_warnings(_doc((8, 8), (6, 8), (4, 4))) == []


def test_accuracy_warnings_catch_chance_level():
    lines = accuracy_warnings("int8", [0.99, 0.95, 0.104], 270, 10)
    assert len(lines) == 1 and lines[0].startswith("subnet 2: int8 accuracy 10.4 % on 270 samples")
    assert accuracy_warnings("float", [0.62], 100, 2) == []  # clearly above 50 % chance


def test_accuracy_warnings_catch_a_subnet_far_below_the_full_model():
    # the your-model walkthrough's 25 % subnet: 30 % on 10 classes, full model 95 %
    lines = accuracy_warnings("float", [0.95, 0.93, 0.30], 270, 10)
    assert len(lines) == 1 and lines[0].startswith("subnet 2: float accuracy 30.0 %")
    assert "half of the full model's gain over chance" in lines[0]
    assert accuracy_warnings("float", [0.95, 0.90, 0.60], 270, 10) == []  # keeps most of it


def test_pretraining_at_chance_is_a_warning(tmp_path, monkeypatch):
    from rich.console import Console

    from reds.train import finetune

    # the step's own evaluation reports chance (what `--fast` pretraining gave: 10 % on digits)
    monkeypatch.setattr(finetune, "evaluate_subnets", lambda *a, **k: [0.25])
    buf = io.StringIO()
    cfg = Config(arch="dnn_s", dataset={"name": "synthetic", "input_shape": [4, 4, 1], "num_classes": 4,
                                        "train": 32, "val": 8, "test": 40}, pretrain_epochs=0)
    pipe = Pipeline(cfg, tmp_path, console=Console(file=buf, width=200, soft_wrap=True))
    pipe.run_steps(["pretrain"])
    rec = json.loads((tmp_path / "steps.jsonl").read_text().splitlines()[0])
    assert rec["warnings"] and rec["warnings"][0].startswith("the pretrained model: float accuracy")
    assert "warning pretrain: the pretrained model" in buf.getvalue()


class _Gated(Pipeline):
    def step_plan(self):
        self.warn("subnet 1 (75 %) is identical to subnet 0")
        return "planned", None


def test_step_warnings_are_printed_journaled_and_reported(tmp_path):
    from rich.console import Console

    from reds.pipeline.rundir import RunDir
    from reds_app.report import write_demo_report

    buf = io.StringIO()
    pipe = _Gated(Config(arch="dnn_s", dataset={"name": "digits"}), tmp_path,
                  console=Console(file=buf, width=200, soft_wrap=True))
    pipe.run_steps(["plan"])
    printed = buf.getvalue()
    assert "warning plan: subnet 1 (75 %) is identical to subnet 0" in printed
    rec = json.loads((tmp_path / "steps.jsonl").read_text().splitlines()[0])
    assert rec["warnings"] == ["subnet 1 (75 %) is identical to subnet 0"]

    (tmp_path / "plan.json").write_text(json.dumps(
        {"arch": "dnn_s", "subnets": [{"budget": 1.0, "macs": 10, "widths": {"g0": 4}}]}))
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"subnets": [{"subnet": 0, "macs": 10, "float_accuracy": 0.5}], "samples": {"float": 360}}))
    text = write_demo_report(RunDir(tmp_path), "native").read_text()
    assert "## Warnings" in text and "**plan**: subnet 1 (75 %) is identical" in text
    assert "float acc (n=360)" in text


def test_step_line_is_not_wrapped_in_a_pipe(tmp_path, capsys):
    from reds_app.commands.common import stderr_console as _console

    con = _console()  # stderr is captured: not a terminal
    con.print("✓ pretrain   " + "x" * 150)
    err = capsys.readouterr().err
    assert err.count("\n") == 1


def test_failed_train_leaves_no_config_and_data_dir_is_an_option(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("REDS_DATA_DIR", raising=False)

    recipe = MODELS / "kws_ds_cnn_s" / "recipe.yaml"  # tells users to pass --data-dir
    assert "--data-dir" in recipe.read_text()
    empty = tmp_path / "empty"
    empty.mkdir()
    run = tmp_path / "run"
    assert main(["train", "--recipe", str(recipe), "--out", str(run), "--data-dir", str(empty)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("reds: error:") and str(empty) in err
    assert not (run / "config.json").exists()


def test_demo_report_puts_planned_cost_beside_measured(tmp_path):
    from reds.pipeline.rundir import RunDir
    from reds_app.report import write_demo_report

    (tmp_path / "plan.json").write_text(json.dumps({"arch": "dnn_s", "cost_unit": "instructions", "subnets": [
        {"budget": 1.0, "macs": 100, "cost_fraction": 1.0, "widths": {"g0": 8}},
        {"budget": 0.5, "macs": 60, "cost_fraction": 0.5, "widths": {"g0": 4}}]}))
    (tmp_path / "metrics.json").write_text(json.dumps({"subnets": [{"subnet": 0, "macs": 100}, {"subnet": 1, "macs": 60}]}))
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "results.json").write_text(json.dumps({
        "units": {"latency": "instructions"},
        "latency": [{"subnet": 0, "median_instructions": 2000}, {"subnet": 1, "median_instructions": 1040}]}))
    text = write_demo_report(RunDir(tmp_path), "qemu_m4").read_text()
    assert "planned instructions / full | measured cost / full" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("| 1 |"))
    assert "| 0.50 | 0.52 |" in row
