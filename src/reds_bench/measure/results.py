"""Write a bench run: results.json (fixed keys, docs/bench.md), results.csv, junit.xml,
report.md and PNG plots (latency vs MACs, adaptation heat map)."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

RESULT_KEYS = ("board", "model", "adaptation", "latency", "correctness", "accuracy", "memory")
QEMU_NOTE = ("QEMU counts instructions, not cycles: no caches, pipelines or flash wait states "
             "are modelled. Compare QEMU numbers with each other, not with a real board.")


def empty_results() -> dict:
    return {
        "board": {"env": None, "id": None, "clock_hz": None, "timer_unit": None},
        "model": {"path": None, "crc32": None, "subnets": []},
        "adaptation": {"matrix_ns": [], "matrix_ticks": [], "mean_ns": None, "max_ns": None,
                       "instructions_per_switch": None},
        "latency": [],
        "correctness": [],
        "accuracy": [],
        "memory": {"arena_bytes": None, "flash_bytes": None, "ram_bytes": None},
    }


def json_safe(o):
    """JSON-safe: NaN/inf -> None."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [json_safe(v) for v in o]
    return o


def write_json(res: dict, path: Path) -> Path:
    path.write_text(json.dumps(json_safe(res), indent=2) + "\n")
    return path


def write_csv(res: dict, path: Path) -> Path:
    """One row per subnet: MACs, latency, correctness, accuracy."""
    corr = {c["subnet"]: c for c in res.get("correctness", [])}
    acc = {a["subnet"]: a for a in res.get("accuracy", [])}
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["env", "board", "subnet", "macs", "arena_bytes", "median_ns", "min_ns",
                    "max_ns", "instructions", "bit_exact", "int8_accuracy"])
        arena = {s.get("index"): s.get("arena_bytes") for s in res["model"].get("subnets", [])}
        for lat in res.get("latency", []):
            k = lat["subnet"]
            w.writerow([res["board"]["env"], res["board"]["id"], k, lat.get("macs"), arena.get(k),
                        lat.get("median_ns"), lat.get("min_ns"), lat.get("max_ns"),
                        lat.get("instructions"), corr.get(k, {}).get("bit_exact"),
                        acc.get(k, {}).get("int8_accuracy")])
    return path


def junit_cases(res: dict) -> list[tuple[str, str | None, str | None]]:
    """(name, failure message or None, skip message or None) per check."""
    cases = []
    for c in res.get("correctness", []):
        name = f"correctness.subnet{c['subnet']}"
        if c.get("bit_exact") is None:
            cases.append((name, None, c.get("golden") or "no golden"))
        elif not c["bit_exact"]:
            cases.append((name, f"{c['mismatches']} of {c['inputs']} outputs differ from "
                                f"{c.get('golden')} (max |diff| {c.get('max_abs_diff')})", None))
        else:
            cases.append((name, None, None))
    for lat in res.get("latency", []):
        ok = lat.get("median_ns") is not None
        cases.append((f"latency.subnet{lat['subnet']}", None if ok else "no latency", None))
    ad = res.get("adaptation", {})
    if ad.get("matrix_ticks"):
        cases.append(("adaptation.matrix", None, None))
    for e in res.get("errors", []):
        cases.append((f"step.{e['step']}", e["error"], None))
    return cases


def write_junit(res: dict, path: Path) -> Path:
    cases = junit_cases(res)
    fails = sum(1 for _, f, _ in cases if f)
    skips = sum(1 for _, f, s in cases if s and not f)
    suite = f"reds-bench.{res['board'].get('env')}.{res['board'].get('id')}"
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           f'<testsuites><testsuite name={quoteattr(suite)} tests="{len(cases)}" '
           f'failures="{fails}" skipped="{skips}" errors="0">']
    for name, fail, skip in cases:
        out.append(f'<testcase classname={quoteattr(suite)} name={quoteattr(name)}>')
        if fail:
            out.append(f'<failure message={quoteattr(fail)}>{escape(fail)}</failure>')
        elif skip:
            out.append(f'<skipped message={quoteattr(skip)}/>')
        out.append("</testcase>")
    out.append("</testsuite></testsuites>")
    path.write_text("\n".join(out) + "\n")
    return path


def _fmt(v, unit="") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.1f}{unit}"
    return f"{v:,}{unit}" if isinstance(v, int) else f"{v}{unit}"


def counts_instructions(res: dict) -> bool:
    """True when the board's timer counts instructions (QEMU -icount), not time."""
    b = res.get("board", {})
    return bool(b.get("instructions_per_tick")) or str(b.get("env", "")).startswith("qemu")


def add_units(res: dict) -> dict:
    """Say what the numbers are. Under QEMU -icount the timer counts instructions, so every
    latency and switch cost also gets `*_instructions` keys and `units` says the `*_ns` values
    are QEMU's virtual time (1 instruction = 1 ns), not a measured time."""
    b = res.get("board", {})
    if not counts_instructions(res):
        res["units"] = {"latency": "ns", "adaptation": "ns", "time_source": b.get("timer_unit")}
        return res
    ipt = b.get("instructions_per_tick") or 1
    hz = b.get("clock_hz") or 1e9 / ipt

    def instr(ns):
        return None if ns is None else float(ns) * hz / 1e9 * ipt

    for lat in res.get("latency", []):
        for key in ("median", "min", "max"):
            if lat.get(f"{key}_instructions") is None:
                lat[f"{key}_instructions"] = instr(lat.get(f"{key}_ns"))
            elif lat.get(f"{key}_ns") is None:  # steps.latency names counts by their unit; the
                # `*_ns` keys stay in results.json as QEMU's virtual time for old readers
                lat[f"{key}_ns"] = float(lat[f"{key}_instructions"]) * 1e9 / (hz * ipt)
        if lat.get("instructions") is not None:
            lat["median_instructions"] = float(lat["instructions"])
    ad = res.get("adaptation", {})
    if ad.get("matrix_ns"):
        ad["matrix_instructions"] = [[instr(v) for v in row] for row in ad["matrix_ns"]]
        ad["mean_instructions"] = (ad.get("instructions_per_switch")
                                   if ad.get("instructions_per_switch") is not None
                                   else instr(ad.get("mean_ns")))
        ad["max_instructions"] = instr(ad.get("max_ns"))
    res["units"] = {"latency": "instructions", "adaptation": "instructions",
                    "time_source": "none: QEMU -icount counts instructions; *_ns keys are its "
                                   "virtual time (1 instruction = 1 ns), not a measured time"}
    return res


def accuracy_text(a: dict | None) -> str:
    """`99.63 % (270 samples)`: the real value and how many samples it rests on."""
    if not a or a.get("int8_accuracy") is None:
        return "–"
    n = a.get("samples")
    return f"{100 * a['int8_accuracy']:.2f} %" + (f" ({n} samples)" if n is not None else "")


def _count(v) -> str:
    return "–" if v is None else f"{v:,.0f}"


def write_report(res: dict, path: Path, plots: list[Path] = ()) -> Path:
    b, m, ad, mem = res["board"], res["model"], res["adaptation"], res["memory"]
    add_units(res)
    instr = counts_instructions(res)
    unit = "instructions" if instr else "ns"
    lines = [f"# REDS bench: {m.get('path')} on {b.get('id')} ({b.get('env')})", "",
             f"Model crc32 `{m.get('crc32')}`, {len(m.get('subnets', []))} subnets; timer "
             f"{b.get('timer_unit')} at {_fmt(b.get('clock_hz'))} Hz"
             + ("; every cost below is an instruction count, not a time." if instr else
                "; costs below are measured times.") , ""]
    if instr:
        lines += [f"> {QEMU_NOTE}", ""]
    if instr:
        summary = (f"Mean switch {_count(ad.get('mean_instructions'))} instructions, worst "
                   f"{_count(ad.get('max_instructions'))} instructions.")
        matrix = ad.get("matrix_instructions")
    else:
        summary = (f"Mean switch {_fmt(ad.get('mean_ns'), ' ns')}, worst {_fmt(ad.get('max_ns'), ' ns')}.")
        matrix = ad.get("matrix_ns")
    lines += ["## Adaptation (reds_select)", "", summary, ""]
    if matrix:
        k = len(matrix)
        lines += ["| from \\ to | " + " | ".join(str(j) for j in range(k)) + " |",
                  "|---|" + "---:|" * k]
        for i, row in enumerate(matrix):
            lines.append(f"| {i} | " + " | ".join(f"{v:,.0f}" for v in row) + " |")
        lines += ["", f"({unit} per reds_select(j) right after reds_select(i); loop and timer "
                      "overhead cancel out)", ""]
    corr = {c["subnet"]: c for c in res.get("correctness", [])}
    acc = {a["subnet"]: a for a in res.get("accuracy", [])}
    lat_cols = (["median instructions", "latency / full", "min instructions", "max instructions"]
                if instr else ["median ns", "latency / full", "min ns", "max ns"])
    lines += ["## Subnetworks", "",
              "| subnet | MACs | MACs / full | arena B | " + " | ".join(lat_cols)
              + " | bit-exact | int8 accuracy on device |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    arena = {s.get("index"): s.get("arena_bytes") for s in m.get("subnets", [])}
    full = next((x for x in res.get("latency", []) if x["subnet"] == 0), {})

    def ratio(x, key):
        return f"{x[key] / full[key]:.2f}" if x.get(key) and full.get(key) else "–"

    for lat in res.get("latency", []):
        k = lat["subnet"]
        c = corr.get(k, {})
        be = {True: "yes", False: f"**no** ({c.get('mismatches')}/{c.get('inputs')})",
              None: "n/a"}[c.get("bit_exact")]
        if instr:
            cells = [_count(lat.get("median_instructions")), ratio(lat, "median_instructions"),
                     _count(lat.get("min_instructions")), _count(lat.get("max_instructions"))]
        else:
            cells = [_fmt(lat.get("median_ns")), ratio(lat, "median_ns"), _fmt(lat.get("min_ns")),
                     _fmt(lat.get("max_ns"))]
        lines.append(f"| {k} | {_fmt(lat.get('macs'))} | {ratio(lat, 'macs')} | {_fmt(arena.get(k))} | "
                     + " | ".join(cells) + f" | {be} | {accuracy_text(acc.get(k))} |")
    notes = sorted({c.get("golden") for c in corr.values() if c.get("bit_exact") is None})
    lines += [""] + [f"Golden: {n}" for n in notes if n] + ([""] if notes else [])
    lines += ["## Memory", "", f"Arena {_fmt(mem.get('arena_bytes'), ' B')} (largest subnet), "
              f"flash {_fmt(mem.get('flash_bytes'), ' B')}, RAM {_fmt(mem.get('ram_bytes'), ' B')} "
              "(whole firmware, incl. upload slots).", ""]
    if res.get("errors"):
        lines += ["## Errors", ""] + [f"- {e['step']}: {e['error']}" for e in res["errors"]] + [""]
    for p in plots:
        lines += [f"![{p.stem}]({p.name})", ""]
    path.write_text("\n".join(lines))
    return path


def write_plots(res: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    add_units(res)
    instr = counts_instructions(res)
    made = []
    lat = [x for x in res.get("latency", []) if x.get("median_ns") is not None]
    if lat:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        macs = [x.get("macs") or 0 for x in lat]
        if instr:  # thousands of instructions
            med, lo_v, hi_v = ([x[f"{k}_instructions"] / 1000.0 for x in lat] for k in ("median", "min", "max"))
            ylabel = "instructions (thousands; median, min–max; QEMU -icount)"
        else:
            med, lo_v, hi_v = ([x[f"{k}_ns"] / 1000.0 for x in lat] for k in ("median", "min", "max"))
            ylabel = "latency (µs, median, min–max)"
        lo = [max(0.0, m_ - v) for m_, v in zip(med, lo_v)]
        hi = [max(0.0, v - m_) for m_, v in zip(med, hi_v)]
        ax.errorbar(macs, med, yerr=[lo, hi], fmt="o-", capsize=3)
        for x, m_, y in zip(lat, macs, med):
            ax.annotate(str(x["subnet"]), (m_, y), textcoords="offset points", xytext=(4, 4))
        ax.set_xlabel("MACs")
        ax.set_ylabel(ylabel)
        ax.set_title(("instructions" if instr else "latency") + f" vs MACs, {res['board'].get('env')}")
        fig.tight_layout()
        p = out / "latency_vs_macs.png"
        fig.savefig(p, dpi=120)
        plt.close(fig)
        made.append(p)
    ad = res.get("adaptation", {})
    mat = ad.get("matrix_instructions") if instr else ad.get("matrix_ns")
    if mat:
        fig, ax = plt.subplots(figsize=(4, 3.5))
        # the colour scale starts at 0: a spread of a few units is noise and must look like it
        im = ax.imshow(mat, cmap="viridis", vmin=0, vmax=max(max(r) for r in mat) or 1)
        k = len(mat)
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.set_xlabel("to subnet")
        ax.set_ylabel("from subnet")
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{mat[i][j]:.0f}", ha="center", va="center", color="w", fontsize=8)
        fig.colorbar(im, ax=ax, label="instructions per switch" if instr else "ns per switch")
        ax.set_title("adaptation cost")
        fig.tight_layout()
        p = out / "adaptation_heatmap.png"
        fig.savefig(p, dpi=120)
        plt.close(fig)
        made.append(p)
    return made


def write_all(res: dict, out: Path, plots: bool = True) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    add_units(res)
    files = {"json": write_json(res, out / "results.json"),
             "csv": write_csv(res, out / "results.csv"),
             "junit": write_junit(res, out / "junit.xml")}
    pngs = write_plots(res, out) if plots else []
    files["report"] = write_report(res, out / "report.md", pngs)
    for p in pngs:
        files[p.stem] = p
    return files
