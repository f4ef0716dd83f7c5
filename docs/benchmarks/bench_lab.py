"""Benchmark (not a test): one bench run spread over two labgrid places vs one place.

    .venv/bin/python docs/benchmarks/bench_lab.py [--samples 48] [--out docs/benchmarks/lab.json]

Starts the one-machine lab of the tests (tests/support/lab.py: coordinator, exporter, two
QEMU qemu_m4 boards behind ser2net, QMP power service), then runs `spread_bench` of the
default model over both places with a labelled held-out split. In the same run the accuracy
step is timed twice: split over the two boards, and on the first board alone over the whole
split (`baseline=True`); both accuracies must be equal. Also timed: the lab's start-up, one
acquire + serial resolve + release of a place, and a power cycle back to the boot banner.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))


def labelled_split(path: Path, model: bytes, n: int) -> Path:
    from reds_bench.measure.steps import golden_output, random_inputs

    xs = random_inputs(model, n, seed=11)
    y = [int(np.argmax(np.frombuffer(golden_output(model, x), np.int8))) for x in xs]
    np.savez(path, x=np.stack([np.frombuffer(x, np.int8) for x in xs]), y=np.array(y))
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=48)
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "lab.json"))
    ap.add_argument("--elf", help="prebuilt qemu_m4 firmware (default: build it)")
    args = ap.parse_args(argv)

    from lab import Lab, lab_tools_missing
    from reds_bench.board import firmware, protocol
    from reds_bench.board.factory import BoardSpec, create_board
    from reds_bench.measure.spread import spread_bench

    missing = lab_tools_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    model_path = ROOT / "boards" / "firmware" / "default_model.tflite"
    elf = Path(args.elf) if args.elf else firmware.build("qemu_m4")
    with tempfile.TemporaryDirectory(prefix="reds-lab-bench-") as tmp:
        tmp = Path(tmp)
        t0 = time.monotonic()
        with Lab(tmp / "lab", boards=("board-a", "board-b"), elf=elf) as lab:
            started = time.monotonic() - t0
            os.environ["LG_COORDINATOR"] = lab.coordinator
            specs = [BoardSpec(env="qemu_m4", id=n, labgrid={"place": n}) for n in lab.boards]

            t0 = time.monotonic()
            board = create_board(hw=specs[0], log_dir=tmp / "logs")
            acquire = time.monotonic() - t0
            t0 = time.monotonic()
            board.place.power("cycle")
            board.expect(rf"m-{protocol.BOOT_TAG}", timeout=20)
            cycle = time.monotonic() - t0
            t0 = time.monotonic()
            board.close()
            release = time.monotonic() - t0

            data = labelled_split(tmp / "split.npz", model_path.read_bytes(), args.samples)
            t0 = time.monotonic()
            res = spread_bench(specs, model=model_path, out=tmp / "out", dataset=data,
                               baseline=True, runs=5, warmup=1, switch_runs=20, inputs=2,
                               plots=False, progress=False)
            total = time.monotonic() - t0
    spread = res["spread"]
    report = {
        "command": "python docs/benchmarks/bench_lab.py " + " ".join(argv or sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_at_end": os.getloadavg()},
        "samples": args.samples, "subnets": len(res["model"]["subnets"]),
        "lab_start_seconds": started, "acquire_and_connect_seconds": acquire,
        "power_cycle_to_banner_seconds": cycle, "release_seconds": release,
        "accuracy_two_boards_seconds": spread["accuracy_seconds"],
        "accuracy_one_board_seconds": spread["single_board_seconds"],
        "ratio_two_over_one": spread["accuracy_seconds"] / spread["single_board_seconds"],
        "accuracies_equal": spread["single_board_equal"],
        "accuracy": [{"subnet": a["subnet"], "int8_accuracy": a["int8_accuracy"],
                      "boards": a["boards"]} for a in res["accuracy"]],
        "bit_exact": [c["bit_exact"] for c in res["correctness"]],
        "spread_run_seconds": total,
        "boards": spread["boards"],
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k not in ("boards", "accuracy")},
                     indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
