"""Benchmark (not a test): wall time of the whole `reds demo`, per step, from an empty run dir.

    .venv/bin/python docs/benchmarks/bench_demo.py [--target qemu_m4] [--fast] [--out docs/benchmarks/demo.json]

Runs the demo twice in fresh temporary directories to also check determinism (both runs must
export the same model file byte for byte). Goal: the whole demo in <= 5 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def one_run(target: str, fast: bool) -> tuple[dict, bytes]:
    from reds_app.demo import run_demo
    from reds.pipeline.rundir import RunDir

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_demo(Path(tmp) / "demo", target, fast)
        wall = time.perf_counter() - t0
        run = RunDir(Path(tmp) / "demo")
        steps = {s: r["seconds"] for s, r in run.finished.items()}
        metrics = run.read_json("metrics.json")
        return ({"wall_seconds": round(wall, 1), "steps": steps, "metrics": metrics},
                (run / "model.tflite").read_bytes())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="qemu_m4")
    ap.add_argument("--fast", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "demo.json"))
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    first, model_a = one_run(args.target, args.fast)
    print(f"run 1: {first['wall_seconds']} s", flush=True)
    second, model_b = one_run(args.target, args.fast)
    print(f"run 2: {second['wall_seconds']} s; same model file: {model_a == model_b}", flush=True)
    doc = {"target": args.target, "fast": args.fast, "cpus": os.cpu_count(),
           "python": platform.python_version(), "runs": [first, second],
           "deterministic": model_a == model_b}
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    return 0 if model_a == model_b else 1


if __name__ == "__main__":
    sys.exit(main())
