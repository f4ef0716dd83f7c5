"""Cut a subnet out of a nested REDS model into a standalone .tflite, and build nested models.

``slice_model(model, k)`` physically removes the inactive channels of subnet ``k``: activation
shapes, conv filters on O and I, depthwise filters on C, FC weights on O and on the input
columns (a flattened ``P x C`` input keeps columns ``p * C_full + c`` for ``c < w``), biases,
per-channel scales and zero points (``quantized_dimension`` unchanged) and RESHAPE shapes. The
result has no REDS metadata and runs on stock TFLM; at full widths it is the original model.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from reds.tflite import arena as _arena
from reds.tflite import groups as _graph
from reds.tflite import metadata as _metadata
from reds.tflite import flatbuffer as tflite_io
from reds.errors import MetadataError, PlanError
from reds.tflite.groups import Groups, member_map


def slice_model(model_bytes: bytes, subnet: int) -> bytes:
    """A standalone .tflite of ``subnet`` (index into the REDS metadata subnets table)."""
    meta = _metadata.read_metadata(model_bytes)
    if meta is None:
        raise MetadataError("model has no REDS metadata: nothing to slice (use nest() first)")
    widths = meta.widths(subnet)
    return slice_to_widths(model_bytes, Groups.from_metadata(meta), widths)


def slice_to_widths(model_bytes: bytes, groups, widths: Sequence[int]) -> bytes:
    """Like ``slice_model`` with explicit groups and widths (metadata not needed)."""
    m = tflite_io.load_model(model_bytes)
    g = _graph.as_groups(groups)
    _graph.check_widths(g, widths)
    mm = member_map(m, g)
    mt = tflite_io.unpack(model_bytes)
    sg = mt.subgraphs[0]
    full = g.full_widths

    def keep(act: int, n: int) -> np.ndarray:
        """Indices kept of a channel dimension of ``n`` elements fed by/feeding tensor ``act``."""
        if act < 0 or act not in mm:
            return np.arange(n)
        gi = mm[act][0]
        fw, w = full[gi], widths[gi]
        if n % fw:
            raise PlanError(f"tensor {act}: dimension {n} is not a multiple of group {gi} width {fw}")
        return (np.arange(n // fw)[:, None] * fw + np.arange(w)[None, :]).reshape(-1)

    # 1. activation shapes
    new_shapes = {}
    for t, (gi, axis, p) in mm.items():
        shape = list(m.tensors[t].shape)
        shape[axis] = p * widths[gi]
        new_shapes[t] = shape
        tt = sg.tensors[t]
        tt.shape = np.array(shape, dtype=np.int32)
        if tt.shapeSignature is not None and len(tt.shapeSignature) == len(shape):
            sig = [int(v) for v in tt.shapeSignature]
            sig[axis] = shape[axis]
            tt.shapeSignature = np.array(sig, dtype=np.int32)

    # 2. constants, computed per tensor; a tensor shared by two ops must get one answer
    sliced: dict[int, tuple[np.ndarray, list]] = {}

    def cut(t: int, index: list, where: str) -> None:
        """Slice constant ``t`` with one index array (or None) per axis."""
        if t < 0:
            return
        tensor = m.tensors[t]
        if not tensor.is_constant:
            raise PlanError(f"{where}: tensor {t} '{tensor.name}' should be constant")
        arr = tensor.data
        for axis, idx in enumerate(index):
            if idx is not None:
                arr = np.take(arr, idx, axis=axis)
        if t in sliced and not np.array_equal(sliced[t][0], arr):
            raise PlanError(f"{where}: constant tensor {t} '{tensor.name}' is shared by ops that slice it differently")
        sliced[t] = (arr, index)

    for op in m.operators:
        where = f"{op.op} op {op.index}"
        ins = list(op.inputs) + [-1] * 3
        x, y = ins[0], op.outputs[0]
        if op.op == "CONV_2D":
            o_full, _, _, i_full = m.tensors[ins[1]].shape
            oi = keep(y, o_full)
            ii = keep(x, i_full)
            cut(ins[1], [oi, None, None, ii], where)
            cut(ins[2], [oi], where)
        elif op.op == "DEPTHWISE_CONV_2D":
            c = m.tensors[ins[1]].shape[3]
            ci = keep(y, c)
            cut(ins[1], [None, None, None, ci], where)
            cut(ins[2], [ci], where)
        elif op.op == "FULLY_CONNECTED":
            o_full, i_full = m.tensors[ins[1]].shape
            oi = keep(y, o_full)
            ii = keep(x, i_full)
            cut(ins[1], [oi, ii], where)
            cut(ins[2], [oi], where)
        elif op.op == "RESHAPE" and y in new_shapes:
            shape = new_shapes[y]
            opts = sg.operators[op.index].builtinOptions
            if opts is not None and getattr(opts, "newShape", None) is not None:
                opts.newShape = np.array(shape, dtype=np.int32)
            if ins[1] >= 0:
                st = m.tensors[ins[1]]
                if not st.is_constant or st.data.size != len(shape):
                    raise PlanError(f"{where}: shape tensor {ins[1]} is not a constant of {len(shape)} values")
                new = np.array(shape, dtype=st.data.dtype)
                if ins[1] in sliced and not np.array_equal(sliced[ins[1]][0], new):
                    raise PlanError(f"{where}: shape tensor {ins[1]} is shared by reshapes that differ")
                sliced[ins[1]] = (new, [])

    # 3. write constants (copy-on-write for buffers shared between tensors)
    buffer_users: dict[int, int] = {}
    for tt in sg.tensors:
        buffer_users[tt.buffer] = buffer_users.get(tt.buffer, 0) + 1
    for t, (arr, index) in sliced.items():
        tt = sg.tensors[t]
        tensor = m.tensors[t]
        if buffer_users.get(tt.buffer, 0) > 1:
            buffer_users[tt.buffer] -= 1
            mt.buffers.append(tflite_io.schema.BufferT())
            tt.buffer = len(mt.buffers) - 1
        mt.buffers[tt.buffer].data = tflite_io.tensor_bytes(arr.astype(tensor.data.dtype))
        tt.shape = np.array(arr.shape, dtype=np.int32)
        if tt.shapeSignature is not None:
            tt.shapeSignature = np.array(arr.shape, dtype=np.int32)
        q = tt.quantization
        if q is not None and tensor.quantization is not None and tensor.quantization.per_channel:
            axis = tensor.quantization.axis
            n = tensor.shape[axis]
            idx = index[axis] if axis < len(index) else None
            if idx is not None:
                for name in ("scale", "zeroPoint", "min", "max"):
                    v = getattr(q, name)
                    if v is not None and len(v) == n:
                        setattr(q, name, np.asarray(v)[idx])

    _metadata.strip_metadata(mt)
    return tflite_io.pack(mt)


def nest(model_bytes: bytes, groups=None, subnets_widths: Sequence[Sequence[int]] = ()) -> bytes:
    """Attach REDS metadata for ``subnets_widths`` (largest first) to ``model_bytes``.

    ``groups`` defaults to ``graph.derive_groups(model)``. Each subnet's MACs come from
    ``graph.macs`` and its arena bytes from the arena rule (``arena.ArenaModel``).
    """
    m = tflite_io.load_model(model_bytes)
    g = _graph.derive_groups(m) if groups is None else _graph.as_groups(groups)
    if not subnets_widths:
        subnets_widths = [g.full_widths]
    terms = _graph.mac_terms(m, g)
    am = _arena.ArenaModel(m, g)
    subnets = []
    for k, widths in enumerate(subnets_widths):
        widths = [int(w) for w in widths]
        try:
            _graph.check_widths(g, widths)
        except PlanError as e:
            raise PlanError(f"subnet {k}: {e}") from None
        subnets.append(
            {"macs": _graph.evaluate_terms(terms, widths), "arena_bytes": am.bytes(widths), "widths": widths}
        )
    blob = _metadata.pack_blob(g.full_widths, g.members(), subnets)
    return _metadata.attach_metadata(model_bytes, blob)


__all__ = ["nest", "slice_model", "slice_to_widths"]
