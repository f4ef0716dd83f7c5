"""Activation quantization ranges calibrated over *every* subnetwork, not only the full one.

One REDS file shares one set of activation scales between all nested subnets. The TFLite
converter calibrates them on the full model only, but a subnet keeps fewer channels, so its
pre-activation sums have fewer summands and (with the batch-norm statistics shared by all
subnets and folded into the convolutions) different offsets: its activations can fall outside
the full model's range and get clipped, which costs far more accuracy than a coarser step.

The method (converter per subnet, tensor correspondence, union / mse / full combination, the
write-back rules) and what it measured are in docs/calibration.md.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from reds.tflite import groups as _graph
from reds.tflite import slicing, flatbuffer as tflite_io
from reds.errors import PlanError
from reds.export.convert import match_groups, quantize_input, to_int8_tflite
from reds.model import slimmable, zoo
from reds.tflite.requant import (
    INT8_MAX, INT8_MIN, Requantized, RequantizeError, activation_ranges, apply_ranges,
    fixed_tensors, quant_params, tied_sets)

METHODS = ("union", "mse", "full")


class CalibrationError(RequantizeError):
    """A per-subnet conversion does not line up with the full model (a toolkit bug or a
    converter change)."""


# --------------------------------------------------------------------------- ranges


_SUFFIX = re.compile(r"_\d+(?=/|;|:|$)")


def _norm_name(name: str) -> str:
    """The Keras layer a tensor name comes from, without per-trace suffixes
    (``dnn_1/fc2_relu_1/Relu;dnn_1/fc2_1/BiasAdd`` -> ``fc2_relu``). The op part is not compared:
    the converter names the same fused op ``BiasAdd`` or ``Add`` depending on the widths."""
    return _SUFFIX.sub("", _graph.layer_name(name))


def check_correspondence(reference: bytes, converted: bytes, where: str) -> None:
    """Raise ``CalibrationError`` unless ``converted`` has the op/tensor structure of
    ``reference`` (the full model sliced to the same widths)."""
    a, b = tflite_io.load_model(reference), tflite_io.load_model(converted)

    def fail(msg: str):
        raise CalibrationError(f"{where}: the subnet's own conversion does not line up with the full "
                               f"model sliced to its widths: {msg}")

    if len(a.operators) != len(b.operators):
        fail(f"{len(b.operators)} operators instead of {len(a.operators)}")
    if len(a.tensors) != len(b.tensors):
        fail(f"{len(b.tensors)} tensors instead of {len(a.tensors)}")
    if (a.inputs, a.outputs) != (b.inputs, b.outputs):
        fail(f"subgraph inputs/outputs {b.inputs}/{b.outputs} instead of {a.inputs}/{a.outputs}")
    for oa, ob in zip(a.operators, b.operators):
        if (oa.op, oa.inputs, oa.outputs) != (ob.op, ob.inputs, ob.outputs):
            fail(f"operator {oa.index}: {ob.op}{ob.inputs}->{ob.outputs} instead of "
                 f"{oa.op}{oa.inputs}->{oa.outputs}")
    for ta, tb in zip(a.tensors, b.tensors):
        if ta.shape != tb.shape or ta.dtype != tb.dtype:
            fail(f"tensor {ta.index} '{ta.name}': {tb.dtype}{list(tb.shape)} instead of "
                 f"{ta.dtype}{list(ta.shape)}")
        if _norm_name(ta.name) != _norm_name(tb.name):
            fail(f"tensor {ta.index}: from layer '{tb.name}' instead of '{ta.name}'")


def subnet_models(tfl_bytes: bytes, keras_model, keras_groups: Sequence, subnets_widths: Sequence[dict],
                  calibration_x: np.ndarray, max_samples: int = 500, progress: bool = False) -> list[bytes]:
    """Per subnet, the int8 model the converter makes of that subnet alone (the physically
    sliced float Keras model, same calibration data), checked to line up tensor for tensor with
    ``tfl_bytes`` sliced to the same widths. A full-width subnet is ``tfl_bytes`` itself."""
    if keras_model.inputs[0].shape[0] != 1:
        keras_model = zoo.with_batch(keras_model, 1)
    match = match_groups(keras_groups, tfl_bytes)
    full_widths = {g.name: g.width for g in keras_groups}
    out = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(subnets_widths), desc="calibrate subnets", unit="subnet", leave=False)
    for k, widths in enumerate(subnets_widths):
        widths = slimmable.resolve_widths(keras_groups, widths)
        if widths == full_widths:
            out.append(tfl_bytes)
        else:
            reference = slicing.slice_to_widths(tfl_bytes, match.groups, match.widths(widths))
            small = slimmable.slice_keras_model(keras_model, widths, keras_groups)
            converted = to_int8_tflite(small, calibration_x, max_samples=max_samples)
            check_correspondence(reference, converted, f"subnet {k}")
            out.append(converted)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return out


def subnet_ranges(tfl_bytes: bytes, keras_model, keras_groups: Sequence, subnets_widths: Sequence[dict],
                  calibration_x: np.ndarray, max_samples: int = 500,
                  progress: bool = False) -> list[dict[int, tuple[float, float]]]:
    """Per subnet, ``{tensor index of the full model: (lo, hi)}`` as the converter calibrates
    that subnet alone (see module doc, steps 1-2)."""
    models = subnet_models(tfl_bytes, keras_model, keras_groups, subnets_widths, calibration_x,
                           max_samples, progress)
    return [activation_ranges(m) for m in models]


def activation_samples(model_bytes: bytes, x: np.ndarray, tensors: Sequence[int],
                       max_values: int = 100_000, seed: int = 0) -> dict[int, np.ndarray]:
    """Dequantized values of ``tensors`` when LiteRT runs the int8 model on float inputs ``x``
    (quantized with the model's input scale); at most ``max_values`` per tensor (random subset).

    Each subnet's own int8 model quantizes with its own calibrated ranges, so these values are
    its float activations up to half a step of its own (finest) scale.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # builtin kernels only: a delegate (XNNPACK) would hide the intermediate tensors
    interp = Interpreter(model_content=bytes(model_bytes), experimental_preserve_all_tensors=True,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    m = tflite_io.load_model(model_bytes)
    xq = quantize_input(model_bytes, x)
    inp = interp.get_input_details()[0]["index"]
    vals: dict[int, list] = {t: [] for t in tensors}
    for xi in xq:
        interp.set_tensor(inp, xi[None])
        interp.invoke()
        for t in tensors:
            vals[t].append(np.array(interp.get_tensor(t)).reshape(-1))
    rng = np.random.default_rng(seed)
    out = {}
    for t in tensors:
        q = np.concatenate(vals[t]) if vals[t] else np.zeros(0, np.int8)
        if q.size > max_values:
            q = rng.choice(q, max_values, replace=False)
        tq = m.tensors[t].quantization
        out[t] = (q.astype(np.float64) - int(tq.zero_point[0])) * float(tq.scale[0])
    return out


def _qdq(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    scale, zp = quant_params(lo, hi)
    s = float(scale)
    q = np.clip(np.round(v / s) + zp, INT8_MIN, INT8_MAX)
    return (q - zp) * s


def mse_range(samples: Sequence[np.ndarray], lo: float, hi: float, steps: int = 48,
              weights: Sequence[float] | None = None) -> tuple[float, float]:
    """The range ``alpha * [lo, hi]`` (``alpha`` in (0, 1]) minimising the weighted sum over
    subnets of the relative quantization error ``E[(v - Q(v))^2] / E[v^2]`` of each subnet's
    values ``v``. Relative, so a subnet with small activations counts as much as the full one."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = max(abs(lo), abs(hi))
    live = [(v, w) for v, w in zip(samples, weights or [1.0] * len(samples)) if v.size]
    if span == 0.0 or not live:
        return lo, hi
    small = min(max(float(np.max(np.abs(v))), span * 1e-3) for v, _ in live)
    alphas = np.geomspace(max(small / span * 0.5, 1e-3), 1.0, steps)
    best, best_a = None, 1.0
    for a in alphas:
        err = 0.0
        for v, w in live:
            p = float(np.mean(v * v)) or 1e-30
            err += w * float(np.mean((v - _qdq(v, a * lo, a * hi)) ** 2)) / p
        if best is None or err < best * (1 - 1e-9):
            best, best_a = err, a
    return best_a * lo, best_a * hi


def combine(per_subnet: Sequence[dict[int, tuple[float, float]]], method: str = "union") -> dict[int, tuple[float, float]]:
    """One range per tensor from the per-subnet ranges (``per_subnet[0]`` is the largest)."""
    if method not in METHODS:
        raise PlanError(f"unknown calibration method {method!r}; allowed: {', '.join(METHODS)}")
    if not per_subnet:
        return {}
    if method == "full":
        return dict(per_subnet[0])
    out: dict[int, tuple[float, float]] = {}
    for ranges in per_subnet:
        for t, (lo, hi) in ranges.items():
            if t in out:
                out[t] = (min(out[t][0], lo), max(out[t][1], hi))
            else:
                out[t] = (lo, hi)
    return out


def calibrate(tfl_bytes: bytes, keras_model, keras_groups: Sequence, subnets_widths: Sequence[dict],
              calibration_x: np.ndarray, max_samples: int = 500, method: str = "mse",
              progress: bool = False, mse_samples: int = 200,
              models: Sequence[bytes] | None = None) -> Requantized:
    """``calibrate_for_subnets`` returning the change report too. ``models``: the output of
    ``subnet_models`` for these arguments, if already computed (e.g. to compare methods)."""
    if method not in METHODS:
        raise PlanError(f"unknown calibration method {method!r}; allowed: {', '.join(METHODS)}")
    if not subnets_widths:
        raise PlanError("calibrate: no subnetworks given")
    if models is None:
        models = subnet_models(tfl_bytes, keras_model, keras_groups, subnets_widths, calibration_x,
                               max_samples=max_samples, progress=progress)
    elif len(models) != len(subnets_widths):
        raise PlanError(f"calibrate: {len(models)} subnet models for {len(subnets_widths)} subnets")
    models = list(models)
    # the full model's own ranges always take part, whether or not it is one of the subnets
    if not any(mm == tfl_bytes for mm in models):
        models = [tfl_bytes] + models
    per = [activation_ranges(mm) for mm in models]
    ranges = combine(per, "full" if method == "full" else "union")
    if method == "mse":
        m = tflite_io.load_model(tfl_bytes)
        acts = sorted(ranges)
        x = np.asarray(calibration_x[:mse_samples], dtype=np.float32)
        samples = [activation_samples(mm, x, acts) for mm in models]
        fixed = fixed_tensors(m)
        for tied in tied_sets(m, set(acts)):
            if any(t in fixed for t in tied):
                continue
            lo = min(ranges[t][0] for t in tied)
            hi = max(ranges[t][1] for t in tied)
            vs = [np.concatenate([s[t] for t in tied]) for s in samples]
            r = mse_range(vs, lo, hi)
            for t in tied:
                ranges[t] = r
    return apply_ranges(tfl_bytes, ranges, method)


def calibrate_for_subnets(tfl_bytes: bytes, keras_model, keras_groups: Sequence, subnets_widths: Sequence[dict],
                          calibration_x: np.ndarray, max_samples: int = 500, method: str = "mse",
                          progress: bool = False) -> bytes:
    """The converted full model ``tfl_bytes`` with activation ranges taken over all subnets.

    ``keras_model`` is the float model ``tfl_bytes`` was converted from, ``keras_groups`` its
    ``keras_groups.channel_groups``, ``subnets_widths`` one ``{group: width}`` per subnet, and
    ``calibration_x`` the calibration inputs (the first ``max_samples`` are used, as by
    ``export.to_int8_tflite``). See the module doc for the method.
    """
    return calibrate(tfl_bytes, keras_model, keras_groups, subnets_widths, calibration_x, max_samples,
                     method, progress).model


__all__ = ["CalibrationError", "calibrate", "calibrate_for_subnets", "check_correspondence",
           "combine", "subnet_ranges"]
