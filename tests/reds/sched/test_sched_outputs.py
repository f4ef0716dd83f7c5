"""What the scheduler commands hand back: traces as the user wrote or named them (a CSV without a
header, whole sawtooth teeth, a wrapped step said out loud), the timeline plot (every policy,
distinct labels, every value on the axes, measured or simulated) and the sched.md table."""
from __future__ import annotations

import re

import pytest

from reds.sched import report, traces as tr
from reds.sched.model import POLICIES, SchedulerError, Task, simulate

LAT = [13000, 10500, 7500, 4200]
ACC = [0.996, 0.993, 0.974, 0.959]


# ---------------------------------------------------------------------------- traces

@pytest.mark.parametrize("text,loads", [
    ("0,10\n1,60\n2,0\n", [10, 60, 0]),                       # no header: every row is data
    ("10\n60\n", [10, 60]),
    ("window,load_percent\n0,10\n1,60\n", [10, 60]),          # a named first row is the header
    ("load_percent\n10\n60\n", [10, 60]),
    ("# comment first\n\n0,25\n1,30\n", [25, 30]),
])
def test_csv_header_is_decided_by_content(tmp_path, text, loads):
    path = tmp_path / "t.csv"
    path.write_text(text)
    assert tr.read_csv(path) == loads


def test_csv_first_row_of_numbers_is_never_dropped(tmp_path):
    # `0,10.5` is data with a non-integer load: refused on its line, not taken for a header
    path = tmp_path / "t.csv"
    path.write_text("0,10.5\n1,20\n")
    with pytest.raises(SchedulerError, match=r"t.csv:1: load '10.5' is not an integer"):
        tr.read_csv(path)


@pytest.mark.parametrize("windows", [200, 399, 450, 2048])
def test_sawtooth_is_whole_teeth(windows):
    ramp, low, high = 200, 0, 70
    loads = tr.sawtooth(windows, low, high, ramp)
    teeth = windows // ramp
    assert len(loads) == teeth * ramp
    tooth = loads[:ramp]
    assert tooth[0] == low and tooth[-1] == high and tooth == sorted(tooth)
    assert loads == tooth * teeth            # so the cyclic trace repeats without a seam
    assert tr.make_trace("sawtooth", windows) == loads


def test_sawtooth_shorter_than_one_tooth_is_refused():
    with pytest.raises(SchedulerError, match="sawtooth needs at least 200 windows"):
        tr.make_trace("sawtooth", 150)


@pytest.mark.parametrize("name,near", [("Bursty", "bursty"), ("STEP", "step"),
                                       ("burst", "bursty")])
def test_unknown_trace_names_the_choices(name, near):
    with pytest.raises(SchedulerError) as e:
        tr.make_trace(name, 64)
    msg = str(e.value)
    assert f"unknown trace {name!r}" in msg and f"did you mean {near!r}" in msg
    assert all(kind in msg for kind in tr.KINDS)


def _task(jobs: int) -> Task:
    # four windows per period: the run needs 4 windows per job
    return Task(period=25000, deadline=25000, window=6250, jobs=jobs, hz=25_000_000)


def test_step_wrap_is_explicit():
    loads = tr.make_trace("step", 64)
    assert loads[0] == 10 and loads[-1] == 60
    doc = simulate(LAT, ACC, loads, _task(40), policies=("deadline",))
    assert doc["trace_windows"] == 64 and doc["run_windows"] > 39 * 4   # job 39 is released in window 156
    note = report.trace_note(doc)
    # 64 windows of 6250 ticks end at job 64 / 4 = 16: the load is back at the first window's
    assert note is not None and "about job 16" in note and "load 10 %" in note
    short = simulate(LAT, ACC, loads, _task(12), policies=("deadline",))
    assert short["run_windows"] <= 64 and report.trace_note(short) is None
    steady = simulate(LAT, ACC, tr.make_trace("steady", 64), _task(40), policies=("deadline",))
    assert report.trace_note(steady) is None          # a constant load cannot change on a wrap


# ---------------------------------------------------------------------------- the plot

@pytest.fixture(scope="module")
def sim_doc():
    task = Task(period=18000, deadline=18000, window=4500, jobs=300, hz=25_000_000)
    return simulate(LAT, ACC, tr.bursty(2048, seed=0), task, trace="bursty")


def _labels(ax):
    return [h.get_label() for h in ax.get_legend().legend_handles]


def test_plot_has_every_policy_and_distinct_labels(sim_doc):
    fig = report.plot_timeline(sim_doc)
    load_ax, subnet_ax, resp_ax = fig.axes[:3]
    lines = {ln.get_label(): ln for ln in subnet_ax.get_lines()}
    assert sorted(lines) == sorted(POLICIES)
    for p in POLICIES:
        chosen = [r["subnet"] for r in sim_doc["simulated_timelines"][p]]
        drawn = lines[p].get_ydata()
        assert len(drawn) == len(chosen)
        assert all(abs(y - k) < 0.5 for y, k in zip(drawn, chosen))   # offset, not moved
    dots = [ln for ln in resp_ax.get_lines() if ln.get_marker() == "."]
    assert len(dots) == len(POLICIES)
    labels = _labels(subnet_ax) + _labels(resp_ax)
    assert len(labels) == len(set(labels)), labels
    assert "deadline" in _labels(subnet_ax)                  # the policy
    assert all(lbl != "deadline" for lbl in _labels(resp_ax))  # the line is named otherwise


def test_plot_axis_holds_every_response(sim_doc):
    fig = report.plot_timeline(sim_doc)
    resp_ax = fig.axes[2]
    ms = 1000.0 / sim_doc["hz"]
    values = [(r["start"] + r["latency"] - r["release"]) * ms
              for rows in sim_doc["simulated_timelines"].values() for r in rows]
    values.append(sim_doc["deadline_ticks"] * ms)
    lo, hi = resp_ax.get_ylim()
    assert lo <= min(values) and max(values) <= hi
    # always-full backs up under bursts, far beyond the deadline: it is on the axis too
    full = sim_doc["policies"][POLICIES.index("always-full")]
    assert full["deadline_misses"] > 0


def test_plot_says_measured_or_simulated(sim_doc, tmp_path):
    title = report.plot_timeline(sim_doc).get_suptitle()
    assert "simulated" in title and "measured" not in title
    board = dict(sim_doc, source="board", measured_timelines=sim_doc["simulated_timelines"])
    assert "measured on the board" in report.plot_timeline(board).get_suptitle()
    path = report.write_plot(sim_doc, tmp_path / "sched.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------- sched.md

def _table(md: str) -> list[dict]:
    rows = [ln for ln in md.splitlines() if ln.startswith("|")]
    head = [c.strip() for c in rows[0].strip("|").split("|")]
    return [dict(zip(head, (c.strip() for c in r.strip("|").split("|")))) for r in rows[2:]]


def test_markdown_of_a_simulation_fills_miss_rate(sim_doc, tmp_path):
    md = report.write_markdown(sim_doc, tmp_path / "sched.md").read_text()
    assert "Simulated" in md
    rows = _table(md)
    assert [r["policy"] for r in rows] == list(POLICIES)
    for r in rows:
        misses, jobs = int(r["misses"]), int(r["jobs"])
        rate = float(r["miss rate"].rstrip(" %"))
        assert rate == pytest.approx(100 * misses / jobs, abs=0.05)
        assert r["accuracy"] != "–"


def test_markdown_of_a_board_run_formats_decision_cost_alike(sim_doc, tmp_path):
    costs = {"deadline": 40.75, "energy": 89.124, "deadline+energy": 93.9,
             "always-full": 23.998, "always-smallest": 24.0, "static-best": 24.0,
             "oracle": None}
    board = dict(sim_doc, source="board", policies=[
        dict(p, miss_rate=p["simulated_miss_rate"], accuracy=p["simulated_accuracy"],
             decision_instructions=costs[p["policy"]],
             decision_instructions_worst=costs[p["policy"]])
        for p in sim_doc["policies"]])
    rows = _table(report.write_markdown(board, tmp_path / "sched.md").read_text())
    cells = [r["decision instr."] for r in rows]
    assert cells[-1] == "–"
    decimals = {len(c.split(".")[1]) if "." in c else 0 for c in cells[:-1]}
    assert len(decimals) == 1, cells                           # one format for every row
    for c, p in zip(cells[:-1], rows):
        assert float(c) == pytest.approx(costs[p["policy"]], abs=0.051)
    for r in rows:
        assert re.fullmatch(r"\d+\.\d %", r["miss rate"]), r
