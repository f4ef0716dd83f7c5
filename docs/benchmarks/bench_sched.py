"""The scheduler's goals on qemu_m4 (issue: on-device subnetwork scheduler), measured.

Every policy and baseline of `reds bench sched` on the demo model under the bursty trace (seed
0, 600 jobs), twice: with the job timeline taking each job's work from the calibrated table
(`table_work`, the default on QEMU: the run is deterministic) and from the ticks the board
measured around each inference. Writes sched.json (both runs and the goal checks) and sched.md.

    reds demo --out runs/demo          # the demo model, its held-out set and metrics.json
    python docs/benchmarks/bench_sched.py --run runs/demo --json docs/benchmarks/sched.json \\
        --md docs/benchmarks/sched.md
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[2]


def by_policy(doc: dict) -> dict:
    return {p["policy"]: p for p in doc["policies"]}


def goals(doc: dict) -> list[dict]:
    p = by_policy(doc)
    dl, full, small, oracle = p["deadline"], p["always-full"], p["always-smallest"], p["oracle"]
    pts = lambda a, b: None if a is None or b is None else round(100 * abs(a - b), 2)  # noqa: E731
    rows = [
        ("always-full misses >= 20 % of deadlines", full["miss_rate"] >= 0.20, f"{100 * full['miss_rate']:.1f} %"),
        ("deadline: <= 1 % misses", dl["miss_rate"] <= 0.01, f"{100 * dl['miss_rate']:.1f} %"),
        ("deadline: accuracy within 1 point of the oracle",
         dl["accuracy"] is not None and oracle["accuracy"] is not None and
         abs(dl["accuracy"] - oracle["accuracy"]) <= 0.01,
         f"{100 * dl['accuracy']:.1f} % vs {100 * oracle['accuracy']:.1f} %"),
        ("deadline: better than always-smallest", dl["accuracy"] > small["accuracy"],
         f"{100 * dl['accuracy']:.1f} % vs {100 * small['accuracy']:.1f} %"),
        ("simulation: miss rate within 2 points",
         pts(dl["miss_rate"], dl["simulated_miss_rate"]) is not None and
         pts(dl["miss_rate"], dl["simulated_miss_rate"]) <= 2,
         f"{pts(dl['miss_rate'], dl['simulated_miss_rate'])} points"),
        ("simulation: accuracy within 1 point",
         pts(dl["accuracy"], dl["simulated_accuracy"]) is not None and
         pts(dl["accuracy"], dl["simulated_accuracy"]) <= 1,
         f"{pts(dl['accuracy'], dl['simulated_accuracy'])} points"),
        ("<= 100 instructions per decision", (dl["decision_instructions"] or 1e9) <= 100,
         f"{dl['decision_instructions']} instructions"),
    ]
    return [{"goal": g, "met": bool(ok), "measured": v} for g, ok, v in rows]


def markdown(results: dict) -> str:
    out = ["# Scheduler on qemu_m4: demo model, bursty trace", "",
           f"Command: `{results['command']}`. Instruction counts (QEMU -icount), not cycles.", ""]
    for name, run in results["runs"].items():
        doc = run["sched"]
        out += [f"## Job work from {name}", "",
                f"period {doc['period_us']:.0f} µs, deadline {doc['deadline_us']:.0f} µs (timer ticks converted "
                "at the board's clock)", "",
                "| policy | jobs | misses | miss rate | accuracy | mean subnet | switches | simulated miss rate | "
                "simulated accuracy | instructions per decision |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        fmt = lambda v, pct=False: "" if v is None else (f"{100 * v:.1f} %" if pct else f"{v:.2f}" if isinstance(v, float) else str(v))  # noqa: E731
        for p in doc["policies"]:
            out.append(f"| {p['policy']} | {p['jobs']} | {p['deadline_misses']} | {fmt(p['miss_rate'], True)} | "
                       f"{fmt(p['accuracy'], True)} | {fmt(p['mean_subnet'])} | {p['switches']} | "
                       f"{fmt(p['simulated_miss_rate'], True)} | {fmt(p['simulated_accuracy'], True)} | "
                       f"{fmt(p['decision_instructions'])} |")
        out += ["", "| goal | met | measured |", "|---|---|---|"]
        out += [f"| {g['goal']} | {'yes' if g['met'] else 'no'} | {g['measured']} |" for g in run["goals"]]
        out.append("")
    return "\n".join(out)


def main() -> None:
    from reds_bench.measure.sched import bench_sched

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=ROOT / "runs" / "demo", help="a `reds demo` run directory")
    ap.add_argument("--target", default="qemu_m4")
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--md", type=Path)
    args = ap.parse_args()
    need = [args.run / n for n in ("model.tflite", "holdout.npz", "metrics.json")]
    missing = [str(p) for p in need if not p.exists()]
    if missing:
        sys.exit(f"bench_sched: missing {', '.join(missing)}; run `reds demo --out {args.run}` first")
    results = {"command": "python docs/benchmarks/bench_sched.py " + " ".join(sys.argv[1:]), "runs": {}}
    for name, table_work in (("the calibrated table", True), ("the measured ticks", False)):
        doc = bench_sched(args.target, model=args.run / "model.tflite", dataset=args.run / "holdout.npz",
                          accuracy=str(args.run / "metrics.json"), trace="bursty", seed=0, jobs=600,
                          table_work=table_work, plot=False)
        results["runs"][name] = {"table_work": table_work, "sched": doc, "goals": goals(doc)}
        print(f"{name}: " + ", ".join(f"{g['goal']}: {g['measured']} ({'met' if g['met'] else 'NOT met'})"
                                      for g in results["runs"][name]["goals"]), flush=True)
    args.json.write_text(json.dumps(results, indent=1, default=float) + "\n")
    if args.md:
        args.md.write_text(markdown(results))


if __name__ == "__main__":
    main()
