"""Rewrite the activation quantization of an int8 .tflite (beside ``tflite_io``, which reads
and writes the flatbuffer): new ``(scale, zero point)`` per activation tensor under TFLite's
constraints, and the int32 biases of every op whose input scale changed requantized to match.
``reds.export.calibrate`` decides the ranges; this module only writes them (its step 4 and 5).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reds.tflite import groups as _graph
from reds.tflite import flatbuffer as tflite_io
from reds.errors import RedsError
from reds.unionfind import UnionFind

#: Operators whose input and output must carry the same quantization (TFLM does not requantize).
SAME_QUANT_OPS = ("RESHAPE", "MAX_POOL_2D", "AVERAGE_POOL_2D")
INT8_MIN, INT8_MAX = -128, 127
INT32_MIN, INT32_MAX = -(2 ** 31), 2 ** 31 - 1


class RequantizeError(RedsError):
    """Ranges that cannot be written: not an activation, tied tensors that disagree, or a
    requantized bias that does not fit int32."""


@dataclass
class Requantized:
    """The rewritten model and what changed (JSON-able via ``to_dict``)."""

    model: bytes
    tensors: list[dict] = field(default_factory=list)  # one row per changed activation tensor
    biases: list[dict] = field(default_factory=list)  # one row per requantized bias
    method: str = "mse"

    def to_dict(self) -> dict:
        return {"method": self.method, "changed_tensors": self.tensors, "requantized_biases": self.biases}


def float_range(q: tflite_io.Quantization) -> tuple[float, float]:
    """Float range ``[lo, hi]`` represented by an int8 per-tensor quantization."""
    s, zp = float(q.scale[0]), int(q.zero_point[0])
    return s * (INT8_MIN - zp), s * (INT8_MAX - zp)


def quant_params(lo: float, hi: float) -> tuple[np.float32, int]:
    """``(scale, zero_point)`` of int8 for ``[lo, hi]`` widened to contain 0 (as the converter)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo <= 0.0:
        return np.float32(1.0), 0
    scale = np.float32((hi - lo) / (INT8_MAX - INT8_MIN))
    zp = int(np.clip(np.round(INT8_MIN - lo / float(scale)), INT8_MIN, INT8_MAX))
    return scale, zp


def activation_ranges(model: tflite_io.ModelLike) -> dict[int, tuple[float, float]]:
    """``{tensor: (lo, hi)}`` of every non-constant int8 per-tensor-quantized tensor."""
    m = tflite_io.load_model(model)
    out = {}
    for t in m.tensors:
        if is_activation(t):
            out[t.index] = float_range(t.quantization)
    return out


def is_activation(t: tflite_io.Tensor) -> bool:
    return (not t.is_constant and not t.is_variable and t.dtype == "INT8" and t.quantization is not None
            and t.quantization.scale.size == 1)


def tied_sets(m: tflite_io.Model, tensors: set[int]) -> list[list[int]]:
    """Activation tensors that must share one quantization (union-find over SAME_QUANT_OPS)."""
    uf = UnionFind(tensors)
    for op in m.operators:
        if op.op in SAME_QUANT_OPS and op.inputs and op.outputs:
            a, b = op.inputs[0], op.outputs[0]
            if a in uf and b in uf:
                uf.union(a, b)
    return uf.sets(tensors)


def fixed_tensors(m: tflite_io.Model) -> dict[int, str]:
    fixed = {t: "model input" for t in m.inputs}
    for op in m.operators:
        if op.op == "SOFTMAX":
            for t in op.outputs:
                fixed[t] = "SOFTMAX output (1/256, -128)"
    return fixed


def apply_ranges(tfl_bytes: bytes, ranges: dict[int, tuple[float, float]],
                 method: str = "mse") -> Requantized:
    """Rewrite activation quantization to ``ranges`` (under the module doc's constraints) and
    requantize the biases of every op whose input scale changed."""
    m = tflite_io.load_model(tfl_bytes)
    acts = {t.index for t in m.tensors if is_activation(t)}
    unknown = set(ranges) - acts
    if unknown:
        raise RequantizeError(f"ranges given for tensors that are not int8 activations: {sorted(unknown)}")
    fixed = fixed_tensors(m)
    new_q: dict[int, tuple[np.float32, int]] = {}
    rows = []
    for tied in tied_sets(m, acts):
        pinned = [t for t in tied if t in fixed]
        if pinned:
            continue  # keeps its (and thereby the whole set's) quantization
        lo = min(min(ranges.get(t, float_range(m.tensors[t].quantization))[0] for t in tied), 0.0)
        hi = max(max(ranges.get(t, float_range(m.tensors[t].quantization))[1] for t in tied), 0.0)
        scale, zp = quant_params(lo, hi)
        for t in tied:
            q = m.tensors[t].quantization
            old_s, old_zp = float(q.scale[0]), int(q.zero_point[0])
            if abs(float(scale) - old_s) <= 1e-6 * old_s and zp == old_zp:
                continue
            new_q[t] = (scale, zp)
            rows.append({"tensor": t, "name": m.tensors[t].name, "old_scale": old_s, "old_zero_point": old_zp,
                         "scale": float(scale), "zero_point": zp, "range": [lo, hi],
                         "old_range": list(float_range(q))})
    # consistency: every tied set shares one quantization after the rewrite
    for tied in tied_sets(m, acts):
        qs = {(float(new_q[t][0]), new_q[t][1]) if t in new_q else
              (float(m.tensors[t].quantization.scale[0]), int(m.tensors[t].quantization.zero_point[0]))
              for t in tied}
        if len(qs) > 1:
            names = ", ".join(f"{t} '{m.tensors[t].name}'" for t in tied)
            raise RequantizeError(f"tensors {names} must share one quantization (they are joined by "
                                   f"{'/'.join(SAME_QUANT_OPS)}) but the model gives them {sorted(qs)}")

    mt = tflite_io.unpack(tfl_bytes)
    sg = mt.subgraphs[0]
    for t, (scale, zp) in new_q.items():
        q = sg.tensors[t].quantization
        q.scale = np.array([scale], dtype=np.float32)
        q.zeroPoint = np.array([zp], dtype=np.int64)
        lo, hi = float(scale) * (INT8_MIN - zp), float(scale) * (INT8_MAX - zp)
        if q.min is not None and len(q.min) == 1:
            q.min = np.array([lo], dtype=np.float32)
        if q.max is not None and len(q.max) == 1:
            q.max = np.array([hi], dtype=np.float32)

    bias_rows = requantize_biases(m, mt, new_q)
    data = tflite_io.pack(mt)
    _graph.check_supported(data)
    return Requantized(data, rows, bias_rows, method)


def requantize_biases(m: tflite_io.Model, mt, new_q: dict) -> list[dict]:
    sg = mt.subgraphs[0]
    users: dict[int, int] = {}
    for tt in sg.tensors:
        users[tt.buffer] = users.get(tt.buffer, 0) + 1
    done: dict[int, np.ndarray] = {}
    rows = []
    for op in m.operators:
        if op.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        ins = list(op.inputs) + [-1] * 3
        x, w, b = ins[0], ins[1], ins[2]
        if x not in new_q or b < 0:
            continue
        where = f"{op.op} op {op.index}"
        bt, wt, xt = m.tensors[b], m.tensors[w], m.tensors[x]
        if bt.dtype != "INT32" or not bt.is_constant:
            raise RequantizeError(f"{where}: bias tensor {b} '{bt.name}' is {bt.dtype}, expected a constant INT32")
        if wt.quantization is None:
            raise RequantizeError(f"{where}: weights tensor {w} '{wt.name}' is not quantized")
        n = bt.data.size
        s_w = np.broadcast_to(wt.quantization.scale.astype(np.float32), (n,))
        s_in_old = np.float32(xt.quantization.scale[0])
        s_in_new = np.float32(new_q[x][0])
        if bt.quantization is not None and bt.quantization.scale.size in (1, n):
            old_bias_scale = np.broadcast_to(bt.quantization.scale.astype(np.float64), (n,))
        else:
            old_bias_scale = (s_in_old * s_w).astype(np.float64)
        new_bias_scale = (s_in_new * s_w).astype(np.float32)  # float32 product, as TFLite checks it
        bias_f = bt.data.astype(np.float64) * old_bias_scale
        q = np.round(bias_f / new_bias_scale.astype(np.float64))
        if np.any(q < INT32_MIN) or np.any(q > INT32_MAX):
            raise RequantizeError(f"{where}: requantized bias {b} '{bt.name}' does not fit int32 "
                                   f"(input scale {float(s_in_old):g} -> {float(s_in_new):g})")
        q = q.astype(np.int32)
        if b in done:
            if not np.array_equal(done[b], q):
                raise RequantizeError(f"{where}: bias tensor {b} '{bt.name}' is shared by ops with "
                                       "different input scales")
            continue
        done[b] = q
        tt = sg.tensors[b]
        if users.get(tt.buffer, 0) > 1:  # copy-on-write: never change another tensor's data
            users[tt.buffer] -= 1
            mt.buffers.append(tflite_io.schema.BufferT())
            tt.buffer = len(mt.buffers) - 1
        mt.buffers[tt.buffer].data = tflite_io.tensor_bytes(q)
        if tt.quantization is None:
            tt.quantization = tflite_io.schema.QuantizationParametersT()
        tt.quantization.scale = new_bias_scale.copy()
        tt.quantization.zeroPoint = np.zeros(n, dtype=np.int64)
        tt.quantization.quantizedDimension = 0
        rows.append({"op": op.index, "op_type": op.op, "bias_tensor": b, "name": bt.name,
                     "input_scale": [float(s_in_old), float(s_in_new)],
                     "max_abs_change_lsb": float(np.max(np.abs(q * new_bias_scale - bias_f) /
                                                        new_bias_scale)) if n else 0.0})
    return rows
