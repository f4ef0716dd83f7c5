"""Mean and spread over seeds of `reds compare` runs, float and int8 (docs/results.md).

`reds compare` measures every method's subnets in float and, as deployed, in int8 on the C
runtime (bit-exact with TFLM). This script takes its output folders (one per seed) and writes
one JSON and a markdown table of mean ± standard deviation over the seeds, the paired
difference of every method to REDS (same seed = same data, split and pretrained weights), and a
plot of int8 accuracy against MACs.

    for s in 0 1 2; do reds compare --recipe models/kws_synth/recipe.yaml \\
        --out runs/kws_compare/seed$s --seed $s; done
    python docs/benchmarks/bench_kws_compare.py runs/kws_compare/seed0 runs/kws_compare/seed1 \\
        runs/kws_compare/seed2 --json docs/benchmarks/kws_compare.json --md docs/benchmarks/kws_compare.md \\
        --plot docs/benchmarks/kws_compare.png

`--from-json FILE` redraws the table and plot from an earlier JSON.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def read_seed(run: Path) -> dict:
    """One seed's rows (budget, MACs, float and int8 accuracy per method) from compare.json."""
    path = run / "compare.json"
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"{path}: not a `reds compare` result ({e})") from None
    ep = doc["epochs"]
    command = (f"reds compare --recipe {doc['recipe']} --out {run} --seed {doc['seed']} "
               f"--pretrain-epochs {ep['pretrain']} --finetune-epochs {ep['finetune']}")
    out = {"seed": doc["seed"], "epochs": ep, "complete": doc.get("complete", False), "command": command,
           "methods": {}}
    for method, res in doc["methods"].items():
        rows = res["subnets"]
        if any("int8_accuracy" not in r for r in rows):
            raise SystemExit(f"{path}: {method} has no int8 accuracy; run the same `reds compare` "
                             "command again (it resumes and adds it)")
        out["methods"][method] = [{"budget": r["budget"], "macs_fraction": r["macs_fraction"],
                                   "float_accuracy": r["float_accuracy"], "int8_accuracy": r["int8_accuracy"]}
                                  for r in rows]
    return out


def summary(seeds: list[dict]) -> dict:
    methods = sorted({m for s in seeds for m in s["methods"]}, key=lambda m: list(seeds[0]["methods"]).index(m)
                     if m in seeds[0]["methods"] else 99)
    table = {}
    for m in methods:
        per_budget = {}
        for s in seeds:
            for r in s["methods"].get(m, []):
                per_budget.setdefault(r["budget"], {"float": [], "int8": []})
                per_budget[r["budget"]]["float"].append(r["float_accuracy"])
                per_budget[r["budget"]]["int8"].append(r["int8_accuracy"])
        table[m] = {str(b): {kind: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                                    "n": len(v)} for kind, v in d.items()} for b, d in per_budget.items()}
    return table


def paired_differences(seeds: list[dict], reference: str = "reds") -> dict:
    """Per method and budget: the other method's accuracy minus the reference's, seed by seed.

    Every method of one seed shares the data split and (except `independent`) the pretrained
    weights, so the paired difference cancels what the seed does to both."""
    out = {}
    for s in seeds:
        ref = {r["budget"]: r for r in s["methods"].get(reference, [])}
        for m, rows in s["methods"].items():
            if m == reference:
                continue
            for r in rows:
                if r["budget"] in ref:
                    d = out.setdefault(m, {}).setdefault(str(r["budget"]), {"float": [], "int8": []})
                    d["float"].append(r["float_accuracy"] - ref[r["budget"]]["float_accuracy"])
                    d["int8"].append(r["int8_accuracy"] - ref[r["budget"]]["int8_accuracy"])
    return out


def _pm(values: list[float]) -> str:
    mean = 100 * float(np.mean(values))
    return f"{mean:+.1f} ± {100 * float(np.std(values, ddof=1)):.1f}" if len(values) > 1 else f"{mean:+.1f}"


def paired_p(values: list[float]) -> float | None:
    """Two-sided p-value of a paired t-test (mean difference 0), None below 2 seeds."""
    from scipy import stats  # a dependency of scikit-learn

    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return None
    if np.std(v, ddof=1) == 0:
        return 0.0 if np.mean(v) != 0 else 1.0
    return float(stats.ttest_1samp(v, 0.0).pvalue)


def differences_markdown(diffs: dict, reference: str = "reds") -> str:
    budgets = sorted({b for m in diffs.values() for b in m}, key=float, reverse=True)
    lines = [f"int8 accuracy of each method minus that of `{reference}`, paired by seed (points, mean ± std; in "
             f"brackets: seeds where the method is below {reference} / all seeds, and the two-sided p of a "
             "paired t-test).", "",
             "| method | " + " | ".join(f"{100 * float(b):.0f} % MACs" for b in budgets) + " |",
             "|---|" + "---:|" * len(budgets)]
    for m, rows in diffs.items():
        cells = []
        for b in budgets:
            v = rows.get(b, {}).get("int8", [])
            p = paired_p(v) if v else None
            pv = "" if p is None else f", p={p:.2f}" if p >= 0.01 else ", p<0.01"
            cells.append(f"{_pm(v)} ({sum(x < 0 for x in v)}/{len(v)}{pv})" if v else "")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(table: dict, seeds: list[dict], path: Path) -> None:
    """int8 accuracy against the subnet's MACs (error bars = std over seeds): every method on the
    left, the right panel zoomed on the methods that stay within 30 % of the best."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = [100 * r["int8"]["mean"] for rows in table.values() for r in rows.values()]
    near = [v for v in means if v >= 0.7 * max(means)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax in axes:
        for m, rows in table.items():
            budgets = sorted(rows, key=float)
            ax.errorbar([100 * float(b) for b in budgets], [100 * rows[b]["int8"]["mean"] for b in budgets],
                        yerr=[100 * rows[b]["int8"]["std"] for b in budgets], marker="o", capsize=3, label=m)
        ax.set_xlabel("MAC budget, % of the full model")
        ax.set_xticks([25, 50, 75, 100])
        ax.grid(alpha=0.3)
    n = len(seeds)
    axes[0].set_title(f"int8 as deployed, mean ± std over {n} seed{'s' if n > 1 else ''}")
    axes[0].set_ylabel("test accuracy, %")
    axes[1].set_ylim(min(near) - 3, 100)
    axes[1].set_title("the same, zoomed")
    axes[1].legend(loc="lower right")
    fig.suptitle("DS-CNN-S on synthetic keyword spotting: nested subnets vs baselines")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(table: dict, seeds: list[dict]) -> str:
    budgets = sorted({b for m in table.values() for b in m}, key=float, reverse=True)
    spread = f"mean ± std over {len(seeds)} seeds" if len(seeds) > 1 else "one seed, no spread"
    lines = [f"Test accuracy %, {spread}; float / int8 (as deployed, C runtime bit-exact with TFLM).", "",
             "| method | " + " | ".join(f"{100 * float(b):.0f} % MACs" for b in budgets) + " |",
             "|---|" + "---:|" * len(budgets)]
    for m, rows in table.items():
        cells = []
        for b in budgets:
            r = rows.get(b)
            if r is None:
                cells.append("")
                continue
            f, q = r["float"], r["int8"]
            pm = lambda v: f"{100 * v['mean']:.1f}" + (f" ± {100 * v['std']:.1f}" if v["n"] > 1 else "")  # noqa: E731
            cells.append(f"{pm(f)} / {pm(q)}" + (f" (n={f['n']})" if f["n"] != len(seeds) else ""))
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", type=Path, help="reds compare output folders (one per seed)")
    ap.add_argument("--json", type=Path, help="write the evaluation here")
    ap.add_argument("--from-json", type=Path, help="reuse an earlier evaluation instead of the run folders")
    ap.add_argument("--md", type=Path)
    ap.add_argument("--plot", type=Path, help="PNG of accuracy against MACs")
    args = ap.parse_args()
    if args.from_json:
        doc = json.loads(args.from_json.read_text())
        seeds, command = doc["seeds"], doc["command"]
    elif args.runs and args.json:
        seeds = [read_seed(r) for r in args.runs]
        command = "python docs/benchmarks/bench_kws_compare.py " + " ".join(str(r) for r in args.runs)
    else:
        ap.error("give run folders and --json, or --from-json")
    table, diffs = summary(seeds), paired_differences(seeds)
    if args.json:
        args.json.write_text(json.dumps({"seeds": seeds, "summary": table, "paired_vs_reds": diffs,
                                         "command": command}, indent=1) + "\n")
    text = markdown(table, seeds) + "\n" + differences_markdown(diffs)
    if args.md:
        args.md.write_text(text)
    if args.plot:
        plot(table, seeds, args.plot)
    print(text)


if __name__ == "__main__":
    main()
