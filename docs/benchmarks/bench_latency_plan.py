"""Benchmark: plan in the target's time. For each model, calibrate a per-op latency model on the
board, plan nested subnets for 75/50/25 % of the full *latency* and for 75/50/25 % of the full
*MACs*, run both families on the board and compare the measured share of the full model's
instructions with the budget.

    .venv/bin/python docs/benchmarks/bench_latency_plan.py --json docs/benchmarks/latency_plan.json
        [--target qemu_m4] [--models demo,ds_cnn_s] [--no-train]

Models: ``demo`` is the demo's ds_cnn_digits on scikit-learn's digits (pretrained here,
Taylor scores, and both families jointly fine-tuned so their test accuracy can be compared);
``ds_cnn_s`` is Hello Edge DS-CNN-S (49x10x1, 12 classes) untrained with magnitude scores:
its Speech Commands data is not on this machine, so its accuracy is null. Under QEMU with
-icount the counts are instructions (no caches, no wait states) and deterministic.

JSON: per model and budget {"model", "budget", "planned_by", "measured_instructions",
"full_instructions", "measured_share", "predicted_share", "accuracy"} under "subnets", the
latency model's error on held-back widths under "fit_error". Results: latency_plan.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

BUDGETS = [0.75, 0.5, 0.25]


def prepare(name: str, train: bool):
    """(keras model, scores, calibration inputs, dataset or None)."""
    from reds.train.importance import compute_scores
    from reds.model.zoo import build_model

    if name == "demo":
        from reds.data.registry import load_dataset
        from reds.train.pretrain import pretrain

        d = load_dataset("digits", seed=0)
        model = build_model("ds_cnn_digits", input_shape=d.input_shape, num_classes=d.num_classes, seed=0)
        if train:
            pretrain(model, d, epochs=30, batch_size=32, lr=0.003, seed=0, progress=False)
            scores = compute_scores(model, "taylor", data=(d.x_train, d.y_train), seed=0, progress=False)
        else:
            scores = compute_scores(model, "magnitude", seed=0, progress=False)
        return model, scores, d.x_train[:200], d if train else None
    if name == "ds_cnn_s":
        model = build_model("ds_cnn_s", input_shape=(49, 10, 1), num_classes=12, seed=0)
        calib = np.random.default_rng(0).standard_normal((20, 49, 10, 1)).astype(np.float32)
        return model, compute_scores(model, "magnitude", seed=0, progress=False), calib, None
    raise SystemExit(f"unknown model {name!r}: demo or ds_cnn_s")


def measure(dut, model: bytes) -> list[int]:
    """Instructions of one inference (median of 5) of every subnet of ``model``."""
    from reds_bench.measure.steps import ensure_model, latency

    info = ensure_model(dut, model, path="plan")
    return [int(latency(dut, int(s["index"]), runs=5)["instructions"]) for s in info["subnets"]]


def accuracy(model, scores, groups, d, widths_by_name) -> list[float]:
    """Joint fine-tune of the permuted model at these subnets, then float test accuracy."""
    from reds.train.finetune import evaluate_subnets, finetune_joint
    from reds.train.permute import permute_model

    m = permute_model(model, scores, groups=groups)
    finetune_joint(m, d, widths_by_name, epochs=30, batch_size=32, lr=0.003, bn_epochs=1,
                   groups=groups, seed=0)
    return [float(a) for a in evaluate_subnets(m, d.x_test, d.y_test, widths_by_name, groups=groups)]


def run_model(name: str, target: str, train: bool, out_dir: Path) -> dict:
    from reds.plan import planner
    from reds.export.convert import match_groups
    from reds.model.groups import channel_groups
    from reds.plan.problem import plan_problem
    from reds.tflite.slicing import nest
    from reds_bench.board.factory import create_board
    from reds_bench.measure.latency_fit import calibrate

    model, scores, calib, data = prepare(name, train)
    kgroups = channel_groups(model)
    problem, tfl = plan_problem(model, scores, calib)
    match = match_groups(kgroups, tfl)
    res = {"model": name, "subnets": []}
    with create_board(target) as dut:
        t0 = time.perf_counter()
        lm = calibrate(dut, tfl, target, n_fit=18, n_test=12, seed=0, runs=4)
        res["calibration_seconds"] = round(time.perf_counter() - t0, 1)
        lm_path = lm.save(out_dir / f"latency_model_{name}.json")
        res["fit_error"] = lm.fit_error
        res["latency_model"] = str(lm_path.relative_to(ROOT)) if lm_path.is_relative_to(ROOT) else str(lm_path)
        plans = {}
        plans["macs"] = planner.solve(problem, [1.0] + BUDGETS)
        lat_problem, _ = plan_problem(model, scores, calib, latency_model=lm_path)
        plans["latency"] = planner.solve(lat_problem, [1.0] + BUDGETS, budget_kind="latency")
        for by, plan in plans.items():
            widths = [match.widths(s.widths) for s in plan.subnets]
            instr = measure(dut, nest(tfl, match.groups, widths))
            accs = (accuracy(model, scores, kgroups, data, [s.widths for s in plan.subnets])
                    if data is not None else [None] * len(widths))
            for s, w, n, acc in zip(plan.subnets, widths, instr, accs):
                predicted = s.cost_fraction if by == "latency" else s.macs_fraction
                res["subnets"].append({
                    "model": name, "budget": s.budget, "planned_by": by,
                    "measured_instructions": n, "full_instructions": instr[0],
                    "measured_share": round(n / instr[0], 4), "predicted_share": round(predicted, 4),
                    "model_predicted_share": round(lm.predict(w) / lm.predict(widths[0]), 4),
                    "macs": s.macs, "macs_share": round(s.macs_fraction, 4), "status": s.status,
                    "accuracy": acc, "widths": w,
                })
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", required=True, type=Path)
    ap.add_argument("--target", default="qemu_m4")
    ap.add_argument("--models", default="demo,ds_cnn_s")
    ap.add_argument("--no-train", action="store_true", help="demo: untrained, magnitude scores, no accuracy")
    a = ap.parse_args(argv)
    out = {"target": a.target, "python": platform.python_version(), "budgets": BUDGETS,
           "command": "python docs/benchmarks/bench_latency_plan.py " + " ".join(argv or sys.argv[1:]),
           "unit": "instructions (QEMU -icount; no caches or wait states)",
           "subnets": [], "fit_error": {}, "models": {}}
    for name in a.models.split(","):
        r = run_model(name, a.target, not a.no_train, a.json.parent)
        out["subnets"] += r.pop("subnets")
        out["fit_error"][name] = r["fit_error"]
        out["models"][name] = r
        a.json.write_text(json.dumps(out, indent=1) + "\n")  # nothing measured is lost
    for s in out["subnets"]:
        acc = "-" if s["accuracy"] is None else f"{100 * s['accuracy']:.1f} %"
        print(f"{s['model']:9} {s['planned_by']:7} budget {s['budget']:.2f}: measured "
              f"{100 * s['measured_share']:5.1f} % (predicted {100 * s['predicted_share']:5.1f} %), "
              f"MACs {100 * s['macs_share']:5.1f} %, accuracy {acc}")
    for name, fe in out["fit_error"].items():
        print(f"{name}: fit error on held-back widths max {100 * fe['held_back']['max']:.2f} %, "
              f"mean {100 * fe['held_back']['mean']:.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
