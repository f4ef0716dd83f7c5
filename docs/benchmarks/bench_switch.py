"""Benchmark (not a test): subnetwork switch cost on QEMU Cortex-M4 for two model sizes.

    .venv/bin/python docs/benchmarks/bench_switch.py [--target qemu_m4] [--out docs/benchmarks/switch.json]

Each model is an untrained DS-CNN converted to int8 and nested with 4 uniform-width subnets
(100/75/50/25 % of the channels). The model is uploaded to the default firmware and
`reds-switch` times every pair i→j. Under -icount one SysTick tick is 40 instructions, so the
matrix is deterministic; the claim checked here is that the cost does not grow with the model.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def nested_ds_cnn(arch: str, input_shape, classes: int) -> bytes:
    from reds.tflite import groups as graph, slicing
    from reds.model import zoo
    from reds.export.convert import to_int8_tflite

    model = zoo.build_model(arch, input_shape=input_shape, num_classes=classes, seed=0)
    calib = np.random.default_rng(0).standard_normal((20,) + tuple(input_shape)).astype(np.float32)
    tfl = to_int8_tflite(zoo.with_batch(model, 1), calib)
    groups = graph.derive_groups(tfl)
    widths = [[max(1, round(f * w)) for w in groups.full_widths] for f in (1.0, 0.75, 0.5, 0.25)]
    return slicing.nest(tfl, groups, widths)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="qemu_m4")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "switch.json"))
    args = ap.parse_args(argv)
    from reds_bench.measure.runner import run_bench

    cases = {"ds_cnn_digits (32 ch, 8x8x1)": ("ds_cnn_digits", (8, 8, 1), 10),
             "ds_cnn_s (64 ch, 49x10x1)": ("ds_cnn_s", (49, 10, 1), 12)}
    rows = []
    for name, (arch, shape, classes) in cases.items():
        model = nested_ds_cnn(arch, shape, classes)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.tflite"
            path.write_bytes(model)
            res = run_bench(args.target, model=path, out=Path(tmp) / "bench", runs=5,
                            switch_runs=200, inputs=1, progress=False, plots=False)
        adapt = res["adaptation"]
        rows.append({"model": name, "bytes": len(model), "macs_full": res["latency"][0]["macs"],
                     "instructions_per_switch": adapt.get("instructions_per_switch"),
                     "mean_ns": adapt["mean_ns"], "max_ns": adapt["max_ns"],
                     "matrix_ticks": adapt["matrix_ticks"],
                     "bit_exact": [c["bit_exact"] for c in res["correctness"]]})
        print(f"{name}: {len(model):,} bytes, {rows[-1]['macs_full']:,} MACs, "
              f"{rows[-1]['instructions_per_switch']} instructions per switch", flush=True)
    Path(args.out).write_text(json.dumps({"target": args.target, "models": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
