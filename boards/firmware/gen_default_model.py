#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generate boards/firmware/model_data.c: the tiny REDS model compiled into the firmware.

The model is a deterministic int8 MLP, input [1, 16] -> FC 12 (ReLU) -> FC 8 (ReLU) -> FC 4,
with a REDS metadata entry (docs/metadata.md) of two channel groups (12, 8) and four nested
subnetworks. It only has to make every build work and give the bench something to measure;
real models come from `reds export` (which writes the same kind of C file).

    python boards/firmware/gen_default_model.py            # rewrite model_data.c (+ .tflite)
    python boards/firmware/gen_default_model.py --check    # fail if the committed file is stale

The emitted file honours -DREDS_MODEL_SOURCE="path.c": that file is compiled instead, so a
build can embed another model without touching this one.
"""
from __future__ import annotations

import argparse
import os
import struct
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT_C = HERE / "model_data.c"
OUT_TFLITE = HERE / "default_model.tflite"

INPUT = 16
UNITS = (12, 8)            # the two sliceable groups
CLASSES = 4
SUBNET_WIDTHS = ((12, 8), (9, 6), (6, 4), (3, 2))  # nested, largest first
SEED = 7


def build_tflite() -> bytes:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    x = inp = keras.Input((INPUT,), batch_size=1, name="input")
    x = keras.layers.Dense(UNITS[0], activation="relu", name="fc1")(x)
    x = keras.layers.Dense(UNITS[1], activation="relu", name="fc2")(x)
    out = keras.layers.Dense(CLASSES, name="logits")(x)
    model = keras.Model(inp, out)
    rng = np.random.default_rng(SEED)
    model.set_weights([rng.normal(0.0, 0.5, size=w.shape).astype(np.float32)
                       for w in model.get_weights()])

    def representative():
        r = np.random.default_rng(SEED + 1)
        for _ in range(64):
            yield [r.uniform(-1.0, 1.0, size=(1, INPUT)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return bytes(conv.convert())


def _arena_bytes(view, active: dict[int, int]) -> int:
    """docs/arena.md rule for one subnet; `active[t]` is the active size of a sliced tensor."""
    from reds.tflite_io import element_size

    planned, first, last = [], {}, {}
    nops = len(view.operators)
    for op in view.operators:
        for t in list(op.inputs) + list(op.outputs):
            if t >= 0 and not view.tensors[t].is_constant:
                first.setdefault(t, op.index)
                last[t] = op.index
    for t in view.inputs:
        first[t] = 0
        last.setdefault(t, 0)
    for t in view.outputs:
        last[t] = max(nops - 1, 0)
        first.setdefault(t, 0)
    for t in first:
        tensor = view.tensors[t]
        n = 1
        for d, s in enumerate(tensor.shape):
            n *= active.get(t, s) if d == len(tensor.shape) - 1 and t in active else s
        size = (n * element_size(tensor.dtype) + 15) // 16 * 16
        planned.append((size, first[t], t))
    planned.sort(key=lambda p: (-p[0], p[1], p[2]))
    placed = []  # (offset, size, first, last)
    for size, f, t in planned:
        l_ = last[t]
        conflicts = [p for p in placed if p[2] <= l_ and f <= p[3]]
        for cand in sorted({0} | {p[0] + p[1] for p in conflicts}):
            if all(cand + size <= p[0] or p[0] + p[1] <= cand for p in conflicts):
                placed.append((cand, size, f, l_))
                break
    return max((p[0] + p[1] for p in placed), default=0)


def add_metadata(tflite: bytes) -> bytes:
    sys.path.insert(0, str(REPO / "toolkit"))
    from reds import tflite_io
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    view = tflite_io.load_model(tflite)
    fcs = [op for op in view.operators if op.op == "FULLY_CONNECTED"]
    if len(fcs) != 3:
        raise SystemExit(f"expected 3 FULLY_CONNECTED ops, got {[o.op for o in view.operators]}")
    members = [(fcs[0].outputs[0], 1, 0), (fcs[1].outputs[0], 1, 1)]
    subnets = []
    for w in SUBNET_WIDTHS:
        macs = INPUT * w[0] + w[0] * w[1] + w[1] * CLASSES
        active = {members[0][0]: w[0], members[1][0]: w[1]}
        subnets.append((macs, _arena_bytes(view, active), w))
    body = b"".join(struct.pack("<I", u) for u in UNITS)
    body += b"".join(struct.pack("<IHH", t, axis, g) for t, axis, g in members)
    for macs, arena, w in subnets:
        body += struct.pack("<II", macs, arena) + b"".join(struct.pack("<I", x) for x in w)
    total = 32 + len(body)
    tail = struct.pack("<HHHHII", len(UNITS), len(subnets), len(members), 0, 0, 0) + body
    blob = b"REDS" + struct.pack("<HHI", 1, 32, total)
    blob += struct.pack("<I", zlib.crc32(tail) & 0xFFFFFFFF) + tail
    assert len(blob) == total and total % 4 == 0

    mt = tflite_io.unpack(tflite)
    buf = schema.BufferT()
    buf.data = list(blob)
    mt.buffers.append(buf)
    meta = schema.MetadataT()
    meta.name = "REDS"
    meta.buffer = len(mt.buffers) - 1
    mt.metadata = (mt.metadata or []) + [meta]
    return tflite_io.pack(mt)


def c_source(model: bytes) -> str:
    crc = zlib.crc32(model) & 0xFFFFFFFF
    lines = [
        "/* SPDX-License-Identifier: Apache-2.0",
        " * generated by boards/firmware/gen_default_model.py from a seeded tiny MLP; do not edit.",
        f" * {len(model)} bytes, crc32 {crc:08x}, subnets (widths fc1,fc2): "
        + " ".join(f"{a},{b}" for a, b in SUBNET_WIDTHS),
        " * -DREDS_MODEL_SOURCE=\"file.c\" compiles that file instead (from `reds export`). */",
        "#include \"model_data.h\"",
        "",
        "#ifdef REDS_MODEL_SOURCE",
        "#include REDS_MODEL_SOURCE",
        "#else",
        "__attribute__((aligned(16))) const uint8_t reds_default_model[] = {",
    ]
    for i in range(0, len(model), 16):
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in model[i:i + 16]) + ",")
    lines += ["};", f"const size_t reds_default_model_len = {len(model)}u;", "#endif", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if model_data.c is out of date")
    args = ap.parse_args(argv)
    model = add_metadata(build_tflite())
    src = c_source(model)
    if args.check:
        ok = OUT_C.exists() and OUT_C.read_text() == src
        print("model_data.c is up to date" if ok else "model_data.c is stale: rerun the generator")
        return 0 if ok else 1
    OUT_C.write_text(src)
    OUT_TFLITE.write_bytes(model)
    print(f"wrote {OUT_C} and {OUT_TFLITE} ({len(model)} bytes, crc32 {zlib.crc32(model):08x})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
