"""``reds bench host MODEL``: LiteRT (XNNPACK) latency of every subnet on this CPU, as a plain
sliced ``.tflite`` (the width-prefix layout: smaller tensors) beside the same subnet expressed
as zero masks inside the full-size model (what mask-based or unstructured pruning runs: the
producers' weights and biases of the dropped channels are zero, every tensor keeps its size).
int8 only (the float model is not in the ``.tflite``). Wall-clock medians: a host measurement,
not a unit-test quantity; the results JSON says which CPU and thread count, and how far the
timings spread over rounds (a ratio within that spread is reported as not distinguishable).
"""
from __future__ import annotations

import os
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


def available_cores() -> int:
    """CPU cores this process may run on (its affinity where the OS says, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_warning(threads: int) -> str | None:
    """What to say when more threads than cores are asked for (they compete: noisy timings)."""
    cores = available_cores()
    if threads <= cores:
        return None
    return (f"{threads} threads on {cores} available core(s): the threads compete for the cores "
            f"and the timings vary from run to run; use --threads {cores} or fewer")


class _Timed:
    """One LiteRT interpreter (XNNPACK, ``threads``), input set and warmed up."""

    def __init__(self, model: bytes, threads: int):
        from ai_edge_litert.interpreter import Interpreter

        self.it = Interpreter(model_content=bytes(model), num_threads=threads)
        self.it.allocate_tensors()
        inp = self.it.get_input_details()[0]
        self.it.set_tensor(inp["index"],
                           random_inputs(model, 1)[0].reshape(inp["shape"]).astype(inp["dtype"]))
        for _ in range(5):
            self.it.invoke()

    def median_seconds(self, repeat: int) -> float:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            self.it.invoke()
            times.append(time.perf_counter() - t0)
        return float(np.median(times))


def litert_seconds(model: bytes, repeat: int = 200, threads: int = 1) -> float:
    """Median wall-clock seconds of one LiteRT invoke (XNNPACK, ``threads``), after a warm-up."""
    return _Timed(model, threads).median_seconds(repeat)


def spread(values_us) -> dict:
    """min / median / max of one model's per-round medians (µs)."""
    v = np.asarray(values_us, dtype=np.float64)
    return {"min_us": float(v.min()), "median_us": float(np.median(v)), "max_us": float(v.max())}


def share_of_full(sub: dict, full: dict) -> float | None:
    """``sub``'s median over ``full``'s, or None when the two min–max ranges overlap: the
    difference is then smaller than the run-to-run spread and the ratio would be noise."""
    if sub is full or sub["max_us"] < full["min_us"] or sub["min_us"] > full["max_us"]:
        return sub["median_us"] / full["median_us"]
    return None


def host_bench(model: bytes, repeat: int = 200, threads: int = 1, rounds: int = 5,
               timer=None) -> dict:
    """Every subnet sliced and zero-masked, timed in ``rounds`` interleaved rounds of ``repeat``
    invokes each (a drift of the machine hits every model alike); per model the min / median /
    max of the round medians. A share of the full model is given only where the ranges do not
    overlap (``share_of_full``). ``timer(model, threads)`` returns an object with
    ``median_seconds(repeat)`` (tests pass a fake one)."""
    meta = read_metadata(model)
    if meta is None:
        raise UserError("reds bench host needs a model with REDS metadata (its subnets)")
    if repeat < 1 or rounds < 1 or threads < 1:
        raise UserError(f"repeat ({repeat}), rounds ({rounds}) and threads ({threads}) must be >= 1")
    cores = available_cores()
    warnings = [w for w in [threads_warning(threads)] if w]
    timer = timer or _Timed
    models = []
    for k, s in enumerate(meta.subnets):
        models.append(("sliced", k, timer(remove_metadata(slice_model(model, k)), threads)))
        models.append(("masked", k, timer(masked_model(model, list(s.widths)), threads)))
    rounds_us = {(kind, k): [] for kind, k, _ in models}
    for _ in range(rounds):
        for kind, k, t in models:
            rounds_us[(kind, k)].append(1e6 * t.median_seconds(repeat))
    stats = {key: spread(v) for key, v in rounds_us.items()}
    full = stats[("sliced", 0)]
    rows = []
    for k, s in enumerate(meta.subnets):
        row = {"subnet": k, "widths": list(s.widths), "macs": s.macs}
        for kind in ("sliced", "masked"):
            st = stats[(kind, k)]
            share = share_of_full(st, full)
            row.update({f"{kind}_us": st["median_us"], f"{kind}_min_us": st["min_us"],
                        f"{kind}_max_us": st["max_us"], f"{kind}_share": share,
                        f"{kind}_distinguishable": share is not None})
        rows.append(row)
    return {"cpu": platform.processor() or platform.machine(), "threads": threads,
            "cores": cores, "repeat": repeat, "rounds": rounds,
            "runtime": "ai-edge-litert (XNNPACK), int8",
            "unit": "µs (wall clock: median, min and max of the per-round medians)",
            "warnings": warnings, "subnets": rows}
