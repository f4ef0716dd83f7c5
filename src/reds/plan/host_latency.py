"""``reds bench host MODEL``: LiteRT (XNNPACK) latency of every subnet on this CPU, as a plain
sliced ``.tflite`` (the width-prefix layout: smaller tensors) beside the same subnet expressed
as zero masks inside the full-size model (what mask-based or unstructured pruning runs: the
producers' weights and biases of the dropped channels are zero, every tensor keeps its size).
int8 only (the float model is not in the ``.tflite``). Wall-clock medians: a host measurement,
not a unit-test quantity; the results JSON says which CPU and thread count.
"""
from __future__ import annotations

import platform
import time

import numpy as np

from reds.tflite import flatbuffer as tflite_io
from reds.tflite.groups import member_map
from reds.plan.latency_model import model_groups
from reds.tflite.metadata import read_metadata, remove_metadata
from reds.tflite.slicing import slice_model
from reds.runtime.golden import random_inputs

from reds.errors import UserError

# output-channel axis of each producer's filter
_OUT_AXIS = {"CONV_2D": 0, "FULLY_CONNECTED": 0, "DEPTHWISE_CONV_2D": 3}


def masked_model(model: bytes, widths) -> bytes:
    """The full-size model with the channels beyond ``widths`` zeroed in their producers."""
    m = tflite_io.load_model(model)
    mm = member_map(m, model_groups(model))
    mt = tflite_io.unpack(remove_metadata(model))
    sg = mt.subgraphs[0]
    for op in m.operators:
        if op.op not in _OUT_AXIS or op.outputs[0] not in mm:
            continue
        g, _, _ = mm[op.outputs[0]]
        for ti, axis in ((op.inputs[1], _OUT_AXIS[op.op]), (op.inputs[2] if len(op.inputs) > 2 else -1, 0)):
            if ti < 0 or m.tensors[ti].data is None:
                continue
            arr = m.tensors[ti].data.copy()
            idx = [slice(None)] * arr.ndim
            idx[axis] = slice(int(widths[g]), None)
            arr[tuple(idx)] = 0
            mt.buffers.append(tflite_io.schema.BufferT())  # own buffer: never edit a shared one
            mt.buffers[-1].data = tflite_io.tensor_bytes(arr)
            sg.tensors[ti].buffer = len(mt.buffers) - 1
    return tflite_io.pack(mt)


def litert_seconds(model: bytes, repeat: int = 200, threads: int = 1) -> float:
    """Median wall-clock seconds of one LiteRT invoke (XNNPACK, ``threads``), after a warm-up."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=bytes(model), num_threads=threads)
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    it.set_tensor(inp["index"], random_inputs(model, 1)[0].reshape(inp["shape"]).astype(inp["dtype"]))
    for _ in range(5):
        it.invoke()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def host_bench(model: bytes, repeat: int = 200, threads: int = 1) -> dict:
    meta = read_metadata(model)
    if meta is None:
        raise UserError("reds bench host needs a model with REDS metadata (its subnets)")
    rows = []
    for k, s in enumerate(meta.subnets):
        sliced = remove_metadata(slice_model(model, k))
        masked = masked_model(model, list(s.widths))
        rows.append({"subnet": k, "widths": list(s.widths), "macs": s.macs,
                     "sliced_us": 1e6 * litert_seconds(sliced, repeat, threads),
                     "masked_us": 1e6 * litert_seconds(masked, repeat, threads)})
    full = rows[0]["sliced_us"]
    for r in rows:
        r["sliced_share"] = r["sliced_us"] / full
        r["masked_share"] = r["masked_us"] / full
    return {"cpu": platform.processor() or platform.machine(), "threads": threads, "repeat": repeat,
            "runtime": "ai-edge-litert (XNNPACK), int8", "unit": "µs (median wall clock)",
            "subnets": rows}
