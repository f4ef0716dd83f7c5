"""Export: one int8 TFLite flatbuffer holding every subnetwork.

Steps: full-integer conversion of the permuted full model (int8 input/output) → activation
ranges re-calibrated over every subnet (`reds.export.calibrate`; `export_nested` does it by default) →
channel groups derived from the converted graph and matched to the Keras plan → REDS metadata
(widths, MACs, arena bytes per subnet) → buffers realigned to 16 bytes. Also the C array for
firmware (``reds.export.c_array``) and the standalone subnets (``write_standalone``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from reds.errors import UserError
from reds.export.convert import match_groups, quantize_input, to_int8_tflite
from reds.runtime.binding import Runtime
from reds.runtime.inspect import write_card
from reds.tflite import metadata as _metadata
from reds.tflite import slicing


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
    # imported here: the rest of this module (standalone subnets, reports) works without Keras
    from reds.export import calibrate as _calibrate
    from reds.model.zoo import with_batch

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
    rt = Runtime(model_bytes)
    xq = quantize_input(model_bytes, x)
    return [float(np.mean(np.argmax(rt.run_batch(xq, subnet=k).reshape(len(xq), -1), 1) == y))
            for k in range(rt.num_subnets)]


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



def write_standalone(nested: bytes, out_dir, card: dict | None = None, source: str = "") -> list[Path]:
    """One plain ``.tflite`` per subnet of a nested model (physically sliced, no REDS entry) in
    ``out_dir/subnet<k>.tflite``: what an application processor's LiteRT runs per subnet.

    With the nested model's ``card`` (``reds.runtime.inspect.load_card``), each file gets its
    own ``subnet<k>.card.json``: the class names (the output order) and that subnet's recorded
    accuracies, which `reds inspect subnet<k>.tflite` shows. Reads only the flatbuffer: no
    Keras, no conversion."""
    meta = _metadata.read_metadata(nested)
    if meta is None:
        raise UserError("the model has no REDS metadata: there are no subnets to write")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(len(meta.subnets)):
        path = out / f"subnet{k}.tflite"
        path.write_bytes(_metadata.remove_metadata(slicing.slice_model(nested, k)))
        if card is not None:
            write_card(path, standalone_card(card, k, source))
        paths.append(path)
    return paths


def standalone_card(card: dict, subnet: int, source: str = "") -> dict:
    """The card of subnet ``subnet`` written alone: the nested model's dataset (class names)
    and that subnet's row, as the file's only subnet."""
    rows = card.get("subnets") or []
    row = {**rows[subnet], "subnet": 0} if subnet < len(rows) else {"subnet": 0}
    doc = {"source": {"model": source, "subnet": subnet}, "subnets": [row]}
    if card.get("dataset"):
        doc["dataset"] = card["dataset"]
    return doc
