"""Channel groups of an int8 TFLite model, and its exact MAC count as a function of widths.

A *channel group* (docs/metadata.md) is one sliceable channel dimension shared by activation
tensors: a CONV_2D / FULLY_CONNECTED output channel and every tensor it flows through (fused
activation, AVERAGE/MAX_POOL_2D, PAD, DEPTHWISE_CONV_2D, ADD, MEAN, RESHAPE) up to the input of the
next CONV_2D / FULLY_CONNECTED. ADD ties both inputs and its output into one group (union-find).

Groups that reach a subgraph input or output, SOFTMAX / QUANTIZE / DEQUANTIZE, an operator the
toolkit does not know, or a layout it cannot slice (a RESHAPE that moves channels, a broadcast
ADD, ...) are *fixed*: always full width, never listed in the metadata. ``Groups.fixed`` says why.

Every member's sliced axis is its last axis; ``shape[-1] == P * full_width`` with the channel
fastest (P > 1 only for a flattened ``[1, H, W, C] -> [1, H*W*C]`` feeding FULLY_CONNECTED).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from reds.errors import PlanError, UnsupportedOpError
from reds.tflite.flatbuffer import Model, ModelLike, load_model
from reds.unionfind import UnionFind

#: Operators the REDS runtime implements.
supported_ops = frozenset(
    {
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "FULLY_CONNECTED",
        "AVERAGE_POOL_2D",
        "MAX_POOL_2D",
        "MEAN",
        "ADD",
        "RESHAPE",
        "PAD",
        "SOFTMAX",
        "QUANTIZE",
        "DEQUANTIZE",
    }
)

_PRODUCERS = ("CONV_2D", "FULLY_CONNECTED")
_PASS_THROUGH = ("AVERAGE_POOL_2D", "MAX_POOL_2D", "DEPTHWISE_CONV_2D", "MEAN", "ADD", "RESHAPE", "PAD")


#: what TFLiteConverter makes of Flatten (or a Reshape) when the batch is dynamic
DYNAMIC_BATCH_OPS = ("SHAPE", "STRIDED_SLICE", "PACK")


def dynamic_batch_hint(model: ModelLike) -> str:
    """How to avoid SHAPE / STRIDED_SLICE / PACK when they come from converting with a dynamic
    batch (the input's shape signature starts with -1), else ``""``."""
    from reds.tflite.flatbuffer import unpack

    m = load_model(model)
    used = [op for op in DYNAMIC_BATCH_OPS if any(o.op == op for o in m.operators)]
    if not used:
        return ""
    sg = unpack(bytes(m.raw) if m.raw else bytes(model)).subgraphs[0]
    signature = sg.tensors[sg.inputs[0]].shapeSignature
    if signature is None or len(signature) == 0 or int(signature[0]) != -1:
        return ""
    return (f"its {'/'.join(used)} come from converting with a dynamic batch (input shape "
            f"signature {[int(d) for d in signature]}); convert with a batch of 1 "
            "(keras.Input(shape, batch_size=1), or reds.model.zoo.with_batch(model, 1)) and Flatten "
            "becomes one RESHAPE, which the runtime runs")


def check_supported(model: ModelLike) -> None:
    """Raise ``UnsupportedOpError`` for the first operator the runtime does not implement."""
    m = load_model(model)
    if m.num_subgraphs != 1:
        raise UnsupportedOpError(
            f"{m.num_subgraphs} subgraphs (control flow)", supported_ops, "only subgraph 0 is run"
        )
    for op in m.operators:
        if op.op not in supported_ops:
            out = m.tensors[op.outputs[0]].name if op.outputs else "?"
            err = UnsupportedOpError(op.op, supported_ops, f"operator {op.index}, output '{out}'")
            hint = dynamic_batch_hint(m)
            if hint:
                err.args = (f"{err}; {hint}",)
            raise err


@dataclass(frozen=True)
class Group:
    """One sliceable channel group."""

    name: str
    full_width: int
    members: tuple[tuple[int, int], ...]  # (tensor index, axis), sorted by tensor index
    producers: tuple[int, ...]  # indices of the CONV/DEPTHWISE/FC ops writing a member


@dataclass(frozen=True)
class FixedGroup:
    """A channel dimension that may not be sliced, and why."""

    name: str
    tensors: tuple[int, ...]
    producers: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class Groups:
    """The sliceable groups of a model (index = metadata group index) and the fixed ones."""

    groups: tuple[Group, ...]
    fixed: tuple[FixedGroup, ...] = ()

    def __len__(self) -> int:
        return len(self.groups)

    def __iter__(self):
        return iter(self.groups)

    def __getitem__(self, i: int) -> Group:
        return self.groups[i]

    @property
    def full_widths(self) -> list[int]:
        return [g.full_width for g in self.groups]

    @property
    def names(self) -> list[str]:
        return [g.name for g in self.groups]

    def members(self) -> list[tuple[int, int, int]]:
        """``(tensor_index, axis, group)`` sorted by tensor index: the metadata member table."""
        out = [(t, a, gi) for gi, g in enumerate(self.groups) for t, a in g.members]
        return sorted(out)

    def group_of(self, tensor: int) -> int | None:
        for gi, g in enumerate(self.groups):
            for t, _ in g.members:
                if t == tensor:
                    return gi
        return None

    @classmethod
    def from_metadata(cls, meta) -> "Groups":
        """Groups as recorded in a ``RedsMetadata`` (names ``g0``, ``g1``, ...; no producers)."""
        members: list[list[tuple[int, int]]] = [[] for _ in meta.full_widths]
        for t, axis, g in meta.members:
            members[g].append((t, axis))
        return cls(
            tuple(
                Group(f"g{i}", w, tuple(sorted(members[i])), ())
                for i, w in enumerate(meta.full_widths)
            )
        )


def as_groups(groups_or_metadata) -> Groups:
    if isinstance(groups_or_metadata, Groups):
        return groups_or_metadata
    if hasattr(groups_or_metadata, "full_widths") and hasattr(groups_or_metadata, "members"):
        return Groups.from_metadata(groups_or_metadata)
    raise TypeError(f"expected Groups or RedsMetadata, got {type(groups_or_metadata).__name__}")


# --------------------------------------------------------------------------- derivation


def layer_name(tensor_name: str) -> str:
    """``functional_1/c2_1/Relu;functional_1/...`` -> ``c2_1``."""
    first = tensor_name.split(";")[0]
    parts = [p for p in first.split("/") if p]
    if len(parts) >= 2:
        return parts[-2]
    return first or "?"


def derive_groups(model: ModelLike) -> Groups:
    """Find the channel groups of a converted int8 model (no REDS metadata needed)."""
    m = load_model(model)
    T = m.tensors
    uf = UnionFind()
    nodes = [t.index for t in T if not t.is_constant and len(t.shape) >= 1]
    for t in nodes:
        uf.add(t)
    is_node = set(nodes)
    producers: dict[int, list[int]] = {}  # root-independent: tensor -> ops
    width_checks: list[tuple[int, str]] = []  # tensors whose last dim must equal the full width

    def desc(op) -> str:
        return f"{op.op} op {op.index}"

    def fix_all(op, reason: str) -> None:
        for t in op.inputs + op.outputs:
            if t in is_node:
                uf.note(t, f"{reason} ({desc(op)})")

    def const(op, i: int) -> bool:
        return i < len(op.inputs) and op.inputs[i] >= 0 and T[op.inputs[i]].is_constant

    for t in m.inputs:
        if t in is_node:
            uf.note(t, f"subgraph input '{T[t].name}'")
    for t in m.outputs:
        if t in is_node:
            uf.note(t, f"subgraph output '{T[t].name}'")

    for op in m.operators:
        ins = [t for t in op.inputs if t >= 0]
        if op.op not in _PRODUCERS + _PASS_THROUGH:
            fix_all(op, f"consumed/produced by {op.op}")
            continue
        x = op.inputs[0] if op.inputs else -1
        y = op.outputs[0] if op.outputs else -1
        if x not in is_node or y not in is_node or len(op.outputs) != 1:
            fix_all(op, "unexpected operands")
            continue
        xs, ys = T[x].shape, T[y].shape
        if op.op == "CONV_2D":
            if not (const(op, 1) and len(xs) == 4 and T[op.inputs[1]].shape[3] == xs[3]):
                fix_all(op, "grouped or non-constant convolution")
                continue
            producers.setdefault(y, []).append(op.index)
            width_checks.append((x, desc(op)))
            width_checks.append((y, desc(op)))
        elif op.op == "FULLY_CONNECTED":
            if not const(op, 1):
                fix_all(op, "non-constant weights")
                continue
            in_features = T[op.inputs[1]].shape[1]
            if T[x].num_elements != in_features:
                fix_all(op, f"input of {T[x].num_elements} elements is not one row of {in_features}")
                continue
            producers.setdefault(y, []).append(op.index)
            width_checks.append((y, desc(op)))
        elif op.op == "DEPTHWISE_CONV_2D":
            if not (
                const(op, 1)
                and op.options.get("depth_multiplier", 1) == 1
                and len(xs) == 4
                and len(ys) == 4
                and xs[3] == ys[3] == T[op.inputs[1]].shape[3]
            ):
                fix_all(op, "depth multiplier != 1")
                continue
            uf.union(x, y)
            producers.setdefault(y, []).append(op.index)
            width_checks += [(x, desc(op)), (y, desc(op))]
        elif op.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D", "PAD"):
            if xs[-1] != ys[-1]:
                fix_all(op, "channel count changes")
                continue
            uf.union(x, y)
            width_checks += [(x, desc(op)), (y, desc(op))]
        elif op.op == "MEAN":
            if not const(op, 1):
                fix_all(op, "non-constant reduction axes")
                continue
            axes = [int(a) % len(xs) for a in np.ravel(T[op.inputs[1]].data)]
            if len(xs) - 1 in axes or xs[-1] != ys[-1]:
                fix_all(op, "reduces over channels")
                continue
            uf.union(x, y)
            width_checks += [(x, desc(op)), (y, desc(op))]
        elif op.op == "ADD":
            if len(ins) != 2 or any(t not in is_node for t in ins):
                fix_all(op, "constant operand")
                continue
            if not (T[ins[0]].shape[-1] == T[ins[1]].shape[-1] == ys[-1]):
                fix_all(op, "broadcast over channels")
                continue
            uf.union(ins[0], y)
            uf.union(ins[1], y)
            width_checks += [(ins[0], desc(op)), (ins[1], desc(op)), (y, desc(op))]
        elif op.op == "RESHAPE":
            if len(op.inputs) > 1 and op.inputs[1] >= 0 and not const(op, 1):
                fix_all(op, "non-constant shape")
                continue
            uf.union(x, y)  # last-dim divisibility checked below, once widths are known

    # collect sets
    sets: dict[int, list[int]] = {}
    for t in nodes:
        sets.setdefault(uf.find(t), []).append(t)

    def widths_of(root) -> int | None:
        ws = {T[t].shape[-1] for t in sets[root] if t in producers}
        return ws.pop() if len(ws) == 1 else None

    for root in list(sets):
        prods = [t for t in sets[root] if t in producers]
        if not any(m.operators[o].op in _PRODUCERS for t in prods for o in producers[t]):
            uf.note(root, "not produced by a CONV_2D or FULLY_CONNECTED")
            continue
        full = widths_of(root)
        if full is None:
            uf.note(root, "producers disagree on the channel count")
            continue
        for t in sets[root]:
            if T[t].shape[-1] % full:
                op = m.producer(t)
                uf.note(root, f"RESHAPE moves channels: tensor {t} '{T[t].name}' has last dim "
                        f"{T[t].shape[-1]}, not a multiple of {full}"
                        + (f" ({desc(op)})" if op else ""))
    for t, where in width_checks:
        root = uf.find(t)
        full = widths_of(root)
        if full is not None and T[t].shape[-1] != full:
            uf.note(root, f"tensor {t} '{T[t].name}' is flattened ({T[t].shape[-1]} = "
                    f"{T[t].shape[-1] // full} x {full}) where {where} needs plain channels")

    groups: list[tuple[int, Group]] = []
    fixed: list[FixedGroup] = []
    for root, tensors in sets.items():
        tensors = sorted(tensors)
        prod_ops = sorted({o for t in tensors for o in producers.get(t, [])})
        names = []
        for o in prod_ops:
            if m.operators[o].op in _PRODUCERS:
                n = layer_name(T[m.operators[o].outputs[0]].name)
                if n not in names:
                    names.append(n)
        name = "+".join(names) or layer_name(T[tensors[0]].name)
        reasons = uf.notes.get(root)
        if reasons:
            fixed.append(FixedGroup(name, tuple(tensors), tuple(prod_ops), "; ".join(reasons)))
            continue
        full = widths_of(root)
        members = tuple((t, len(T[t].shape) - 1) for t in tensors)
        groups.append((prod_ops[0], Group(name, full, members, tuple(prod_ops))))
    groups.sort(key=lambda x: x[0])
    seen: dict[str, int] = {}
    out = []
    for _, g in groups:
        if g.name in seen:
            seen[g.name] += 1
            g = Group(f"{g.name}#{seen[g.name]}", g.full_width, g.members, g.producers)
        else:
            seen[g.name] = 0
        out.append(g)
    return Groups(tuple(out), tuple(fixed))


# --------------------------------------------------------------------------- MACs


MacTerm = tuple[int, "int | None", "int | None"]


def member_map(m: Model, groups: Groups) -> dict[int, tuple[int, int, int]]:
    """tensor -> (group, axis, P) with ``shape[axis] == P * full_width``."""
    out = {}
    for gi, g in enumerate(groups.groups):
        for t, axis in g.members:
            if not 0 <= t < len(m.tensors):
                raise PlanError(f"group {gi} '{g.name}': tensor {t} out of range")
            shape = m.tensors[t].shape
            if not 0 <= axis < len(shape) or shape[axis] % g.full_width:
                raise PlanError(
                    f"group {gi} '{g.name}': tensor {t} shape {list(shape)} axis {axis} "
                    f"is not a multiple of full width {g.full_width}"
                )
            out[t] = (gi, axis, shape[axis] // g.full_width)
    return out


def mac_terms(model: ModelLike, groups) -> list[MacTerm]:
    """Exact MACs as ``[(coef, group_a, group_b)]``: ``MACs(w) = sum coef * w[a] * w[b]``.

    A ``None`` group is a factor 1 (a fixed width is already folded into ``coef``). Per
    docs/metadata.md: CONV_2D ``H_out*W_out*kh*kw*C_in*C_out``, DEPTHWISE_CONV_2D
    ``H_out*W_out*kh*kw*C``, FULLY_CONNECTED ``I*O`` (a flattened input counts ``P*w``).
    """
    m = load_model(model)
    g = as_groups(groups)
    mm = member_map(m, g)
    acc: dict[tuple, int] = {}

    def chan(t: int, full: int):
        """(factor, group) of a channel dim of ``full`` elements of tensor t."""
        if t in mm:
            gi, _, _ = mm[t]
            fw = g.groups[gi].full_width
            if full % fw:
                raise PlanError(f"tensor {t}: {full} channels not a multiple of group width {fw}")
            return full // fw, gi
        return full, None

    def add(coef: int, a, b) -> None:
        key = tuple(sorted((a, b), key=lambda v: (v is None, v if v is not None else 0)))
        acc[key] = acc.get(key, 0) + int(coef)

    for op in m.operators:
        if op.op == "CONV_2D":
            x, w, y = op.inputs[0], op.inputs[1], op.outputs[0]
            o_full, kh, kw, i_full = m.tensors[w].shape
            _, ho, wo, _ = m.tensors[y].shape
            fi, gi = chan(x, i_full) if m.tensors[x].shape[-1] == i_full else (i_full, None)
            fo, go = chan(y, o_full)
            add(ho * wo * kh * kw * fi * fo, gi, go)
        elif op.op == "DEPTHWISE_CONV_2D":
            w, y = op.inputs[1], op.outputs[0]
            _, kh, kw, c = m.tensors[w].shape
            _, ho, wo, _ = m.tensors[y].shape
            f, gc = chan(y, c)
            add(ho * wo * kh * kw * f, gc, None)
        elif op.op == "FULLY_CONNECTED":
            x, w, y = op.inputs[0], op.inputs[1], op.outputs[0]
            o_full, i_full = m.tensors[w].shape
            fi, gi = chan(x, i_full)
            fo, go = chan(y, o_full)
            add(fi * fo, gi, go)
    return [(c, a, b) for (a, b), c in acc.items() if c]


def evaluate_terms(terms: Sequence[MacTerm], widths: Sequence[int]) -> int:
    """``sum coef * w[a] * w[b]`` (None = 1)."""
    total = 0
    for c, a, b in terms:
        total += c * (widths[a] if a is not None else 1) * (widths[b] if b is not None else 1)
    return total


def macs(model: ModelLike, groups, widths: Sequence[int]) -> int:
    """Exact MAC count of the subnet with ``widths`` (one width per group)."""
    g = as_groups(groups)
    check_widths(g, widths)
    return evaluate_terms(mac_terms(model, g), widths)


def check_widths(groups: Groups, widths: Iterable[int]) -> None:
    widths = list(widths)
    if len(widths) != len(groups.groups):
        raise PlanError(f"{len(widths)} widths given for {len(groups.groups)} groups")
    for gi, (w, grp) in enumerate(zip(widths, groups.groups)):
        if not 1 <= w <= grp.full_width:
            raise PlanError(f"group {gi} '{grp.name}': width {w} outside 1..{grp.full_width}")
