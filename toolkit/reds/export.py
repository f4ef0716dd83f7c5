"""Export: one int8 TFLite flatbuffer holding every subnetwork.

Steps: full-integer conversion of the permuted full model (int8 input/output) → activation
ranges re-calibrated over every subnet (`calibrate.py`; `export_nested` does it by default) →
channel groups derived from the converted graph and matched to the Keras plan → REDS metadata
(widths, MACs, arena bytes per subnet) → buffers realigned to 16 bytes. Also the C array for
firmware.
"""
from __future__ import annotations

import contextlib
import os
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from . import graph as _graph
from .errors import UserError
from . import metadata as _metadata
from . import slicing, tflite_io
from .errors import PlanError, UnsupportedOpError


@contextlib.contextmanager
def quiet_converter():
    """Keep TensorFlow's converter chatter (a `Saved artifact ...` listing on stdout, C++ lines
    on stderr, warnings) off the terminal; on failure the captured text joins the error."""
    import tempfile
    import warnings

    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except Exception as err:
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


def nest_plan(tfl_model: bytes, keras_groups: Sequence, subnets_widths: Sequence[dict]) -> bytes:
    """Attach REDS metadata for the plan's subnets (largest first) to a converted model."""
    match = match_groups(keras_groups, tfl_model)
    widths = [match.widths(w) for w in subnets_widths]
    return slicing.nest(tfl_model, match.groups, widths)


def export_nested(keras_model, keras_groups: Sequence, subnets_widths: Sequence[dict],
                  calibration_x: np.ndarray, all_subnets: bool = True, max_samples: int = 500,
                  method: str = "mse", progress: bool = False, report: dict | None = None) -> bytes:
    """The nested REDS file: int8 conversion → activation ranges over every subnet → metadata.

    With ``all_subnets`` (default) activation scales cover every subnet's ranges
    (``calibrate.calibrate_for_subnets``, ``method`` as there); otherwise they are the
    converter's, calibrated on the full model only. ``keras_model`` may have any batch size
    (a batch-1 copy is converted). ``report``, if given, receives the calibration changes.
    """
    from . import calibrate as _calibrate
    from .zoo import with_batch

    model = keras_model if keras_model.inputs[0].shape[0] == 1 else with_batch(keras_model, 1)
    tfl = to_int8_tflite(model, calibration_x, max_samples=max_samples)
    if all_subnets and len(subnets_widths) > 1:
        res = _calibrate.calibrate(tfl, model, keras_groups, subnets_widths, calibration_x,
                                   max_samples=max_samples, method=method, progress=progress)
        tfl = res.model
        if report is not None:
            report.update(res.to_dict())
    return nest_plan(tfl, keras_groups, subnets_widths)


def subnet_accuracies(model_bytes: bytes, x: np.ndarray, y: np.ndarray) -> list[float]:
    """Test accuracy of every subnet of an int8 model (one entry for a model without REDS
    metadata), run by the C runtime (bit-exact with TFLM) on float inputs `x`, labels `y`."""
    from .runtime import Runtime

    rt = Runtime(model_bytes)
    xq = quantize_input(model_bytes, x)
    return [float(np.mean(np.argmax(rt.run_batch(xq, subnet=k).reshape(len(xq), -1), 1) == y))
            for k in range(rt.num_subnets)]


def quantize_input(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    """Float inputs to the model's int8 input encoding (round half away from zero, clamp)."""
    m = tflite_io.load_model(model_bytes)
    t = m.tensors[m.inputs[0]]
    if t.dtype != "INT8":
        return np.asarray(x, dtype=np.float32)
    scale, zp = float(t.quantization.scale[0]), int(t.quantization.zero_point[0])
    q = np.round(np.asarray(x, dtype=np.float32) / scale) + zp
    return np.clip(q, -128, 127).astype(np.int8)


def c_array(model_bytes: bytes, symbol: str = "reds_default_model", source: str = "") -> tuple[str, str]:
    """C source and header embedding the model: const, 16-byte aligned, with a length symbol."""
    from . import __version__

    crc = zlib.crc32(model_bytes) & 0xFFFFFFFF
    stamp = f"generated by reds {__version__} from {source or 'a model'}; do not edit"
    header = (f"/* {stamp} */\n#ifndef {symbol.upper()}_H\n#define {symbol.upper()}_H\n"
              "#include <stddef.h>\n#include <stdint.h>\n"
              f"extern const uint8_t {symbol}[];\nextern const size_t {symbol}_len;\n"
              f"#define {symbol.upper()}_CRC32 0x{crc:08x}u\n#endif\n")
    rows = [", ".join(f"0x{b:02x}" for b in model_bytes[i:i + 16])
            for i in range(0, len(model_bytes), 16)]
    body = ",\n  ".join(rows)
    src = (f"/* {stamp} */\n/* {len(model_bytes)} bytes, crc32 0x{crc:08x} */\n"
           "#include <stddef.h>\n#include <stdint.h>\n"
           f"__attribute__((aligned(16))) const uint8_t {symbol}[] = {{\n  {body}\n}};\n"
           f"const size_t {symbol}_len = {len(model_bytes)}u;\n")
    return src, header


def write_c_array(model_bytes: bytes, out_c: Path, symbol: str = "reds_default_model",
                  source: str = "") -> tuple[Path, Path]:
    src, header = c_array(model_bytes, symbol, source)
    out_c = Path(out_c)
    out_h = out_c.with_suffix(".h")
    out_c.write_text(src)
    out_h.write_text(header)
    return out_c, out_h


def storage_report(nested: bytes, standalone_sizes: Sequence[int]) -> dict:
    """File size vs K independent models, and what the REDS metadata costs."""
    meta = _metadata.read_metadata(nested)
    blob = _metadata.blob_size(meta.num_groups, len(meta.members), meta.num_subnets) if meta else 0
    plain = len(_metadata.remove_metadata(nested)) if meta else len(nested)
    return {
        "file_bytes": len(nested),
        "metadata_blob_bytes": blob,
        "metadata_overhead_bytes": len(nested) - plain,
        "metadata_overhead_percent": 100.0 * (len(nested) - plain) / len(nested),
        "independent_models_bytes": int(sum(standalone_sizes)),
        "saving_vs_independent": 1.0 - len(nested) / max(1, sum(standalone_sizes)),
    }


__all__ = ["to_int8_tflite", "export_nested", "match_groups", "nest_plan", "quantize_input", "c_array",
           "write_c_array", "storage_report", "UnsupportedOpError"]


def write_standalone(nested: bytes, out_dir) -> list[Path]:
    """One plain ``.tflite`` per subnet of a nested model (physically sliced, no REDS entry) in
    ``out_dir/subnet<k>.tflite``: what an application processor's LiteRT runs per subnet."""
    from . import metadata, slicing

    meta = metadata.read_metadata(nested)
    if meta is None:
        raise UserError("the model has no REDS metadata: there are no subnets to write")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(len(meta.subnets)):
        path = out / f"subnet{k}.tflite"
        path.write_bytes(metadata.remove_metadata(slicing.slice_model(nested, k)))
        paths.append(path)
    return paths
