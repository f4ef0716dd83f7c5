"""`reds bench sched` on a board: the firmware's `reds-sched-*` commands driven by
reds_bench.measure.sched. Native (host build, gcc): every policy's decisions equal the Python
model's when it is fed the board's own inference ticks, each job's prediction equals TFLM's on
that job's sample and subnet, and bad input gets one-line errors. qemu_m4 (marked qemu): the run
is deterministic under -icount and a decision costs at most 100 instructions."""
from __future__ import annotations

import numpy as np
import pytest
from reds_bench.board.info import board_info
from reds_bench.measure import steps as measure
from reds_bench.errors import DeviceError
from reds_bench.board.factory import create_board
from reds_bench.measure.sched import bench_sched
from reds.sched.model import POLICIES

from paths import DEFAULT_MODEL as MODEL
from reds.runtime import golden


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    shape, dtype = golden.input_spec(MODEL.read_bytes())
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, size=(37, *shape[1:]), dtype=np.int8)
    y = rng.integers(0, 4, size=37)
    path = tmp_path_factory.mktemp("sched-data") / "set.npz"
    np.savez(path, x=x, y=y)
    return path, x, y


@pytest.fixture
def native(host_program, tmp_path):
    b = create_board("native", firmware=host_program, log_dir=tmp_path / "logs", timeout=30)
    yield b
    b.close()


def test_native_board_follows_the_rules(native, dataset, tmp_path):
    path, x, y = dataset
    # native ticks are ns: give a period that the host's inference easily fits
    doc = bench_sched("native", board=native, model=MODEL, dataset=path,
                      accuracy="0.9,0.8,0.7,0.6", jobs=60, period_us=200.0, window_us=50.0,
                      trace="bursty", windows=64, out=tmp_path / "out", plot=False)
    assert [p["policy"] for p in doc["policies"]] == list(POLICIES)
    assert doc["samples"] == 37
    info = board_info(native)
    goldens = {}
    for p in doc["policies"]:
        assert p["replay_matches"], f"{p['policy']}: board decisions differ from the model"
        rows = doc["measured_timelines"][p["policy"]]
        assert len(rows) == 60 and p["jobs"] == 60
        assert p["deadline_misses"] == sum(not r["met"] for r in rows)
        for r in rows[:12]:
            k = r["subnet"]
            if k not in goldens:
                goldens[k] = measure.golden_model(MODEL.read_bytes(), k, info)[0]
            if goldens[k] is None:
                continue
            out = np.frombuffer(golden.tflm_run(goldens[k], x[r["job"] % 37].tobytes()),
                                dtype=np.int8)
            assert r["prediction"] == int(np.argmax(out)), (p["policy"], r)
        correct = sum(r["prediction"] == int(y[r["job"] % 37]) for r in rows)
        assert p["accuracy"] == correct / 60
    assert any(g is not None for g in goldens.values())
    fixed = {p["policy"]: p for p in doc["policies"]}
    assert fixed["always-full"]["mean_subnet"] == 0
    assert fixed["always-smallest"]["mean_subnet"] == 3
    for name in ("json", "csv", "md"):
        assert (tmp_path / "out" / f"sched.{name}").exists()


def test_native_oracle_takes_the_most_accurate_subnet_that_fits(native, dataset, tmp_path):
    """Nested models are often more accurate at a narrower width (subnet 1 98.9 % vs subnet 0
    98.1 %): the board's oracle must take the most accurate subnet that meets the deadline, as
    the Python model does, not the widest."""
    path, x, y = dataset
    doc = bench_sched("native", board=native, model=MODEL, dataset=path,
                      accuracy="0.981,0.989,0.989,0.6", jobs=60, period_us=200.0,
                      window_us=50.0, trace="bursty", windows=64, policies=("oracle",),
                      plot=False)
    (entry,) = doc["policies"]
    assert entry["replay_matches"], "board decisions differ from the model for ['oracle']"
    subnets = {r["subnet"] for r in doc["measured_timelines"]["oracle"]}
    lat = doc["latency_ticks"]
    if lat[1] <= lat[0]:  # subnet 1 is more accurate and no slower: never subnet 0
        assert 0 not in subnets


def test_native_oracle_scores_one_per_subnet(native):
    with pytest.raises(DeviceError, match="one entry per subnet"):
        native.cmd("reds-sched-acc 3,2")
    assert native.kv("reds-sched-acc 1,4,3,2", "reds-sched-acc")["scores"] == "1,4,3,2"


@pytest.mark.parametrize("command,message", [
    ("reds-sched-trace add 5b", "load above 90 percent at window=0"),
    ("reds-sched-trace add 0a0", "hex of one byte per window"),
    ("reds-sched-trace add " + "00" * 250, None),
    ("reds-sched-table 1,2", "one entry per subnet"),
    ("reds-sched-table 5,0,3,2", "zero latency"),
    ("reds-sched-set period=-1", "bad setting period"),
    ("reds-sched-set policy=greedy", "bad setting policy"),
    ("reds-sched-run 0", "usage: reds-sched-run N"),
    ("reds-sched-cal 0", "usage: reds-sched-cal R"),
])
def test_native_bad_input_one_line(native, command, message):
    if message is None:
        native.cmd("reds-sched-trace clear")
        for _ in range(8):                       # 8 x 250 = 2000 windows fit
            native.cmd(command)
        with pytest.raises(DeviceError, match="trace too long"):
            native.cmd(command)
        return
    with pytest.raises(DeviceError, match=message) as e:
        native.cmd(command)
    assert "\n" not in e.value.message


def test_native_run_needs_setup(native):
    native.cmd("reds-sched-trace clear")
    with pytest.raises(DeviceError, match="no cost table"):
        native.cmd("reds-sched-run 5")
    native.cmd("reds-sched-table 5000,4000,3000,2000")
    with pytest.raises(DeviceError, match="no trace"):
        native.cmd("reds-sched-run 5")
    native.cmd("reds-sched-trace add 0a3c")
    native.cmd("reds-sched-set period=0")
    with pytest.raises(DeviceError, match="period, deadline and window must be > 0"):
        native.cmd("reds-sched-run 5")
    native.cmd("reds-sched-set period=10000 deadline=10000 window=39")
    with pytest.raises(DeviceError, match="window too short.*ticks=40"):
        native.cmd("reds-sched-run 5")
    native.cmd("reds-sched-set window=2500")
    for setting, message in [("policy=fixed fixed=4", "fixed subnet out of range: subnets=4"),
                             ("policy=deadline shift=9", "shift too large: max=8"),
                             ("shift=3 margin=262145", "margin too large"),
                             ("margin=0 cap=1073741824", "cap and reserve must stay below")]:
        native.cmd(f"reds-sched-set {setting}")
        with pytest.raises(DeviceError, match=message):
            native.cmd("reds-sched-run 5")
    native.cmd("reds-sched-set cap=0")
    assert native.kv("reds-sched-run 5", "reds-sched-summary")["jobs"] == 5


@pytest.mark.qemu
def test_qemu_m4_deterministic_and_cheap(firmware_program, dataset, tmp_path):
    path, x, y = dataset
    fw = firmware_program("qemu_m4")
    docs, table, energy = [], None, None
    for i in range(2):
        with create_board("qemu_m4", firmware=fw, log_dir=tmp_path / f"l{i}") as b:
            docs.append(bench_sched("qemu_m4", board=b, model=MODEL, dataset=path,
                                    accuracy="0.9,0.8,0.7,0.6", jobs=80, windows=256,
                                    trace="step", table=table, table_energy=energy,
                                    policies=("deadline", "deadline+energy", "always-full",
                                              "oracle"), plot=False))
            table = docs[0]["latency_ticks"]        # the second boot runs the same table
            energy = docs[0]["energy_nj"]
    a, b = docs
    assert a["timing"] == "table"
    for rows_a, rows_b in zip(a["measured_timelines"].values(), b["measured_timelines"].values()):
        # -icount: same decisions, timeline and predictions; an inference's own ticks may
        # differ by the one-tick quantization of SysTick
        strip = lambda rows: [{k: v for k, v in r.items() if k != "work"} for r in rows]  # noqa
        assert strip(rows_a) == strip(rows_b)
        assert all(abs(x["work"] - y["work"]) <= 1 for x, y in zip(rows_a, rows_b))
    for p in a["policies"]:
        lo, hi = p["work_minus_table_ticks"]
        assert -2 <= lo <= hi <= 2, p             # the table is what the board really takes
    for p in a["policies"]:
        assert p["replay_matches"], p["policy"]
        if p["policy"] != "oracle":
            assert p["decision_instructions"] <= 100, p
            assert p["decision_instructions_worst"] <= 100, p
    full = next(p for p in a["policies"] if p["policy"] == "always-full")
    assert full["miss_rate"] >= 0.2          # the auto period makes the heavy half hurt


def test_native_board_accuracy_source(native, dataset):
    path, x, y = dataset
    # two passes over the 37 samples: a fixed policy's on-device accuracy must equal the
    # per-subnet accuracy the board measured for the simulation
    doc = bench_sched("native", board=native, model=MODEL, dataset=path, jobs=74,
                      period_us=200.0, window_us=50.0, windows=64,
                      policies=("always-full", "always-smallest"), plot=False)
    assert doc["accuracy_source"] == "board"
    for p in doc["policies"]:
        assert p["accuracy"] == pytest.approx(p["simulated_accuracy"])
    assert doc["subnet_accuracy"][0] == doc["policies"][0]["accuracy"]


def test_run_dir_sources_by_default(native, dataset, tmp_path):
    """No accuracy source given: the run's metrics.json and holdout.npz beside the model."""
    import json
    import shutil

    path, x, y = dataset
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(MODEL, run / "model.tflite")
    shutil.copy(path, run / "holdout.npz")
    acc = [0.9, 0.85, 0.8, 0.7]
    (run / "metrics.json").write_text(json.dumps(
        {"subnets": [{"subnet": k, "device_accuracy": a} for k, a in enumerate(acc)]}))
    doc = bench_sched("native", board=native, model=run / "model.tflite", jobs=20,
                      period_us=200.0, window_us=50.0, windows=64,
                      policies=("always-full",), plot=False)
    assert doc["accuracy_source"] == str(run / "metrics.json")
    assert doc["dataset"] == str(run / "holdout.npz") and doc["samples"] == 37
    assert doc["subnet_accuracy"] == acc
    assert doc["policies"][0]["accuracy"] is not None      # scored on the holdout's labels


def test_demo_step_writes_run_dir_outputs(host_program, dataset, tmp_path):
    import json
    import shutil

    from reds_bench.measure.sched import demo_step

    path, x, y = dataset
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(MODEL, run / "model.tflite")
    shutil.copy(path, run / "holdout.npz")
    (run / "metrics.json").write_text(json.dumps(
        {"subnets": [{"subnet": k, "device_accuracy": a} for k, a in
                     enumerate([0.9, 0.85, 0.8, 0.7])]}))
    doc = demo_step(run, target="native", firmware=host_program)
    saved = json.loads((run / "sched" / "sched.json").read_text())
    assert saved["policies"] == doc["policies"] and len(doc["policies"]) == 7
    assert saved["subnet_accuracy"] == [0.9, 0.85, 0.8, 0.7]
    assert (run / "sched" / "sched.png").exists() and (run / "sched" / "sched.md").exists()
