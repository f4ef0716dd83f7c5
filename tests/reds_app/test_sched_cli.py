"""`reds sched simulate` and `reds bench sched` as a user meets them: every expected failure is one
line `reds: error: ...` and exit 2 (before any board starts), a board whose decisions differ from
the model is a failed check (exit 1), and `reds bench sched MODEL` finds the run's accuracy source
beside the model, as the README's command expects."""
from __future__ import annotations

import json

import numpy as np
import pytest

from reds.sched.model import SchedulerError
from reds.sched.traces import KINDS
from reds_app.cli import main
from reds_bench.errors import BenchError
from reds_bench.measure import sched as measure_sched

SIM = ["sched", "simulate", "--latency", "13000,10500,7500,4200", "--accuracy",
       "0.99,0.98,0.97,0.96", "--no-plot", "--jobs", "50"]


@pytest.fixture
def no_board(monkeypatch):
    """Fails the test if a board would start (the checks must come first)."""
    import reds_bench.board.factory as factory

    def refuse(*a, **k):
        raise AssertionError("a board was started before the arguments were checked")

    monkeypatch.setattr(factory, "create_board", refuse)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("reds: error: ") and err.count("\n") == 1, err
    return err


def _run_dir(tmp_path, metrics: bool = True, holdout: bool = True):
    run = tmp_path / "runs" / "demo"
    run.mkdir(parents=True)
    model = run / "model.tflite"
    model.write_bytes(b"\0" * 16)
    if metrics:   # as reds demo writes it: per-subnet rows with int8 and device accuracy
        (run / "metrics.json").write_text(json.dumps({"subnets": [
            {"subnet": k, "int8_accuracy": a, "device_accuracy": a}
            for k, a in enumerate([0.9, 0.85, 0.8, 0.7])]}))
    if holdout:
        np.savez(run / "holdout.npz", x=np.zeros((3, 4), np.int8), y=np.zeros(3, np.int64))
    return run, model


# ---------------------------------------------------------------------------- exit codes

def test_simulate_bad_trace_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("load_percent\n10\n95\n")
    assert main(SIM + ["--trace", str(bad)]) == 2
    assert "bad.csv:3: load 95 outside 0..90" in _one_error_line(capsys)


def test_simulate_unknown_trace_name_exits_2_and_suggests(capsys):
    assert main(SIM + ["--trace", "Bursty"]) == 2
    err = _one_error_line(capsys)
    assert "unknown trace 'Bursty'" in err and "did you mean 'bursty'" in err
    assert all(kind in err for kind in KINDS)


def test_simulate_missing_latency_file_exits_2(tmp_path, capsys):
    argv = list(SIM)
    argv[argv.index("--latency") + 1] = str(tmp_path / "results.json")
    assert main(argv) == 2
    assert "cannot read bench results" in _one_error_line(capsys)


def test_bench_sched_unknown_trace_exits_2_before_a_board(tmp_path, capsys, no_board):
    run, model = _run_dir(tmp_path)
    rc = main(["bench", "sched", str(model), "--out", str(tmp_path / "o"), "--trace", "Bursty"])
    assert rc == 2
    assert "did you mean 'bursty'" in _one_error_line(capsys)


def test_bench_sched_without_accuracy_source_exits_2_before_a_board(tmp_path, capsys,
                                                                   no_board):
    run, model = _run_dir(tmp_path, metrics=False, holdout=False)
    rc = main(["bench", "sched", str(model), "--target", "qemu_m4", "--out",
               str(tmp_path / "o")])
    assert rc == 2
    err = _one_error_line(capsys)
    assert "no accuracy source" in err and "--accuracy" in err and "--dataset" in err
    assert "metrics.json" in err and "holdout.npz" in err     # where it looked


@pytest.mark.parametrize("args,message", [
    (["--accuracy", "{tmp}/none.json"], "cannot read metrics"),
    (["--accuracy", "board"], "--accuracy board measures each subnet"),
    (["--dataset", "{tmp}/junk.npz"], "is not an .npz with arrays x and y"),
    (["--accuracy", "0.9,0.8", "--jobs", "0"], "jobs 0 outside"),
    (["--accuracy", "0.9,0.8", "--margin", "7"], "margin 7.0 outside 0..4"),
])
def test_bench_sched_bad_input_exits_2_before_a_board(tmp_path, capsys, no_board, args,
                                                      message):
    run, model = _run_dir(tmp_path, metrics=False, holdout=False)
    (tmp_path / "junk.npz").write_text("not an npz")
    argv = ["bench", "sched", str(model), "--out", str(tmp_path / "o")]
    assert main(argv + [a.format(tmp=tmp_path) for a in args]) == 2
    assert message in _one_error_line(capsys)


def test_bench_sched_board_error_exits_2(tmp_path, capsys, monkeypatch):
    run, model = _run_dir(tmp_path, metrics=False, holdout=False)

    def board_fails(*a, **k):
        raise BenchError("board rejected 'reds-sched-cal 3': no model loaded")

    monkeypatch.setattr(measure_sched, "bench_sched", board_fails)
    rc = main(["bench", "sched", str(model), "--out", str(tmp_path / "o"), "--accuracy",
               "0.9,0.8,0.7,0.6"])
    assert rc == 2
    assert "board rejected 'reds-sched-cal 3'" in _one_error_line(capsys)


def test_bench_sched_replay_mismatch_is_a_failed_check(tmp_path, capsys, monkeypatch):
    run, model = _run_dir(tmp_path)

    def mismatch(target, *, out, **k):
        (tmp_path / "o" / "sched.md").write_text("| policy |\n")
        return {"policies": [{"policy": "deadline", "replay_matches": False},
                             {"policy": "oracle", "replay_matches": True}]}

    monkeypatch.setattr(measure_sched, "bench_sched", mismatch)
    assert main(["bench", "sched", str(model), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "check failed: board decisions differ from the model for ['deadline']" in err


# ---------------------------------------------------------------------------- sources

def test_run_sources_take_the_run_files_beside_the_model(tmp_path):
    run, model = _run_dir(tmp_path)
    src = measure_sched.run_sources(model)
    assert src.dataset == str(run / "holdout.npz")
    assert src.accuracy == str(run / "metrics.json")
    assert len(src.notes) == 2 and all(str(run) in n for n in src.notes)


def test_run_sources_holdout_only_measures_accuracy_on_the_board(tmp_path):
    run, model = _run_dir(tmp_path, metrics=False)
    src = measure_sched.run_sources(model)
    assert (src.dataset, src.accuracy) == (str(run / "holdout.npz"), "board")


def test_run_sources_metrics_only(tmp_path):
    run, model = _run_dir(tmp_path, holdout=False)
    src = measure_sched.run_sources(model)
    assert (src.dataset, src.accuracy) == (None, str(run / "metrics.json"))


def test_run_sources_given_flags_win(tmp_path):
    run, model = _run_dir(tmp_path)
    other = tmp_path / "other.npz"
    src = measure_sched.run_sources(model, dataset=other)
    assert (src.dataset, src.accuracy, src.notes) == (str(other), "board", [])
    src = measure_sched.run_sources(model, dataset=other, accuracy="0.9,0.8,0.7,0.6")
    assert (src.dataset, src.accuracy, src.notes) == (str(other), "0.9,0.8,0.7,0.6", [])


def test_run_sources_nothing_names_the_flags(tmp_path):
    run, model = _run_dir(tmp_path, metrics=False, holdout=False)
    with pytest.raises(SchedulerError, match="--accuracy .* --dataset"):
        measure_sched.run_sources(model)
    with pytest.raises(SchedulerError, match="--accuracy board .* give --dataset"):
        measure_sched.run_sources(model, accuracy="board")


def test_readme_bench_sched_command_uses_the_run_dir(tmp_path, capsys, monkeypatch):
    """README: `reds bench sched runs/demo/model.tflite --target qemu_m4 --out runs/sched`."""
    run, model = _run_dir(tmp_path)
    seen = {}

    def fake_bench(target, *, out, **kwargs):
        seen.update(kwargs, target=target)
        (tmp_path / "runs" / "sched" / "sched.md").write_text("| policy |\n")
        return {"policies": [{"policy": "deadline", "replay_matches": True}]}

    monkeypatch.setattr(measure_sched, "bench_sched", fake_bench)
    monkeypatch.chdir(tmp_path)
    rc = main(["bench", "sched", "runs/demo/model.tflite", "--target", "qemu_m4", "--out",
               "runs/sched"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert seen["dataset"] == "runs/demo/holdout.npz"
    assert seen["accuracy"] == "runs/demo/metrics.json"
    # says which files it took
    assert "note: " in err and "runs/demo/metrics.json" in err and "runs/demo/holdout.npz" in err
