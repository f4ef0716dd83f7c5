"""Largest model that runs on each emulated target, by both paths a model reaches a board.

For each QEMU target: reads the upload slot from `reds-info`, then runs an int8 fully connected
model just under the slot through `reds exec` (uploaded over the serial link) and one well
over it (compiled into the firmware), each checked bit for bit against TFLM. The compiled-in
limit is the code region of the target's linker script minus the firmware without a model.
Prints a Markdown table for docs/boards.md and writes JSON.

    python docs/benchmarks/bench_model_limits.py [--targets qemu_m4,qemu_m7,qemu_m33] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from reds.runtime.golden import input_spec

CODE_BYTES = 4 * 1024 * 1024  # CODE region of boards/targets/qemu_mps2/mps2_an*.ld


CACHE: Path | None = None  # --cache: keep converted models between runs


def fc_model(weight_bytes: int, seed: int = 0) -> bytes:
    if CACHE is not None and (CACHE / f"fc_{weight_bytes}_{seed}.tflite").exists():
        return (CACHE / f"fc_{weight_bytes}_{seed}.tflite").read_bytes()
    model = _fc_model(weight_bytes, seed)
    if CACHE is not None:
        CACHE.mkdir(parents=True, exist_ok=True)
        (CACHE / f"fc_{weight_bytes}_{seed}.tflite").write_bytes(model)
    return model


def _fc_model(weight_bytes: int, seed: int) -> bytes:
    """int8 model N -> 64 -> 10 whose weights take about `weight_bytes` (64 N of them): wide in
    its input, so it stays within any per-layer channel limit of the runtime."""
    import keras

    from reds.export.convert import to_int8_tflite

    n = max(16, weight_bytes // 64)
    keras.utils.set_random_seed(seed)
    inp = keras.Input((n,), batch_size=1)
    x = keras.layers.Dense(64, activation="relu")(inp)
    out = keras.layers.Dense(10)(x)
    calib = np.random.default_rng(seed).normal(size=(8, n)).astype(np.float32)
    return to_int8_tflite(keras.Model(inp, out), calib)


def tflm(model: bytes, x: np.ndarray) -> np.ndarray:
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model)
    outs = []
    for xi in x:
        interp.set_input(xi[None], 0)
        interp.invoke()
        outs.append(interp.get_output(0).copy())
    return np.concatenate(outs)


def run(target: str, model: bytes) -> dict:
    from reds_app.execute import execute

    n = int(input_spec(model)[0][-1])
    x = np.random.default_rng(1).integers(-128, 128, (2, n), dtype=np.int8)
    t0 = time.monotonic()
    res = execute(model, x, target=target)
    return {"bytes": len(model), "path": res.model_path, "seconds": round(time.monotonic() - t0, 1),
            "bit_exact": bool(np.array_equal(res.outputs.reshape(2, -1), tflm(model, x)))}


def board_build_line(target: str) -> dict:
    from reds_bench.board import firmware

    line = next(ln for ln in firmware.boot_and_ask(target, "reds-info") if ln.startswith("m-reds-build"))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def text_bytes(target: str) -> int:
    from reds_bench.board import firmware

    out = subprocess.run(["arm-none-eabi-size", "-B", str(firmware.artifact(target))],
                         capture_output=True, text=True, check=True).stdout.splitlines()[1].split()
    return int(out[0]) + int(out[1])  # text + data (its load image is in CODE too)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default="qemu_m4,qemu_m7,qemu_m33")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--cache", type=Path, help="directory that keeps the converted models")
    args = ap.parse_args(argv)
    global CACHE
    CACHE = args.cache
    rows = []
    for target in args.targets.split(","):
        build = board_build_line(target)
        slot, default_model = build["model_slot_bytes"], 3344
        code_free = CODE_BYTES - text_bytes(target) + default_model
        under = fc_model(slot - 8192)
        while len(under) > slot:  # the flatbuffer adds a little around the weights
            under = fc_model(slot - 8192 - 2 * (len(under) - slot))
        over = fc_model(int(code_free * 0.9))
        rows.append({"target": target, "work_ram_bytes": build["work_ram_bytes"],
                     "model_slot_bytes": slot, "arena_capacity": build["arena_capacity"],
                     "input_max": build["input_max"], "compiled_in_max_bytes": code_free,
                     "uploaded": run(target, under), "compiled_in": run(target, over)})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print("| target | work RAM | upload slot | arena | input | largest uploaded model run | "
          "compiled-in limit | largest compiled-in model run |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        u, c = r["uploaded"], r["compiled_in"]
        print(f"| `{r['target']}` | {r['work_ram_bytes']} | {r['model_slot_bytes']} | "
              f"{r['arena_capacity']} | {r['input_max']} | {u['bytes']} ({u['path']}, "
              f"bit-exact {u['bit_exact']}) | {r['compiled_in_max_bytes']} | {c['bytes']} "
              f"({c['path']}, bit-exact {c['bit_exact']}) |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if all(r["uploaded"]["bit_exact"] and r["compiled_in"]["bit_exact"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
