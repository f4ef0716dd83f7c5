"""Benchmark (not a test): int8 vs float accuracy per subnet for three calibration methods.

    .venv/bin/python docs/benchmarks/bench_calibration.py [--eval test|valtest] [--retrain]

DS-CNN (zoo "ds_cnn_digits") on scikit-learn digits, subnets at uniform 100/75/50/25 % widths,
pretrained 30 epochs (lr 3e-3) and jointly fine-tuned 60 epochs (lr 5e-3), seed 0; the trained
weights are cached in build/bench_calibration/. Methods: `none` (ranges of the full model only,
as the converter calibrates), `union` (widest range over all subnets) and `mse` (the toolkit's
default, reds.export.calibrate). int8 accuracy = TFLM on slicing.slice_model(nested, k).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from reds.export import convert

ROOT = Path(__file__).resolve().parents[2]
WIDTH_FRACTIONS = (1.0, 0.75, 0.5, 0.25)


def trained_model(retrain: bool, finetune_epochs: int):
    from reds.data import builtin as datasets
    from reds.train import finetune, pretrain
    from reds.model import groups as keras_groups, slimmable, zoo

    d = datasets.load_digits(seed=0)
    model = zoo.build_model("ds_cnn_digits", num_classes=10, seed=0)
    groups = keras_groups.channel_groups(model)
    widths = [slimmable.fraction_widths(groups, f) for f in WIDTH_FRACTIONS]
    cache = ROOT / "build" / "bench_calibration" / f"weights_ft{finetune_epochs}.weights.h5"
    if cache.exists() and not retrain:
        model.load_weights(cache)
    else:
        pretrain.pretrain(model, d, epochs=30, lr=3e-3, seed=0, progress=False)
        finetune.finetune_joint(model, d, widths, epochs=finetune_epochs, lr=5e-3,
                                progress=False, seed=0)
        cache.parent.mkdir(parents=True, exist_ok=True)
        model.save_weights(cache)
    return d, model, groups, widths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", default="test", choices=["test", "valtest"])
    ap.add_argument("--finetune-epochs", type=int, default=60)
    ap.add_argument("--retrain", action="store_true", help="ignore the cached weights")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from reds.export import calibrate, nested as export
    from reds.train import finetune
    from reds.tflite import slicing
    from reds.model import zoo
    from reds.runtime.golden import tflm_outputs

    d, model, groups, widths = trained_model(args.retrain, args.finetune_epochs)
    xe, ye = (d.x_test, d.y_test) if args.eval == "test" else (
        np.concatenate([d.x_val, d.x_test]), np.concatenate([d.y_val, d.y_test]))
    res = {"float": finetune.evaluate_subnets(model, xe, ye, widths)}
    m1 = zoo.with_batch(model, 1)
    tfl = convert.to_int8_tflite(m1, d.x_train)
    models = calibrate.subnet_models(tfl, m1, groups, widths, d.x_train)
    for method in ("none", "union", "mse"):
        cal = tfl if method == "none" else calibrate.calibrate(
            tfl, m1, groups, widths, d.x_train, method=method, models=models).model
        nested = export.nest_plan(cal, groups, widths)
        xq = convert.quantize_input(nested, xe)
        res[method] = [float(np.mean(np.argmax(tflm_outputs(slicing.slice_model(nested, k), xq), 1)
                                     == ye)) for k in range(len(widths))]
    print(f"eval on {args.eval} ({len(ye)} samples); subnets 100/75/50/25 % widths")
    for name, accs in res.items():
        gap = "" if name == "float" else "   int8-float: " + " ".join(
            f"{100 * (x - f):+5.1f}" for x, f in zip(accs, res["float"]))
        print(f"{name:6s}", " ".join(f"{100 * x:5.1f}" for x in accs), gap)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
