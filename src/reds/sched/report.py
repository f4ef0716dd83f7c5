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


def write_markdown(doc: dict, path: Path, plot: Path | None = None) -> Path:
    lines = [f"# Scheduler: {doc.get('model') or 'model'} on {doc['target']}, trace "
             f"`{doc['trace']}`", "",
             f"Period {doc['period_us']:.1f} µs, deadline {doc['deadline_us']:.1f} µs, "
             f"{doc['period_ticks']} / {doc['deadline_ticks']} ticks at {doc['hz']} Hz "
             f"(under QEMU -icount a tick is a fixed count of instructions, not real time); "
             f"interference window {doc['window_ticks']} ticks; margin {doc['margin']:.3f}, "
             f"up after {doc['up_after']} jobs; static-best = subnet {doc['static_best_subnet']}.",
             "", "| policy | jobs | misses | miss rate | accuracy | simulated miss rate | "
             "simulated accuracy | mean subnet | switches | decision instr. |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in doc["policies"]:
        instr = p.get("decision_instructions")
        lines.append(f"| {p['policy']} | {p['jobs']} | {p['deadline_misses']} | "
                     f"{_pct(p['miss_rate'])} | {_pct(p['accuracy'])} | "
                     f"{_pct(p['simulated_miss_rate'])} | {_pct(p['simulated_accuracy'])} | "
                     f"{p['mean_subnet']:.2f} | {p['switches']} | "
                     f"{'–' if instr is None else instr} |")
    if plot is not None:
        lines += ["", f"![timeline]({plot.name})"]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_plot(doc: dict, path: Path, policies=("deadline", "oracle", "always-full")) -> Path:
    """Timeline: interrupt load, chosen subnet per job, response time against the deadline
    with misses marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timelines = doc.get("measured_timelines") or doc.get("simulated_timelines") or {}
    hz, win, loads = doc["hz"], doc["window_ticks"], doc["loads"]
    rows0 = next(iter(timelines.values()), [])
    end = (rows0[-1]["start"] + rows0[-1]["latency"]) if rows0 else win * len(loads)
    ms = 1000.0 / hz
    nwin = end // win + 1
    fig, ax = plt.subplots(3, 1, figsize=(11, 7), sharex=True)
    ax[0].step([i * win * ms for i in range(nwin)], [loads[i % len(loads)] for i in range(nwin)],
               where="post", color="grey")
    ax[0].set_ylabel("interrupt load (%)")
    for p in policies:
        rows = timelines.get(p)
        if not rows:
            continue
        t = [r["release"] * ms for r in rows]
        ax[1].step(t, [r["subnet"] for r in rows], where="post", label=p)
        resp = [(r["start"] + r["latency"] - r["release"]) * ms for r in rows]
        line, = ax[2].plot(t, resp, ".", markersize=3, label=p)
        miss = [(x, y) for x, y, r in zip(t, resp, rows) if not r["met"]]
        if miss:
            ax[2].plot(*zip(*miss), "x", color=line.get_color(), markersize=6)
    ax[1].set_ylabel("subnet (0 = full)")
    ax[1].invert_yaxis()
    ax[1].legend(loc="upper right", fontsize=8)
    ax[2].axhline(doc["deadline_ticks"] * ms, color="red", linewidth=0.8, label="deadline")
    ax[2].set_ylim(0, 2.5 * doc["deadline_ticks"] * ms)   # a backlog would hide the rest
    ax[2].set_ylabel("response (ms, clipped)")
    ax[2].legend(loc="upper right", fontsize=8)
    unit = "virtual ms: timer ticks / Hz" if doc["target"].startswith("qemu") else "ms"
    ax[2].set_xlabel(f"job release time ({unit}); x = deadline miss")
    fig.suptitle(f"scheduler timeline: {doc['target']}, trace {doc['trace']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
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
