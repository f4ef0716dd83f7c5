"""Benchmark (not a test): native C runtime vs tflite_micro's Interpreter.invoke on the host.

    .venv/bin/python docs/benchmarks/bench_runtime.py \
        [--json docs/benchmarks/runtime_native.json]

Models: tests/support/modelgen.py's fixed architectures plus the demo DS-CNN (ds_cnn_digits,
built as in bench_qemu.py). Host build: x86-64 gcc -O2, portable C path.

Runtime time: median of reds_invoke timed in C (clock_gettime). TFLM time: median of
Interpreter.invoke() timed in Python (perf_counter; includes the pybind call, no input copy).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))  # the test-model generator
sys.path.insert(0, str(ROOT / "docs" / "benchmarks"))  # bench_qemu.nested_model

import modelgen  # noqa: E402
from reds.runtime.binding import Runtime
from tflite_micro.python.tflite_micro import runtime as tfm  # noqa: E402


def bench(model: bytes, repeat: int = 200) -> dict:
    rt = Runtime(model)
    ref = tfm.Interpreter.from_bytes(model)
    d = ref.get_input_details(0)
    rng = np.random.default_rng(0)
    x = (rng.integers(-128, 128, size=d["shape"]).astype(np.int8) if d["dtype"] == np.int8
         else rng.uniform(-1, 1, size=d["shape"]).astype(np.float32))
    ref.set_input(x, 0)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        ref.invoke()
        times.append(time.perf_counter_ns() - t0)
    tflm = float(np.median(times))
    ours = rt.time_per_inference_ns(x, repeat)
    return {"macs": rt.macs(0), "reds_ns": ours, "tflm_ns": tflm, "speedup": tflm / ours}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    import bench_qemu

    results = {}
    builders = {name: (lambda n=name: modelgen.build(n)) for name in sorted(modelgen.MODELS)}
    builders["ds_cnn_digits"] = lambda: bench_qemu.nested_model("ds_cnn_digits")[0]
    for name, build in builders.items():
        results[name] = bench(build())
        r = results[name]
        print(f"{name:18s} macs={r['macs']:7d} reds={r['reds_ns']/1e3:8.1f}us tflm={r['tflm_ns']/1e3:8.1f}us x{r['speedup']:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
