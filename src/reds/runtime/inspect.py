"""`reds inspect`: what a REDS model file holds, per subnetwork."""
from __future__ import annotations

import json
import zlib
from collections import Counter
from pathlib import Path

from reds.tflite import metadata as _metadata
from reds.tflite import slicing, flatbuffer as tflite_io
from reds.tflite.groups import Groups, dynamic_batch_hint, layer_name


def runtime_support(model_bytes: bytes) -> str | None:
    """None if the C runtime loads the model, else its reason (e.g. a float input type)."""
    return _runtime_facts(model_bytes)[1]


def _runtime_facts(model_bytes: bytes):
    """(Runtime or None, refusal reason or None): the runtime's own view of the model."""
    from reds.runtime.binding import RedsRuntimeError, Runtime

    try:
        return Runtime(model_bytes), None
    except RedsRuntimeError as err:
        hint = dynamic_batch_hint(model_bytes)
        return None, f"{err.name}: {err.message}" + (f"; {hint}" if hint else "")


def parameter_bytes(model_bytes: bytes) -> int:
    """Bytes of weights, biases and other constants an inference reads."""
    m = tflite_io.load_model(model_bytes)
    return int(sum(t.data.nbytes for t in m.tensors if t.is_constant))


def inspect_model(model_bytes: bytes, card: dict | None = None) -> dict:
    """Summary of a model: ops, sizes, and per subnet widths, MACs, parameter and arena bytes.

    `card`: optional metrics recorded at export (``{"subnets": [{"float_accuracy", ...}]}``);
    its accuracies are shown next to each subnet and its dataset's class names (the output
    index order) are kept as ``class_names``.
    """
    m = tflite_io.load_model(model_bytes)
    meta = _metadata.read_metadata(model_bytes)
    ops = Counter(op.op for op in m.operators)
    info = {
        "file_bytes": len(model_bytes),
        "crc32": f"{zlib.crc32(model_bytes) & 0xFFFFFFFF:08x}",
        "ops": dict(ops),
        "num_ops": len(m.operators),
        "num_tensors": len(m.tensors),
        "input": _tensor_desc(m, m.inputs[0]),
        "output": _tensor_desc(m, m.outputs[0]),
        "reds": meta is not None,
        "subnets": [],
    }
    names = ((card or {}).get("dataset") or {}).get("class_names")
    if names:
        info["class_names"] = [str(n) for n in names]
    rt, refusal = _runtime_facts(model_bytes)
    info["runtime"] = ({"runs": True, "persistent_bytes": rt.persistent_bytes} if rt is not None
                       else {"runs": False, "reason": refusal})
    if meta is None:
        row = {"subnet": 0, "widths": {}, "parameter_bytes": parameter_bytes(model_bytes),
               "macs": rt.macs(0) if rt is not None else None, "macs_fraction": 1.0,
               "arena_bytes": rt.arena_bytes(0) if rt is not None else None}
        _recorded_accuracies(row, (card or {}).get("subnets", []))
        info["subnets"].append(row)
        return info
    plain = _metadata.remove_metadata(model_bytes)
    info["metadata_overhead_bytes"] = len(model_bytes) - len(plain)
    info["metadata_overhead_percent"] = 100.0 * info["metadata_overhead_bytes"] / len(model_bytes)
    groups = Groups.from_metadata(meta)
    names, info["group_names_from"] = group_names(m, meta, card)
    info["groups"] = [{"group": i, "name": names[i], "full_width": w,
                       "members": [t for t, _, g in meta.members if g == i],
                       "layers": _group_layers(m, meta, i)}
                      for i, w in enumerate(meta.full_widths)]
    full_macs = meta.subnets[0].macs or 1
    recorded = (card or {}).get("subnets", [])
    for k, sub in enumerate(meta.subnets):
        sliced = slicing.slice_to_widths(model_bytes, groups, list(sub.widths))
        row = {
            "subnet": k,
            "widths": {f"g{i}": w for i, w in enumerate(sub.widths)},
            "layer_widths": {g["name"]: w for g, w in zip(info["groups"], sub.widths)},
            "macs": rt.macs(k) if rt is not None else sub.macs,
            "macs_fraction": (rt.macs(k) / max(rt.macs(0), 1)) if rt is not None else sub.macs / full_macs,
            "parameter_bytes": parameter_bytes(sliced),
            "arena_bytes": rt.arena_bytes(k) if rt is not None else sub.arena_bytes,
        }
        _recorded_accuracies(row, recorded)
        info["subnets"].append(row)
    return info


def _recorded_accuracies(row: dict, recorded: list) -> None:
    k = row["subnet"]
    if k < len(recorded):
        for key in ("float_accuracy", "int8_accuracy", "device_accuracy"):
            if recorded[k].get(key) is not None:
                row[key] = recorded[k][key]


def group_names(m, meta, card: dict | None = None) -> tuple[list[str], str]:
    """One name per channel group, and where the names come from.

    The names are the Keras ones `reds inspect-keras`, the plan and a recipe's ``min_width``
    use: a group is named after its first producing Conv2D/Dense layer. The card (or the
    run's plan.json) lists them in the metadata's group order (``"card"``); without one they
    are read from the converter's name of each group's first producing CONV_2D /
    FULLY_CONNECTED output (``"converter"``), which is the Keras layer's name as the converter
    spelled it (Keras 3 traced names carry a ``_1`` suffix: ``conv2d_1`` for ``conv2d``)."""
    recorded = (card or {}).get("groups")
    if (isinstance(recorded, list) and len(recorded) == len(meta.full_widths)
            and all(isinstance(n, str) and n for n in recorded) and len(set(recorded)) == len(recorded)):
        return list(recorded), "card"
    names = []
    for i in range(len(meta.full_widths)):
        members = {t for t, _, g in meta.members if g == i}
        ops = [op for op in m.operators if op.outputs and op.outputs[0] in members]
        first = next((op for op in ops if op.op in ("CONV_2D", "FULLY_CONNECTED")), ops[0] if ops else None)
        name = _producer_layer(m.tensors[first.outputs[0]].name) if first is not None else f"g{i}"
        names.append(name if name not in names else f"{name}#{i}")
    return names, "converter"


def _producer_layer(tensor_name: str) -> str:
    """``functional_1/re_lu_1/Relu6;functional_1/conv2d_1/convolution`` -> ``conv2d_1``: a
    fused output lists the fused activation first and the producing layer last."""
    last = tensor_name.split(";")[-1]
    parts = [p for p in last.split("/") if p]
    return parts[-2] if len(parts) >= 2 else (last or "?")


def _group_layers(m, meta, group: int) -> list[str]:
    """Layers whose output channels make up a group (from its non-constant member tensors)."""
    names = []
    for t, _, g in meta.members:
        if g == group and not m.tensors[t].is_constant:
            name = layer_name(m.tensors[t].name)
            if name not in names:
                names.append(name)
    return names


def _tensor_desc(m, t: int) -> dict:
    tensor = m.tensors[t]
    q = tensor.quantization
    desc = {"name": tensor.name, "shape": list(tensor.shape), "dtype": tensor.dtype,
            "scale": None, "zero_point": None}
    if q is not None and q.scale.size == 1:
        desc["scale"], desc["zero_point"] = float(q.scale[0]), int(q.zero_point[0])
    return desc


def card_path(model_path: Path) -> Path:
    """Where a model's card lives: ``m.tflite`` -> ``m.card.json``."""
    return Path(model_path).with_suffix(".card.json")


def load_card(model_path: Path) -> dict | None:
    """What was recorded about a model beside it: its ``<name>.card.json``, or the run folder's
    ``metrics.json`` with the channel-group names of its ``plan.json`` (in metadata order)."""
    model_path = Path(model_path)
    card = card_path(model_path)
    if card.exists():
        return json.loads(card.read_text())
    metrics = model_path.parent / "metrics.json"
    if not metrics.exists():
        return None
    doc = json.loads(metrics.read_text())
    plan = model_path.parent / "plan.json"
    if "groups" not in doc and plan.exists():
        subnets = json.loads(plan.read_text()).get("subnets") or [{}]
        doc["groups"] = list(subnets[0].get("widths", {}))  # the planner keeps the group order
    return doc


def write_card(model_path: Path, card: dict) -> Path:
    path = card_path(model_path)
    path.write_text(json.dumps(card, indent=2) + "\n")
    return path
