"""Inputs and outputs of the scheduler runs: per-subnet latency from the bench's results.json,
per-subnet accuracy from metrics.json, and the sched.json / sched.csv / timeline PNG / markdown
table written by `reds sched simulate` and `reds bench sched` (schema in docs/scheduler.md)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from reds.sched.model import SchedulerError

TIMER_HZ = {"qemu_m4": 25_000_000, "qemu_m7": 25_000_000, "qemu_m33": 20_000_000,
            "native": 1_000_000_000}
ACCURACY_KEYS = ("device_accuracy", "int8_accuracy", "float_accuracy", "accuracy")


def _read_json(path: Path, what: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except OSError as e:
        raise SchedulerError(f"cannot read {what} {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise SchedulerError(f"{what} {path} is not JSON: {e.msg} at line {e.lineno}") from None


def parse_int_list(text: str, what: str) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",")]
    except ValueError:
        raise SchedulerError(f"{what} must be comma-separated integers, got {text!r}") from None
    if any(v <= 0 for v in vals):
        raise SchedulerError(f"{what} must be positive, got {text!r}")
    return vals


def load_latency(source: str) -> list[int]:
    """Ticks per subnet: "13000,10500,..." or a bench results.json (latency[].median_ticks)."""
    if not source.endswith(".json"):
        return parse_int_list(source, "latency ticks")
    res = _read_json(Path(source), "bench results")
    rows = sorted(res.get("latency") or [], key=lambda r: r.get("subnet", 0))
    ticks = [r.get("median_ticks") for r in rows]
    if not ticks or any(not isinstance(t, (int, float)) or t <= 0 for t in ticks):
        raise SchedulerError(f"{source} has no latency[].median_ticks for every subnet "
                             "(run `reds bench run` first)")
    return [int(t) for t in ticks]


def load_accuracy(source: str, key: str | None = None) -> list[float]:
    """Accuracy per subnet: "0.99,0.97,..." or metrics.json (subnets[].<key>; by default the
    first of device_accuracy, int8_accuracy, float_accuracy present)."""
    if not source.endswith(".json"):
        try:
            vals = [float(v) for v in source.split(",")]
        except ValueError:
            raise SchedulerError(f"accuracy must be comma-separated numbers, got {source!r}") \
                from None
    else:
        m = _read_json(Path(source), "metrics")
        subs = sorted(m.get("subnets") or [], key=lambda r: r.get("subnet", 0))
        if not subs:
            raise SchedulerError(f"{source} has no subnets[] accuracies")
        keys = [key] if key else [k for k in ACCURACY_KEYS if subs[0].get(k) is not None][:1]
        if not keys or any(s.get(keys[0]) is None for s in subs):
            raise SchedulerError(f"{source}: no {key or ' / '.join(ACCURACY_KEYS)} for every "
                                 "subnet")
        vals = [float(s[keys[0]]) for s in subs]
    if any(not 0.0 <= v <= 1.0 for v in vals):
        raise SchedulerError(f"accuracies must be fractions in 0..1, got {vals}")
    return vals


def write_csv(doc: dict, path: Path) -> Path:
    """One row per job, policy and source (measured, simulated). Times in timer ticks; `work`
    is the ticks the board measured around the job's inference."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["source", "policy", "job", "subnet", "release", "start", "latency", "met",
                    "work", "prediction", "label"])
        for source in ("measured", "simulated"):
            for policy, rows in (doc.get(f"{source}_timelines") or {}).items():
                for r in rows:
                    w.writerow([source, policy, r["job"], r["subnet"], r["release"], r["start"],
                                r["latency"], int(r["met"]), r.get("work", ""),
                                r.get("prediction", ""),
                                r.get("label", "")])
    return path


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def _instr(v) -> str:
    return "–" if v is None else f"{v:.1f}"     # bulk means: one decimal for every row


def trace_note(doc: dict) -> str | None:
    """Says where a run longer than its trace wraps to the trace's first window (e.g. `step`
    back to its low load), or None when it does not or the load is constant."""
    n, run = doc.get("trace_windows"), doc.get("run_windows")
    loads = doc.get("loads") or []
    if not n or not run or run <= n or len(set(loads)) <= 1:
        return None
    job = n * doc["window_ticks"] // doc["period_ticks"]
    return (f"the run spans {run} windows and trace {doc['trace']} has {n}: the trace repeats "
            f"from its first window (load {loads[0]} %) at about job {job}")


def write_markdown(doc: dict, path: Path, plot: Path | None = None) -> Path:
    """The policy table: a board run has measured columns with the simulation beside them; a
    simulation has only simulated numbers, and says so."""
    board = doc.get("source") == "board"
    lines = [f"# Scheduler: {doc.get('model') or 'model'} on {doc['target']}, trace "
             f"`{doc['trace']}`", "",
             ("Measured on the board, with the simulation of the same task beside it. " if board
              else "Simulated (`reds sched simulate`, no board): every number comes from the "
              "scheduler's rules applied to the latency table. ") +
             f"Period {doc['period_us']:.1f} µs, deadline {doc['deadline_us']:.1f} µs, "
             f"{doc['period_ticks']} / {doc['deadline_ticks']} ticks at {doc['hz']} Hz "
             f"(under QEMU -icount a tick is a fixed count of instructions, not real time); "
             f"interference window {doc['window_ticks']} ticks; margin {doc['margin']:.3f}, "
             f"up after {doc['up_after']} jobs; static-best = subnet {doc['static_best_subnet']}."]
    note = trace_note(doc)
    if note:
        lines += ["", f"Note: {note}."]
    if board:
        lines += ["", "| policy | jobs | misses | miss rate | accuracy | simulated miss rate | "
                  "simulated accuracy | mean subnet | switches | decision instr. | "
                  "worst decision instr. |", "|---|" + "---:|" * 10]
        for p in doc["policies"]:
            lines.append(f"| {p['policy']} | {p['jobs']} | {p['deadline_misses']} | "
                         f"{_pct(p['miss_rate'])} | {_pct(p['accuracy'])} | "
                         f"{_pct(p['simulated_miss_rate'])} | {_pct(p['simulated_accuracy'])} | "
                         f"{p['mean_subnet']:.2f} | {p['switches']} | "
                         f"{_instr(p.get('decision_instructions'))} | "
                         f"{_instr(p.get('decision_instructions_worst'))} |")
    else:
        lines += ["", "| policy | jobs | misses | miss rate | accuracy | mean subnet | switches |",
                  "|---|" + "---:|" * 6]
        for p in doc["policies"]:
            lines.append(f"| {p['policy']} | {p['jobs']} | {p['deadline_misses']} | "
                         f"{_pct(p['simulated_miss_rate'])} | {_pct(p['simulated_accuracy'])} | "
                         f"{p['mean_subnet']:.2f} | {p['switches']} |")
    if plot is not None:
        lines += ["", f"![timeline]({plot.name})"]
    path.write_text("\n".join(lines) + "\n")
    return path


def plot_timeline(doc: dict, policies=None):
    """The figure of `write_plot`: interrupt load, the subnet every policy chose per job, and
    every job's response time against the deadline with misses marked. Plots the measured
    timelines of a board run, else the simulated ones, and says which."""
    from matplotlib.figure import Figure

    measured = bool(doc.get("measured_timelines"))
    timelines = (doc.get("measured_timelines") if measured
                 else doc.get("simulated_timelines")) or {}
    names = [p for p in (policies or timelines) if timelines.get(p)]
    source = "measured on the board" if measured else "simulated"
    hz, win, loads = doc["hz"], doc["window_ticks"], doc["loads"]
    ends = [timelines[p][-1]["start"] + timelines[p][-1]["latency"] for p in names]
    end = max(ends, default=win * len(loads))
    ms = 1000.0 / hz
    nwin = end // win + 1
    fig = Figure(figsize=(12.5, 7.5))
    ax = fig.subplots(3, 1, sharex=True)
    ax[0].step([i * win * ms for i in range(nwin)], [loads[i % len(loads)] for i in range(nwin)],
               where="post", color="grey")
    ax[0].set_ylabel("interrupt load (%)")
    deadline = doc["deadline_ticks"] * ms
    responses = []
    for i, p in enumerate(names):
        rows, color = timelines[p], f"C{i % 10}"
        t = [r["release"] * ms for r in rows]
        # a small offset per policy keeps lines that choose the same subnet apart
        off = (i - (len(names) - 1) / 2) * 0.05
        ax[1].step(t, [r["subnet"] + off for r in rows], where="post", color=color, label=p)
        resp = [(r["start"] + r["latency"] - r["release"]) * ms for r in rows]
        responses += resp
        ax[2].plot(t, resp, ".", markersize=3, color=color)
        miss = [(x, y) for x, y, r in zip(t, resp, rows) if not r["met"]]
        if miss:
            ax[2].plot(*zip(*miss), "x", color=color, markersize=6)
    n = len(doc.get("latency_ticks") or []) or 1 + max(
        (r["subnet"] for p in names for r in timelines[p]), default=0)
    ax[1].set_yticks(range(n))
    ax[1].set_ylabel("subnet (0 = full)")
    ax[1].invert_yaxis()
    ax[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="policy",
                 title_fontsize=8)           # beside the axes: 7 policies would hide the lines
    ax[2].axhline(deadline, color="red", linewidth=0.8,
                  label=f"relative deadline D\n= {deadline:.4g} {'virtual ' if doc['target'].startswith('qemu') else ''}ms")
    ax[2].plot([], [], "x", color="black", label="missed deadline")
    top, low = max(responses + [deadline]), min(responses + [deadline])
    if top > 5 * deadline:   # a backlog (always-full under load): log scale keeps D readable
        ax[2].set_yscale("log")
        ax[2].set_ylim(low / 1.25, top * 1.25)
        scale = ", log scale"
    else:
        ax[2].set_ylim(0, top * 1.08)
        scale = ""
    unit = "virtual ms" if doc["target"].startswith("qemu") else "ms"
    ax[2].set_ylabel(f"response ({unit}{scale})")
    ax[2].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    xunit = ("virtual ms: timer ticks / Hz, instructions under -icount"
             if doc["target"].startswith("qemu") else "ms")
    ax[2].set_xlabel(f"job release time ({xunit})")
    fig.suptitle(f"scheduler timeline, {source}: {doc['target']}, trace {doc['trace']}")
    fig.tight_layout()
    return fig


def write_plot(doc: dict, path: Path, policies=None) -> Path:
    """sched.png: `plot_timeline` of every policy (or of `policies`)."""
    plot_timeline(doc, policies).savefig(path, dpi=110)
    return path


def write_all(doc: dict, out: Path, plot: bool = True) -> dict[str, Path]:
    """sched.json (without the per-job timelines, which go to sched.csv), sched.csv,
    sched.png, sched.md."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": write_csv(doc, out / "sched.csv")}
    if plot:
        paths["png"] = write_plot(doc, out / "sched.png")
    paths["md"] = write_markdown(doc, out / "sched.md", paths.get("png"))
    slim = {k: v for k, v in doc.items() if not k.endswith("timelines")}
    (out / "sched.json").write_text(json.dumps(slim, indent=2) + "\n")
    paths["json"] = out / "sched.json"
    return paths
