"""Benchmark (not a test): runtime memory per model, and host time per inference vs tflite_micro.

    .venv/bin/python docs/benchmarks/bench_memory.py [--out docs/benchmarks/memory.json]

Full-size architectures with seeded (untrained) weights, converted to int8 by TF's converter and
nested into 4 uniform-width subnets (100/75/50/25 % of every channel group). For each: the fixed
context header, the persistent tables reds_init carves from the arena's tail, the largest
subnet's activations, and whether the old fixed context (REDS_MAX_TENSORS 128, OPS 64,
QCHANNELS 2048, SUBNETS 8, GROUPS 32; about 40 KB on a 32-bit target) could load the model.
Outputs of every subnet are compared with tflite_micro (the physically sliced model) on 2 inputs,
and the host time per inference of the full subnet (x86-64, gcc -O2, portable C, median of
reds_invoke timed in C) is compared with tflite_micro's Interpreter.invoke (median, Python timer).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CASES = {  # name: (zoo arch, input shape, classes, width multiplier)
    "KWS DS-CNN (MLPerf Tiny, ds_cnn_s)": ("ds_cnn_s", (49, 10, 1), 12, 1.0),
    "DS-CNN-L (Hello Edge)": ("ds_cnn_l", (49, 10, 1), 12, 1.0),
    "VWW MobileNetV1 a=0.25 96x96x3": ("mobilenet_v1", (96, 96, 3), 2, 0.25),
    "IC ResNet-8 32x32x3": ("resnet8", (32, 32, 3), 10, 1.0),
    "DNN-L (Hello Edge)": ("dnn_l", (49, 10, 1), 12, 1.0),
    "CNN-L (Hello Edge)": ("cnn_l", (49, 10, 1), 12, 1.0),
}
OLD = {"tensors": 128, "ops": 64, "qchannels": 2048, "subnets": 8, "groups": 32}


def build(arch, shape, classes, width_mult):
    from reds.tflite import slicing
    from reds.model import zoo
    from reds.export.convert import to_int8_tflite

    model = zoo.build_model(arch, input_shape=shape, num_classes=classes, width_mult=width_mult, seed=0)
    calib = np.random.default_rng(0).standard_normal((20,) + tuple(shape)).astype(np.float32)
    tfl = to_int8_tflite(zoo.with_batch(model, 1), calib)
    groups = slicing._graph.derive_groups(tfl)
    widths = [[max(1, round(f * w)) for w in groups.full_widths] for f in (1.0, 0.75, 0.5, 0.25)]
    return slicing.nest(tfl, groups, widths), groups, widths


def tflm_median_us(model: bytes, x: np.ndarray, repeat: int) -> tuple[float, np.ndarray]:
    from tflite_micro.python.tflite_micro import runtime as tflm

    interp = tflm.Interpreter.from_bytes(model)
    interp.set_input(x[None], 0)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        interp.invoke()
        times.append(time.perf_counter_ns() - t0)
    return float(np.median(times)) / 1e3, np.array(interp.get_output(0))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "memory.json"))
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    from reds.tflite import slicing, flatbuffer as tflite_io
    from reds.runtime.binding import Runtime, load_library

    ctx_header = int(load_library().reds_ctx_size())
    rows = []
    for name, (arch, shape, classes, width_mult) in CASES.items():
        nested, groups, widths = build(arch, shape, classes, width_mult)
        m = tflite_io.load_model(nested)
        qch = sum(m.tensors[o.outputs[0]].shape[-1] for o in m.operators
                  if o.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"))
        counts = {"tensors": len(m.tensors), "ops": len(m.operators), "qchannels": qch,
                  "subnets": len(widths), "groups": len(groups.full_widths)}
        rt = Runtime(nested)
        rng = np.random.default_rng(1)
        bit_exact = []
        for k in range(rt.num_subnets):
            sliced = slicing.slice_model(nested, k)
            rt.select(k)
            ok = True
            for _ in range(2):
                x = rng.integers(-128, 128, size=rt.input_shape()[1:], dtype=np.int8)
                _, ref = tflm_median_us(sliced, x, 1)
                ok &= bool(np.array_equal(rt.invoke(x[None]).reshape(-1), ref.reshape(-1)))
            bit_exact.append(ok)
        rt.select(0)
        x = rng.integers(-128, 128, size=rt.input_shape()[1:], dtype=np.int8)
        reds_us = rt.time_per_inference_ns(x[None], repeat=args.repeat) / 1e3
        tflm_us, _ = tflm_median_us(nested, x, args.repeat)
        row = {"model": name, "arch": arch, "file_bytes": len(nested), "macs_full": rt.macs(0),
               **counts, "ctx_header_bytes": ctx_header, "persistent_bytes": rt.persistent_bytes,
               "activation_bytes_max": max(rt.arena_bytes(k) for k in range(rt.num_subnets)),
               "old_context_could_load": all(counts[k] <= OLD[k] for k in OLD),
               "host_us_reds": round(reds_us, 1), "host_us_tflite_micro": round(tflm_us, 1),
               "host_ratio": round(reds_us / tflm_us, 3), "bit_exact_per_subnet": bit_exact}
        rows.append(row)
        print(json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps({"host": "x86-64 gcc -O2 portable C", "models": rows},
                                         indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
