"""int8 accuracy per subnet for `reds compare` runs, and the mean over seeds (docs/results.md).

`reds compare` measures float accuracy. This script takes its output folders (one per seed),
cuts every method's subnet out of the method's trained model (widths from compare.json),
converts it to int8 with the export's converter (calibration on the training split) and runs
the test split through the C runtime's host build (bit-exact with TFLM). It writes one JSON
and a markdown table of mean +- standard deviation over the seeds, float and int8.

    for s in 0 1 2; do reds compare --recipe models/kws_synth/recipe.yaml \\
        --out runs/kws_compare/seed$s --seed $s; done
    python docs/benchmarks/bench_kws_compare.py runs/kws_compare/seed0 runs/kws_compare/seed1 \\
        runs/kws_compare/seed2 --json docs/benchmarks/kws_compare.json --md docs/benchmarks/kws_compare.md
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "toolkit"))

CALIBRATION = 300


def method_model(run: Path, method: str, k: int) -> Path:
    return run / "independent" / f"subnet{k}.keras" if method == "independent" else run / method / "model.keras"


def int8_accuracy(model, widths: dict | None, data) -> float:
    from reds.export import quantize_input, to_int8_tflite
    from reds.keras_groups import channel_groups
    from reds.runtime import Runtime
    from reds.slimmable import slice_keras_model

    sub = slice_keras_model(model, widths, channel_groups(model)) if widths else model
    tfl = to_int8_tflite(sub, data.x_train, max_samples=CALIBRATION)
    rt = Runtime(tfl)
    xq = quantize_input(tfl, data.x_test)
    pred = np.array([int(np.argmax(rt.invoke(x[None]))) for x in xq])
    return float(np.mean(pred == data.y_test))


def evaluate_seed(run: Path) -> dict:
    import keras

    from reds.datasets import load_dataset

    doc = json.loads((run / "compare.json").read_text())
    opts = {k: v for k, v in doc["dataset"].items() if k != "name"}
    data = load_dataset(doc["dataset"]["name"], seed=doc["seed"], **opts)
    out = {"seed": doc["seed"], "test_samples": int(len(data.y_test)), "methods": {}}
    for method, res in doc["methods"].items():
        rows = []
        for k, row in enumerate(res["subnets"]):
            path = method_model(run, method, k)
            if not path.exists():
                break
            model = keras.models.load_model(path, compile=False)
            widths = None if method == "independent" else row["widths"]
            rows.append({"budget": row["budget"], "macs_fraction": row.get("macs_fraction"),
                         "float_accuracy": row["float_accuracy"], "int8_accuracy": int8_accuracy(model, widths, data)})
            print(f"seed {doc['seed']} {method:12s} {row['budget']:.2f}: float {row['float_accuracy']:.4f} "
                  f"int8 {rows[-1]['int8_accuracy']:.4f}", flush=True)
        out["methods"][method] = rows
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


def markdown(table: dict, seeds: list[dict]) -> str:
    budgets = sorted({b for m in table.values() for b in m}, key=float, reverse=True)
    n = seeds[0]["test_samples"]
    spread = f"mean ± std over {len(seeds)} seeds" if len(seeds) > 1 else "one seed, no spread"
    lines = [f"Accuracy on the synthetic KWS test split ({n} clips per seed), {spread}; "
             "float / int8 (C runtime, bit-exact with TFLM).", "",
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
    ap.add_argument("runs", nargs="+", type=Path, help="reds compare output folders (one per seed)")
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--md", type=Path)
    args = ap.parse_args()
    seeds = [evaluate_seed(r) for r in args.runs]
    table = summary(seeds)
    args.json.write_text(json.dumps({"seeds": seeds, "summary": table,
                                     "command": "python docs/benchmarks/bench_kws_compare.py " +
                                                " ".join(str(r) for r in args.runs)}, indent=1) + "\n")
    text = markdown(table, seeds)
    if args.md:
        args.md.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
