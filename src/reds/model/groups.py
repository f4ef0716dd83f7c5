"""Channel groups of a Keras model: the sliceable channel dimensions REDS plans and slices.

``channel_groups(model)`` walks the Keras graph and returns the sliceable channel dimensions.
Every Conv2D/Dense output starts a group, except the logits layer (any layer whose output
reaches a model output through channel-wise ops is fixed). Depthwise, BN, ReLU, pooling,
GAP, zero padding and Add pass the group through; Add merges the groups of its inputs
(union-find), so residual convs share one group. Flatten (or a Reshape to ``[N]``) of an
``[H, W, C]`` map feeding Dense makes that Dense a ``flatten`` consumer: input row
``p * C + c`` (NHWC, channel fastest). A Reshape that keeps the channel axis last passes the
group through. Any other layer is refused before training with the reason
(``reds.model.layer_rules.layer_problem``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras

from reds.errors import UserError
from reds.unionfind import UnionFind
from reds.model.layer_rules import UnsupportedLayerError, check_layers

L = keras.layers

UNIT_KINDS = ("conv", "dense", "depthwise")
_PASSTHROUGH = (L.BatchNormalization, L.ReLU, L.Activation, L.GlobalAveragePooling2D, L.AveragePooling2D,
                L.MaxPooling2D, L.Dropout, L.Softmax, L.InputLayer, L.ZeroPadding2D)


@dataclass
class Consumer:
    """A layer whose *input* axis is fed by a group. ``kind``: ``conv`` (kernel axis 2),
    ``dense`` (kernel rows), ``flatten`` (Dense after Flatten: row ``p * width + c`` for
    ``p < positions``)."""
    layer: str
    kind: str
    positions: int = 1


@dataclass
class ChannelGroup:
    """One sliceable channel dimension.

    ``producers``: Conv2D/Dense layers whose kernel *output* axis (and bias) is this group.
    ``depthwise``: DepthwiseConv2D layers whose channels follow the group.
    ``batchnorms``: BN layers on the group. ``consumers``: layers whose input axis it feeds."""
    name: str
    width: int
    producers: list[str] = field(default_factory=list)
    depthwise: list[str] = field(default_factory=list)
    batchnorms: list[str] = field(default_factory=list)
    consumers: list[Consumer] = field(default_factory=list)
    min_width: int = 1

    def to_dict(self) -> dict:
        return {"name": self.name, "width": self.width, "producers": list(self.producers),
                "depthwise": list(self.depthwise), "batchnorms": list(self.batchnorms),
                "consumers": [c.__dict__.copy() for c in self.consumers], "min_width": self.min_width}


@dataclass
class UnitLayer:
    """A sliceable layer in topological order: ``kind`` in conv/dense/depthwise; ``group`` is the
    group of its output channels; ``in_group`` the group of its input channels (None if fixed)."""
    name: str
    kind: str
    group: str
    width: int
    in_group: str | None = None


def inbound_layers(layer) -> list[str]:
    node = layer._inbound_nodes[0]
    return [t._keras_history.operation.name for t in node.input_tensors]


def _out_shape(layer):
    return tuple(layer._inbound_nodes[0].output_tensors[0].shape)


def _check_single_use(model):
    for layer in model.layers:
        if len(layer._inbound_nodes) != 1:
            raise UserError(f"layer {layer.name!r} is used {len(layer._inbound_nodes)} times; "
                            "shared layers are not supported")


def _analyse(model: keras.Model, min_width: int | dict = 1):
    """Returns (groups in order, unit layers in order)."""
    _check_single_use(model)
    check_layers(model)  # every refused layer at once, not only the first
    uf = UnionFind()

    src: dict[str, tuple | None] = {}   # layer -> (gid, positions) of its output, None = fixed
    gid_info: dict[int, dict] = {}      # gid -> {"width", "producers", ...}
    units: list[tuple] = []             # (layer, kind, gid, in_gid)
    consumers: list[tuple] = []         # (gid, Consumer)
    bns: list[tuple] = []
    dws: list[tuple] = []
    next_id = 0
    for layer in model.layers:
        ins = [src[n] for n in inbound_layers(layer)] if not isinstance(layer, L.InputLayer) else []
        first = ins[0] if ins else None
        if isinstance(layer, L.InputLayer):
            src[layer.name] = None
        elif isinstance(layer, (L.Conv2D, L.Dense)) and not isinstance(layer, L.DepthwiseConv2D):
            kind = "conv" if isinstance(layer, L.Conv2D) else "dense"
            in_gid = None
            if first is not None:
                g, pos = first
                if kind == "conv" and pos != 1:
                    raise UserError(f"layer {layer.name!r}: conv after Flatten is not supported")
                consumers.append((g, Consumer(layer.name, "flatten" if pos > 1 else kind, pos)))
                in_gid = g
            if kind == "conv" and layer.groups != 1:
                raise UserError(f"layer {layer.name!r}: grouped conv is not supported")
            g = next_id
            next_id += 1
            uf.add(g)
            gid_info[g] = {"width": _out_shape(layer)[-1], "producers": [layer.name]}
            units.append((layer.name, kind, g, in_gid))
            src[layer.name] = (g, 1)
        elif isinstance(layer, L.DepthwiseConv2D):
            if layer.depth_multiplier != 1:
                raise UserError(f"layer {layer.name!r}: depth_multiplier {layer.depth_multiplier} "
                                "is not supported (only 1)")
            src[layer.name] = first
            if first is not None:
                dws.append((first[0], layer.name))
                units.append((layer.name, "depthwise", first[0], first[0]))
        elif isinstance(layer, L.Add):
            real = [s for s in ins if s is not None]
            if len(real) != len(ins):
                raise UserError(f"layer {layer.name!r}: Add of the model input is not supported")
            for s in real[1:]:
                uf.union(real[0][0], s[0])
            src[layer.name] = real[0]
        elif isinstance(layer, (L.Flatten, L.Reshape)):
            shape = _out_shape(model.get_layer(inbound_layers(layer)[0]))
            out = _out_shape(layer)
            if first is None:
                src[layer.name] = None
            elif isinstance(layer, L.Flatten) or len(out) == 2:
                pos = int(math.prod(shape[1:-1])) if len(shape) > 2 else 1
                src[layer.name] = (first[0], first[1] * pos)
            elif out[-1] == shape[-1]:
                src[layer.name] = first  # the channel axis stays last and whole
            else:
                raise UnsupportedLayerError(
                    f"layer {layer.name!r} (Reshape) cannot be sliced: it reshapes {list(shape[1:])} to "
                    f"{list(out[1:])}, which splits the channel axis; reshape to [N] (like Flatten) or keep "
                    "the last axis")
        elif isinstance(layer, L.BatchNormalization):
            if first is not None:
                bns.append((first[0], layer.name))
            src[layer.name] = first
        elif isinstance(layer, _PASSTHROUGH):
            src[layer.name] = first
        else:
            raise UserError(f"layer {layer.name!r} of type {type(layer).__name__} is not supported; "
                            "supported: Conv2D, DepthwiseConv2D, Dense, BatchNormalization, ReLU, "
                            "GlobalAveragePooling2D, AveragePooling2D, MaxPooling2D, Flatten, Add")

    # groups that reach a model output are fixed (logits)
    fixed = set()
    for t in model.outputs:
        s = src[t._keras_history.operation.name]
        if s is not None:
            fixed.add(uf.find(s[0]))

    roots: dict[int, ChannelGroup] = {}
    order: list[int] = []
    for g in sorted(gid_info):
        r = uf.find(g)
        if r in fixed:
            continue
        if r not in roots:
            name = gid_info[r]["producers"][0]
            roots[r] = ChannelGroup(name=name, width=int(gid_info[r]["width"]))
            order.append(r)
        grp = roots[r]
        if int(gid_info[g]["width"]) != grp.width:
            raise UserError(f"residual group {grp.name!r}: widths differ")
        grp.producers += gid_info[g]["producers"]
    for g, c in consumers:
        if uf.find(g) in roots:
            roots[uf.find(g)].consumers.append(c)
    for g, n in bns:
        if uf.find(g) in roots:
            roots[uf.find(g)].batchnorms.append(n)
    for g, n in dws:
        if uf.find(g) in roots:
            roots[uf.find(g)].depthwise.append(n)
    groups = [roots[r] for r in order]
    for grp in groups:
        mw = min_width.get(grp.name, 1) if isinstance(min_width, dict) else int(min_width)
        grp.min_width = max(1, min(int(mw), grp.width))
    unit_list = []
    for name, kind, g, in_g in units:
        r = uf.find(g)
        if r not in roots:
            continue
        in_name = roots[uf.find(in_g)].name if in_g is not None and uf.find(in_g) in roots else None
        unit_list.append(UnitLayer(name, kind, roots[r].name, roots[r].width, in_name))
    return groups, unit_list


def channel_groups(model: keras.Model, min_width: int | dict = 1) -> list[ChannelGroup]:
    """The sliceable channel groups of ``model`` in topological order (see module doc)."""
    return _analyse(model, min_width)[0]


def unit_layers(model: keras.Model) -> list[UnitLayer]:
    """The sliceable layers (Conv2D, Dense except logits, DepthwiseConv2D) in topological order
    with the group of their output channels."""
    return _analyse(model)[1]
