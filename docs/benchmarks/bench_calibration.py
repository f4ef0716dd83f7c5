"""Int8 vs float accuracy per subnet, full-model-only vs all-subnet calibration (reds.calibrate).

DS-CNN (zoo "ds_cnn_digits") on scikit-learn digits, subnets uniform 100/75/50/25 %, pretrain 30
epochs (lr 3e-3) + joint fine-tune 60 epochs (lr 5e-3), seed 0. int8 accuracy = TFLM on
slicing.slice_model(nested, k). Usage:
    .venv/bin/python docs/benchmarks/bench_calibration.py [--eval test|valtest] [--weights W.h5]
"""
import argparse, json, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
from reds import calibrate, datasets, export, finetune, slicing, slimmable, zoo
from reds.verify import tflm_outputs

ap = argparse.ArgumentParser()
ap.add_argument("--eval", default="test", choices=["test", "valtest"])
ap.add_argument("--weights", default="/tmp/reds_calib_ds_cnn_digits.weights.h5")
ap.add_argument("--finetune-epochs", type=int, default=60)
a = ap.parse_args()
d = datasets.load_digits(seed=0)
model = zoo.build_model("ds_cnn_digits", num_classes=10, seed=0)
groups = zoo.channel_groups(model)
widths = [slimmable.uniform_widths(groups, f) for f in (1.0, 0.75, 0.5, 0.25)]
if os.path.exists(a.weights):
    model.load_weights(a.weights)
else:
    finetune.pretrain(model, d, epochs=30, lr=3e-3, seed=0, progress=False)
    finetune.finetune_joint(model, d, widths, epochs=a.finetune_epochs, lr=5e-3, progress=False, seed=0)
    model.save_weights(a.weights)
xe, ye = (d.x_test, d.y_test) if a.eval == "test" else (
    np.concatenate([d.x_val, d.x_test]), np.concatenate([d.y_val, d.y_test]))
res = {"float": finetune.evaluate_subnets(model, xe, ye, widths)}
m1 = zoo.with_batch(model, 1)
tfl = calibrate._quiet(export.to_int8_tflite, m1, d.x_train)
models = calibrate.subnet_models(tfl, m1, groups, widths, d.x_train)
for method in ("none", "union", "mse"):
    cal = tfl if method == "none" else calibrate.calibrate(tfl, m1, groups, widths, d.x_train,
                                                         method=method, models=models).model
    nested = export.nest_plan(cal, groups, widths)
    xq = export.quantize_input(nested, xe)
    res[method] = [float(np.mean(np.argmax(tflm_outputs(slicing.slice_model(nested, k), xq), 1) == ye))
                   for k in range(len(widths))]
print(f"eval on {a.eval} ({len(ye)} samples); subnets 100/75/50/25 %")
for k, v in res.items():
    gap = "" if k == "float" else "   int8-float: " + " ".join(f"{100 * (x - f):+5.1f}" for x, f in zip(v, res["float"]))
    print(f"{k:6s}", " ".join(f"{100 * x:5.1f}" for x in v), gap)
print(json.dumps(res))
