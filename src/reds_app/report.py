"""The demo's report: one table per subnetwork tying training, export and the bench together."""
from __future__ import annotations

import json
from pathlib import Path

from reds.pipeline.rundir import RunDir, write_text


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def accuracy_plot(metrics: dict, baseline: dict | None, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = metrics["subnets"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    macs = [r["macs"] for r in rows]
    for key, label, style in (("float_accuracy", "REDS float", "o-"),
                              ("int8_accuracy", "REDS int8", "s--"),
                              ("device_accuracy", "REDS on device", "x:")):
        if all(r.get(key) is not None for r in rows):
            ax.plot(macs, [100 * r[key] for r in rows], style, label=label)
    if baseline:
        b = baseline["subnets"]
        ax.plot([r["macs"] for r in b], [100 * r["float_accuracy"] for r in b], "^-",
                label="uniform width (float)")
    ax.set_xlabel("MACs per inference")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("accuracy vs MACs")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def write_demo_report(run: RunDir, target: str, data_name: str = "scikit-learn digits (8×8, 10 classes)",
                      smoke: str | None = None) -> Path:
    metrics = run.read_json("metrics.json")
    plan = run.read_json("plan.json")
    baseline = run.read_json("baseline.json") if (run / "baseline.json").exists() else None
    bench_path = run / "bench" / "results.json"
    bench = json.loads(bench_path.read_text()) if bench_path.exists() else {}
    accuracy_plot(metrics, baseline, run / "accuracy_vs_macs.png")

    lat = {r["subnet"]: r for r in bench.get("latency", [])}
    exact = {r["subnet"]: r["bit_exact"] for r in bench.get("correctness", [])}
    adapt = bench.get("adaptation", {})
    instr = bench.get("units", {}).get("latency") == "instructions"
    cost_key = "median_instructions" if instr else "median_ns"
    base = baseline["subnets"] if baseline else []
    full_macs = plan["subnets"][0]["macs"] or 1
    full_lat = lat.get(0, {}).get(cost_key) or 0
    n = metrics.get("samples", {})
    count = lambda kind: f" (n={n[kind]})" if n.get(kind) else ""  # noqa: E731
    cost_head = "instructions per inference (median)" if instr else "latency (median)"
    lines = ["# REDS demo report", ""]
    if smoke:
        lines += [f"> **Smoke test.** {smoke}.", ""]
    lines += [
        f"Dataset: {data_name}; model `{plan['arch']}`; target `{target}`"
        + (" (QEMU with -icount: costs are instruction counts, not times; no caches or wait "
           "states modelled)" if instr else " (wall-clock time)") + ".",
        "",
    ]
    names = (metrics.get("dataset") or {}).get("class_names")
    if names:
        lines += [f"Classes ({len(names)}, in output order): " + ", ".join(f"`{n}`" for n in names) + ".", ""]
    lines += [
        f"| subnet | widths ({' '.join(plan['subnets'][0]['widths'])}) | MACs | % MACs | arena bytes "
        f"| float acc{count('float')} | int8 acc{count('int8')} | device acc{count('device')} "
        f"| uniform-width acc{count('float')} | {cost_head} | planned {plan.get('cost_unit', 'MACs')} / full "
        f"| measured cost / full | bit-exact on device |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for k, (s, m) in enumerate(zip(plan["subnets"], metrics["subnets"])):
        widths = " ".join(str(w) for w in s["widths"].values())
        lk = lat.get(k, {})
        med = lk.get(cost_key)
        lat_txt = "–"
        if med is not None:
            lat_txt = f"{med:,.0f} instructions" if instr else f"{med / 1000:.4g} µs"
        ratio = f"{med / full_lat:.2f}" if med and full_lat else "–"
        planned = s.get("cost_fraction", s["macs"] / full_macs)  # what the planner budgeted
        lines.append(
            f"| {k} | {widths} | {s['macs']:,} | {100 * s['macs'] / full_macs:.1f} | "
            f"{s.get('arena_bytes') or 0:,} | {_pct(m.get('float_accuracy'))} | "
            f"{_pct(m.get('int8_accuracy'))} | {_pct(m.get('device_accuracy'))} | "
            f"{_pct(base[k]['float_accuracy']) if k < len(base) else '–'} | {lat_txt} | {planned:.2f} | {ratio} | "
            f"{'yes' if exact.get(k) else ('NO' if k in exact else '–')} |")
    warnings = run.warnings()
    if warnings:
        lines += ["", "## Warnings", ""] + [f"- **{step}**: {w}" for step, w in warnings]
    lines += ["", "## Switching subnetworks", ""]
    if adapt:
        if instr:
            lines.append(f"Mean switch {adapt.get('mean_instructions', 0):,.0f} instructions per switch, "
                         f"worst {adapt.get('max_instructions', 0):,.0f} instructions")
        else:
            lines.append(f"Mean switch time {adapt.get('mean_ns', 0):.3g} ns, max {adapt.get('max_ns', 0):.3g} ns")
        lines[-1] += ". `reds_select()` swaps precomputed per-subnet tables: no loop over layers."
        lines.append("")
        lines.append("![adaptation](bench/adaptation_heatmap.png)")
    sched_md = run / "sched" / "sched.md"
    if sched_md.exists():
        lines += ["", "## Scheduling under a bursty load", "",
                  "Every policy of `reds_sched` on the board, the demo model's subnets as its "
                  "choices (docs/scheduler.md):", ""]
        for line in sched_md.read_text().strip().splitlines():
            if line.startswith("!["):  # its plot is linked below, relative to this report
                continue
            lines.append("###" + line[1:] if line.startswith("# ") else line)
        lines += ["", "![scheduler](sched/sched.png)"]
    lines += ["", "## Plots", "", "![accuracy vs MACs](accuracy_vs_macs.png)",
              "![cost vs MACs](bench/latency_vs_macs.png)", "",
              "## Files", "",
              "`model.tflite` (one int8 file, every subnet), `plan.json` (widths per budget, solver "
              "status), `metrics.json`, `baseline.json`, `verify.json` (runtime vs TFLM), "
              "`bench/results.json|csv`, `bench/junit.xml`, `sched/sched.json|csv|md`, "
              "`steps.jsonl` (step journal).",
              "", f"Pipeline time: {sum(r['seconds'] for r in run.finished.values()):.0f} s."]
    return write_text(run / "report.md", "\n".join(lines) + "\n")
