"""`reds inspect`: what a REDS model file holds, per subnetwork."""
from __future__ import annotations

import json
import zlib
from collections import Counter
from pathlib import Path

from reds.tflite import metadata as _metadata
from reds.tflite import slicing, flatbuffer as tflite_io
from reds.tflite.groups import Groups, layer_name


def runtime_support(model_bytes: bytes) -> str | None:
    """None if the C runtime loads the model, else its reason (e.g. a float input type)."""
    return _runtime_facts(model_bytes)[1]


def _runtime_facts(model_bytes: bytes):
    """(Runtime or None, refusal reason or None): the runtime's own view of the model."""
    from reds.runtime.binding import RedsRuntimeError, Runtime

    try:
        return Runtime(model_bytes), None
    except RedsRuntimeError as err:
        return None, f"{err.name}: {err.message}"


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
        info["subnets"].append(row)
        return info
    plain = _metadata.remove_metadata(model_bytes)
    info["metadata_overhead_bytes"] = len(model_bytes) - len(plain)
    info["metadata_overhead_percent"] = 100.0 * info["metadata_overhead_bytes"] / len(model_bytes)
    groups = Groups.from_metadata(meta)
    info["groups"] = [{"group": i, "name": f"g{i}", "full_width": w,
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
            "layer_widths": {"/".join(g["layers"]) or g["name"]: w
                             for g, w in zip(info["groups"], sub.widths)},
            "macs": rt.macs(k) if rt is not None else sub.macs,
            "macs_fraction": (rt.macs(k) / max(rt.macs(0), 1)) if rt is not None else sub.macs / full_macs,
            "parameter_bytes": parameter_bytes(sliced),
            "arena_bytes": rt.arena_bytes(k) if rt is not None else sub.arena_bytes,
        }
        if k < len(recorded):
            for key in ("float_accuracy", "int8_accuracy", "device_accuracy"):
                if recorded[k].get(key) is not None:
                    row[key] = recorded[k][key]
        info["subnets"].append(row)
    return info


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


def load_card(model_path: Path) -> dict | None:
    """Metrics recorded beside a model: `<name>.card.json` or the run's `metrics.json`."""
    for cand in (model_path.with_suffix(".card.json"), model_path.parent / "metrics.json"):
        if cand.exists():
            return json.loads(cand.read_text())
    return None
