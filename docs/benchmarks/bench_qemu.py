"""Benchmark (not a test): the C runtime's int8 kernels on QEMU Cortex-M4 (mps2-an386).

    .venv/bin/python docs/benchmarks/bench_qemu.py \
        [--json docs/benchmarks/runtime_qemu.json] [--runs 5] [--variants dsp,portable]

Under ``-icount shift=0`` one guest instruction is 1 ns of virtual time and the firmware's
SysTick (25 MHz) ticks every 40 instructions, so ``reds-bench`` medians are deterministic
instruction counts (not cycles: QEMU models no pipeline, caches or wait states).

Two firmware builds of env ``qemu_m4`` (-O2):
  dsp       the env as configured (-DREDS_USE_DSP: SXTB16/SMLAD kernels)
  portable  the same with PLATFORMIO_BUILD_FLAGS=-UREDS_USE_DSP (plain C kernels), own build dir

Models (each nested to uniform 100/75/50/25 % channel widths with ``reds.tflite.slicing.nest``):
  ds_cnn_digits  reds.model.zoo "ds_cnn_digits" (8x8x1, 10 classes, 32 channels, 4 DS blocks),
                 untrained weights, converted with reds.export.convert.to_int8_tflite
  ds_cnn_s       reds.model.zoo "ds_cnn_s" (49x10x1 MFCC, 12 classes, 64 channels, conv 10x4 stride 2
                 + 4 DS blocks), untrained, same export
  conv_dw_gap, residual   tests/support/modelgen.py (odd channel counts, 3x3 / 1x1, ADD)
  vww_mobilenet_v1_025, ic_resnet8, ad_autoencoder_float, ds_cnn_l   full-size public models
                 (modelgen.PUBLIC); over 64 KB, which the firmware's per-target upload slot
                 (megabytes on the MPS2 boards) takes:
    ... bench_qemu.py --variants dsp --models ds_cnn_s,vww_mobilenet_v1_025,ic_resnet8,\
        ad_autoencoder_float,ds_cnn_l --runs 1 --json docs/benchmarks/runtime_qemu_public.json
Per subnet: instructions per inference, MACs, instructions/MAC, and latency(k)/latency(0) vs
MACs(k)/MACs(0).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from reds.export import convert

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))  # modelgen

CACHE = ROOT / "build" / "bench_models"
FRACTIONS = (1.0, 0.75, 0.5, 0.25)
VARIANTS = {
    # name: (extra PLATFORMIO_BUILD_FLAGS, build dir)
    "dsp": ("", ROOT / "build" / "bench_qemu" / "dsp"),
    "portable": ("-UREDS_USE_DSP", ROOT / "build" / "bench_qemu" / "portable"),
}


def ds_cnn_digits() -> bytes:
    from reds.model import zoo

    m = zoo.build_model("ds_cnn_digits", (8, 8, 1), 10)
    x = np.random.default_rng(0).uniform(0.0, 1.0, size=(64, 8, 8, 1)).astype(np.float32)
    return convert.to_int8_tflite(zoo.with_batch(m, 1), x)


def ds_cnn_s() -> bytes:
    """DS-CNN-S for KWS (49x10 MFCC, 12 classes, 64 channels): pointwise-dominated."""
    from reds.model import zoo

    m = zoo.build_model("ds_cnn_s", (49, 10, 1), 12)
    x = np.random.default_rng(0).normal(0.0, 1.0, size=(32, 49, 10, 1)).astype(np.float32)
    return convert.to_int8_tflite(zoo.with_batch(m, 1), x)


def modelgen_model(name: str):
    def build() -> bytes:
        import modelgen

        return modelgen.build(name)
    return build


MODELS = {"ds_cnn_digits": ds_cnn_digits, "ds_cnn_s": ds_cnn_s, "conv_dw_gap": modelgen_model("conv_dw_gap"),
          "residual": modelgen_model("residual"),
          # full-size public architectures (tests/support/modelgen.py PUBLIC)
          "vww_mobilenet_v1_025": modelgen_model("vww_mobilenet_v1_025_int8"),
          "ic_resnet8": modelgen_model("ic_resnet8_int8"),
          "ad_autoencoder_float": modelgen_model("ad_autoencoder_float"),
          "ds_cnn_l": modelgen_model("ds_cnn_l_int8")}
DEFAULT_MODELS = "ds_cnn_digits,ds_cnn_s,conv_dw_gap,residual"


def nested_model(name: str) -> tuple[bytes, list[list[int]]]:
    """The model nested at FRACTIONS of every channel group (cached in build/bench_models)."""
    from reds.tflite import groups as graph, slicing

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}.tflite"
    if not path.exists():
        path.write_bytes(MODELS[name]())
    base = path.read_bytes()
    g = graph.derive_groups(base)
    widths = [[max(1, int(round(w * f))) for w in g.full_widths] for f in FRACTIONS]
    return slicing.nest(base, g, widths), widths


def build(variant: str) -> Path:
    from reds_bench.board import firmware

    flags, out = VARIANTS[variant]
    old = os.environ.get("PLATFORMIO_BUILD_FLAGS")
    try:
        if flags:
            os.environ["PLATFORMIO_BUILD_FLAGS"] = flags
        else:
            os.environ.pop("PLATFORMIO_BUILD_FLAGS", None)
        return firmware.build("qemu_m4", build_dir=out)
    finally:
        if old is None:
            os.environ.pop("PLATFORMIO_BUILD_FLAGS", None)
        else:
            os.environ["PLATFORMIO_BUILD_FLAGS"] = old


def measure(elf: Path, model: bytes, runs: int) -> list[dict]:
    from reds_bench.board.factory import BoardSpec, create_board
    from reds_bench.measure.steps import ensure_model, latency

    rows = []
    with create_board(hw=BoardSpec(env="qemu_m4"), firmware=elf, timeout=120.0) as board:
        info = ensure_model(board, model)
        for k in range(int(info["info"].get("subnets", 1))):
            lat = latency(board, k, runs)
            instr = lat["instructions"]
            if instr is None:  # older firmware: ticks * 40 on the 25 MHz an386
                instr = lat["median_ticks"] * 40
            rows.append({"subnet": k, "macs": int(lat["macs"]), "instructions": int(instr)})
    full = rows[0]
    for r in rows:
        r["instr_per_mac"] = r["instructions"] / r["macs"]
        r["mac_ratio"] = r["macs"] / full["macs"]
        r["latency_ratio"] = r["instructions"] / full["instructions"]
        r["ratio_error"] = r["latency_ratio"] / r["mac_ratio"] - 1.0
    return rows


def profile(elf: Path, model: bytes, subnet: int, log: Path, blocks_of: str | None = None
            ) -> dict[str, int]:
    """Instructions per function for one inference of `subnet` (QEMU -d exec,nochain,in_asm:
    every executed translation block is logged; its instruction count comes from in_asm).
    Counts two inferences (warm-up + 1 run) minus nothing else: only functions run by
    reds_invoke are reported, halved."""
    import re

    from reds_bench.board import firmware
    from reds_bench.board.factory import BoardSpec, create_board
    from reds_bench.measure.steps import ensure_model, latency

    orig = firmware.qemu_command

    def traced(env, elf_, port):
        return orig(env, elf_, port) + ["-d", "exec,nochain,in_asm", "-D", str(log)]

    firmware.qemu_command = traced
    try:
        with create_board(hw=BoardSpec(env="qemu_m4"), firmware=elf, timeout=600.0) as board:
            ensure_model(board, model)
            mark = log.stat().st_size
            latency(board, subnet, 1)
    finally:
        firmware.qemu_command = orig
    sizes: dict[int, int] = {}
    counts: dict[str, int] = {}
    with open(log, "rb") as f:
        text = f.read().decode("latin-1")
    start = None
    for line in text.splitlines():
        if line.startswith("IN:"):
            start = None
        m = re.match(r"0x([0-9a-f]{8}):", line)
        if m:
            a = int(m.group(1), 16)
            if start is None:
                start = a
                sizes[a] = 0
            sizes[start] += 1
    trace = re.compile(r"Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/[0-9a-f]+/[0-9a-f]+\] (\S+)")
    for line in text[mark:].splitlines():
        m = trace.match(line)
        if m:
            pc, fn = int(m.group(1), 16), m.group(2)
            if blocks_of is not None:
                if fn != blocks_of:
                    continue
                fn = f"{fn}+{pc:#x} ({sizes.get(pc, 0)} instr)"
            counts[fn] = counts.get(fn, 0) + sizes.get(pc, 0)
    return {k: v // 2 for k, v in sorted(counts.items(), key=lambda kv: -kv[1])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--variants", default="dsp,portable")
    ap.add_argument("--models", default=DEFAULT_MODELS, help=f"any of {','.join(MODELS)}")
    ap.add_argument("--profile", metavar="MODEL:SUBNET",
                    help="instructions per function for one inference (QEMU trace), then exit")
    ap.add_argument("--blocks-of", metavar="FUNCTION",
                    help="with --profile: instructions per translation block of FUNCTION")
    args = ap.parse_args(argv)
    if args.profile:
        name, k = args.profile.split(":")
        variant = args.variants.split(",")[0]
        log = ROOT / "build" / "bench_qemu" / f"trace_{variant}.log"
        log.unlink(missing_ok=True)
        prof = profile(build(variant), nested_model(name)[0], int(k), log, args.blocks_of)
        log.unlink(missing_ok=True)
        for fn, n in prof.items():
            if n >= 500:
                print(f"{fn:40s} {n:10d}")
        return 0
    results: dict = {"target": "qemu_m4 (mps2-an386, -icount shift=0)", "unit": "instructions",
                     "fractions": list(FRACTIONS), "variants": {}}
    models = {name: nested_model(name) for name in args.models.split(",")}
    for variant in args.variants.split(","):
        t0 = time.time()
        elf = build(variant)
        print(f"[{variant}] built {elf} in {time.time() - t0:.0f}s")
        results["variants"][variant] = {}
        for name, (model, widths) in models.items():
            rows = measure(elf, model, args.runs)
            for r, w in zip(rows, widths):
                r["widths"] = w
            results["variants"][variant][name] = rows
            for r in rows:
                print(f"[{variant}] {name:14s} k={r['subnet']} macs={r['macs']:8d} "
                      f"instr={r['instructions']:9d} instr/MAC={r['instr_per_mac']:5.2f} "
                      f"MACs {100 * r['mac_ratio']:5.1f}% latency {100 * r['latency_ratio']:5.1f}% "
                      f"({100 * r['ratio_error']:+.1f}%)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
