"""Keras → int8 TFLite conversion, and which converted channel groups are which Keras groups.

Shared by the nested export and the per-subnet calibration: both convert Keras models and
match their groups to the converted graph.
"""
from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from reds.errors import PlanError
from reds.tflite import flatbuffer as tflite_io
from reds.tflite import groups as _graph

#: set (to 1) by `reds -v`: the converter's own output reaches the terminal
VERBOSE_ENV = "REDS_VERBOSE"


@contextlib.contextmanager
def quiet_converter(verbose: bool | None = None):
    """Keep TensorFlow's converter chatter (Keras' `Saved artifact ... Captures: TensorSpec...`
    listing, C++ lines on stderr, warnings) off the terminal; on failure the captured text joins
    the error. `verbose` (default: the environment's REDS_VERBOSE, set by `reds -v`) lets it through.

    Both levels are redirected: file descriptors 1 and 2 for native code, and Python's
    `sys.stdout`/`sys.stderr`, which need not be those descriptors (Keras prints the listing
    to `sys.stdout`; `reds compare` points that at stderr, the CLI's log filter gives stderr
    a descriptor of its own, rich's live displays replace both with proxies)."""
    import tempfile
    import warnings

    if verbose is None:
        verbose = os.environ.get(VERBOSE_ENV, "") not in ("", "0")
    if verbose:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings(), \
            open(os.dup(sink.fileno()), "w", buffering=1, encoding="utf-8", errors="replace") as text:
        # one open file: descriptors and `text` share its offset, so the lines stay in order
        warnings.simplefilter("ignore")
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
                yield
        except Exception as err:
            text.flush()
            _restore(saved)
            sink.seek(0)
            err.add_note("converter output:\n" + sink.read()[-2000:].decode(errors="replace"))
            raise
        finally:
            _restore(saved)


def _restore(saved: list[int]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    if saved and saved[0] >= 0:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        saved[:] = [-1, -1]


def to_int8_tflite(model, calibration_x: np.ndarray, max_samples: int = 500, *,
                   int8_io: bool = True, per_tensor_dense: bool = False,
                   check_ops: bool = True) -> bytes:
    """Full-integer int8 conversion: int8 input and output (float32 with ``int8_io=False``:
    the converter adds QUANTIZE/DEQUANTIZE), per-channel weights (one scale per FC layer with
    ``per_tensor_dense``). ``check_ops`` rejects ops the runtime lacks (UnsupportedOpError).

    The export model must have a fixed batch of 1 (`zoo.with_batch(model, 1)`): with a dynamic
    batch, Flatten converts to SHAPE/STRIDED_SLICE/PACK/RESHAPE instead of one RESHAPE.
    """
    import tensorflow as tf

    calib = np.asarray(calibration_x[:max_samples], dtype=np.float32)

    def representative():
        for x in calib:
            yield [x[None]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int8_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    if per_tensor_dense:
        conv._experimental_disable_per_channel_quantization_for_dense_layers = True
    with quiet_converter():
        data = bytes(conv.convert())
    if check_ops:
        _graph.check_supported(data)
    return data


@dataclass
class GroupMatch:
    """Keras channel group name -> index of the matching group in the converted graph."""

    index: dict[str, int]
    groups: _graph.Groups

    def widths(self, keras_widths: dict[str, int]) -> list[int]:
        out = list(self.groups.full_widths)
        for name, gi in self.index.items():
            out[gi] = int(keras_widths[name])
        return out


def match_groups(keras_groups: Sequence, tfl_model: bytes) -> GroupMatch:
    """Map the Keras plan's channel groups onto the groups of the converted graph.

    The converter folds batch norm, fuses activations and renames tensors, so groups are
    derived from the converted graph itself; both lists follow execution order, and each pair
    must agree on full width and (where the converter kept it) on the producing layer's name.
    """
    tg = _graph.derive_groups(tfl_model)
    m = tflite_io.load_model(tfl_model)
    if len(keras_groups) != len(tg):
        raise PlanError(
            f"the plan has {len(keras_groups)} channel groups "
            f"({', '.join(g.name for g in keras_groups)}) but the converted model has "
            f"{len(tg)} ({', '.join(tg.names)}); fixed there: "
            + "; ".join(f"{f.name}: {f.reason}" for f in tg.fixed))
    index = {}
    for kg, (gi, g) in zip(keras_groups, enumerate(tg)):
        if kg.width != g.full_width:
            raise PlanError(f"group {kg.name!r} has {kg.width} channels in Keras but the "
                            f"matching converted group {g.name!r} has {g.full_width}")
        names = " ".join(m.tensors[m.operators[p].outputs[0]].name for p in g.producers)
        if names and kg.producers and not any(p in names for p in kg.producers):
            raise PlanError(f"group order differs: Keras group {kg.name!r} (producers "
                            f"{kg.producers}) lines up with converted tensors {names!r}")
        index[kg.name] = gi
    return GroupMatch(index, tg)


def quantize_input(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    """Float inputs to the model's int8 input encoding (round half away from zero, clamp)."""
    m = tflite_io.load_model(model_bytes)
    t = m.tensors[m.inputs[0]]
    if t.dtype != "INT8":
        return np.asarray(x, dtype=np.float32)
    scale, zp = float(t.quantization.scale[0]), int(t.quantization.zero_point[0])
    q = np.round(np.asarray(x, dtype=np.float32) / scale) + zp
    return np.clip(q, -128, 127).astype(np.int8)
