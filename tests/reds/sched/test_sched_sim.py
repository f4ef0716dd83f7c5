"""Traces, the task model, the simulator's baselines and `reds sched simulate` (CliRunner)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from reds.sched import traces as tr
from reds_app.commands.sched import sched
from reds.sched.model import (
    SchedulerError, Task, advance, recent_load_q16, run_jobs, simulate, stolen)

LAT = [13000, 10500, 7500, 4200]
ACC = [0.996, 0.993, 0.974, 0.959]


def test_advance_by_hand():
    loads = [50, 0]                       # window 100: first 50 ticks of even windows taken
    assert advance(0, 10, loads, 100) == 60        # waits for the interrupt, then runs
    assert advance(60, 40, loads, 100) == 100
    assert advance(60, 41, loads, 100) == 101      # odd window is free
    assert advance(150, 100, loads, 100) == 300    # 50 in window 1, 50 after the busy 200..250
    assert stolen(0, 300, loads, 100) == 100
    assert recent_load_q16(250, loads, 100) == 65536 // 2


def test_trace_kinds_and_bounds():
    assert tr.steady(5, 30) == [30] * 5
    assert tr.step(4, 10, 60) == [10, 10, 60, 60]
    assert tr.sawtooth(6, 0, 50, 3) == [0, 25, 50, 0, 25, 50]
    b1, b2 = tr.bursty(2048, seed=7), tr.bursty(2048, seed=7)
    assert b1 == b2 and set(b1) == {10, 60} and b1 != tr.bursty(2048, seed=8)
    assert tr.to_hex([0, 90, 16]) == "005a10"
    with pytest.raises(SchedulerError, match="window 1: load 91"):
        tr.to_hex([0, 91])
    with pytest.raises(SchedulerError, match="at most 2048"):
        tr.steady(2049)
    with pytest.raises(SchedulerError, match="unknown trace 'spiky'"):
        tr.make_trace("spiky", 10)


def test_csv_trace(tmp_path):
    good = tmp_path / "t.csv"
    good.write_text("# my trace\nwindow,load_percent\n0,10\n1,60\n\n2,0\n")
    assert tr.read_csv(good) == [10, 60, 0]
    bad = tmp_path / "bad.csv"
    bad.write_text("load_percent\n10\nhigh\n")
    with pytest.raises(SchedulerError, match=r"bad.csv:3: load 'high' is not an integer"):
        tr.read_csv(bad)
    bad.write_text("10\n95\n")
    with pytest.raises(SchedulerError, match=r"bad.csv:2: load 95 outside 0..90"):
        tr.read_csv(bad)
    bad.write_text("# nothing\n")
    with pytest.raises(SchedulerError, match="no load values"):
        tr.read_csv(bad)
    with pytest.raises(SchedulerError, match="cannot read trace"):
        tr.read_csv(tmp_path / "missing.csv")


def test_baselines_and_oracle():
    loads = tr.bursty(2048, seed=0)
    task = Task(period=18000, deadline=18000, window=4500, jobs=400, hz=25_000_000)
    doc = simulate(LAT, ACC, loads, task)
    by = {p["policy"]: p for p in doc["policies"]}
    # the oracle never misses when the smallest subnet fits the worst load, and no online
    # policy that meets every deadline can beat its accuracy
    assert by["oracle"]["deadline_misses"] == 0
    for p in ("always-smallest", "static-best", "deadline"):
        if by[p]["deadline_misses"] == 0:
            assert by[p]["simulated_accuracy"] <= by["oracle"]["simulated_accuracy"] + 1e-12
    assert by["always-full"]["simulated_miss_rate"] >= 0.2
    assert by["always-full"]["simulated_accuracy"] == pytest.approx(ACC[0])
    assert by["always-smallest"]["mean_subnet"] == 3 and by["always-smallest"]["switches"] == 0
    # static-best: the widest subnet with no miss under the heaviest load held constant
    k = doc["static_best_subnet"]
    worst = [max(loads)]
    assert run_jobs("always", LAT, ACC, worst, task, fixed=k)["misses"] == 0
    if k > 0:
        assert run_jobs("always", LAT, ACC, worst, task, fixed=k - 1)["misses"] > 0
    # the deadline policy follows the load: far fewer misses than always-full, more accurate
    # than always-smallest
    assert by["deadline"]["deadline_misses"] < by["always-full"]["deadline_misses"] / 10
    assert by["deadline"]["simulated_accuracy"] > by["always-smallest"]["simulated_accuracy"]


def test_simulate_rejects_bad_task():
    with pytest.raises(SchedulerError, match="period must be a positive integer"):
        simulate(LAT, ACC, [0], Task(0, 10, 10, 10, 1000))
    with pytest.raises(SchedulerError, match="window 3 ticks too short"):
        simulate(LAT, ACC, [0], Task(1000, 1000, 3, 10, 1000))
    with pytest.raises(SchedulerError, match="3 accuracies for 4 subnets"):
        simulate(LAT, ACC[:3], [0], Task(10, 10, 10, 10, 1000))


def test_cli_simulate_writes_outputs(tmp_path):
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"subnets": [{"subnet": i, "int8_accuracy": a}
                                               for i, a in enumerate(ACC)]}))
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"latency": [{"subnet": i, "median_ticks": t}
                                               for i, t in enumerate(LAT)]}))
    out = tmp_path / "out"
    r = CliRunner().invoke(sched, ["simulate", "--latency", str(results), "--accuracy",
                                   str(metrics), "--jobs", "200", "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "sched.json").read_text())
    assert [p["policy"] for p in doc["policies"]] == ["deadline", "energy", "deadline+energy",
                                                     "always-full", "always-smallest",
                                                     "static-best", "oracle"]
    for p in doc["policies"]:
        assert set(p) >= {"policy", "jobs", "deadline_misses", "miss_rate", "accuracy",
                          "mean_subnet", "switches", "simulated_miss_rate",
                          "simulated_accuracy", "decision_instructions"}
        assert p["jobs"] == 200
    assert doc["period_us"] > 0 and doc["deadline_us"] > 0
    assert (out / "sched.png").stat().st_size > 1000
    assert (out / "sched.csv").read_text().count("\n") == 1 + 7 * 200
    assert "| oracle |" in (out / "sched.md").read_text()


@pytest.mark.parametrize("args,message", [
    (["--latency", "100,abc"], "latency ticks must be comma-separated integers"),
    (["--accuracy", "0.9,1.5,0.8,0.7"], "accuracies must be fractions in 0..1"),
    (["--accuracy", "0.9,0.8"], "4 latencies but 2 accuracies"),
    (["--trace", "nope"], "unknown trace 'nope'"),
    (["--margin", "9"], "margin 9.0 outside 0..4"),
    (["--jobs", "0"], "jobs must be a positive integer"),
    (["--latency", "missing.json"], "cannot read bench results missing.json"),
])
def test_cli_one_line_errors(args, message, capsys):
    from reds_app.cli import main

    base = {"--latency": "13000,10500,7500,4200", "--accuracy": "0.99,0.98,0.97,0.96"}
    for k, v in zip(args[::2], args[1::2]):
        base[k] = v
    argv = ["sched", "simulate", "--no-plot"] + [x for kv in base.items() for x in kv]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2  # expected failures exit 2, as the README promises for every command
    assert err.startswith("reds: error: ") and message in err and err.count("\n") == 1, err


def test_bench_sched_command_rejects_bad_trace_before_any_board(tmp_path, capsys):
    from reds_app.cli import main

    model = tmp_path / "m.tflite"
    model.write_bytes(b"\0" * 16)
    rc = main(["bench", "sched", str(model), "--target", "qemu_m4", "--out",
               str(tmp_path / "o"), "--trace", str(tmp_path / "none.csv")])
    err = capsys.readouterr().err
    assert rc == 2  # an expected failure, as every command reports one
    assert "cannot read trace" in err and err.count("\n") == 1, err
