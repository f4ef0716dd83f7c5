"""Run a Keras model at sub-widths with shared weights (masking) and build sliced copies.

A subnetwork keeps the first ``w[g]`` channels of every channel group ``g`` (see
``reds.model.groups.channel_groups``). ``SlimRunner`` re-executes the model's graph layer by layer and
multiplies the *input of every consumer* (Conv2D / Dense fed by the group) by a 0/1 channel
mask. All ops between a producer and its consumers (BN, ReLU, depthwise, pooling, Add) are
channel-wise, so channels ``< w`` are exactly those of the sliced network and channels ``>= w``
never reach a consumer: with BN in inference mode the masked forward equals the physically
sliced network (``slice_keras_model``), and the gradients of inactive weights are zero.

Widths are ``{group_name: int}``; groups not listed keep their full width.

Cost model (shared with the planner's rules in docs/metadata.md): MACs per op with active
widths: Conv2D ``H_out*W_out*kh*kw*C_in*C_out``, DepthwiseConv2D ``H_out*W_out*kh*kw*C``, Dense
``I*O``. Parameters: kernel + bias of Conv2D / DepthwiseConv2D / Dense (BN folds into the conv
on export, so it is not counted).
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from reds.errors import UserError
from reds.model.groups import ChannelGroup, channel_groups, inbound_layers

L = keras.layers


def full_widths(groups: list[ChannelGroup]) -> dict[str, int]:
    return {g.name: g.width for g in groups}


def fraction_widths(groups: list[ChannelGroup], fraction: float) -> dict[str, int]:
    """Every group at ``round(fraction * width)``, at least its ``min_width``."""
    return {g.name: int(min(g.width, max(g.min_width, round(fraction * g.width)))) for g in groups}


def resolve_widths(groups: list[ChannelGroup], widths: dict) -> dict[str, int]:
    """Validate a widths dict, fill in missing groups with the full width."""
    known = {g.name: g for g in groups}
    for k in widths:
        if k not in known:
            raise UserError(f"unknown channel group {k!r}; groups: {', '.join(known)}")
    out = {}
    for g in groups:
        w = int(widths.get(g.name, g.width))
        if not 1 <= w <= g.width:
            raise UserError(f"width {w} of group {g.name!r} out of range 1..{g.width}")
        out[g.name] = w
    return out


class _LayerRoles:
    """For every layer: the group of its output channels and of its input channels."""

    def __init__(self, model: keras.Model, groups: list[ChannelGroup]):
        self.out_group: dict[str, str] = {}
        self.in_group: dict[str, tuple[str, str, int]] = {}   # layer -> (group, kind, positions)
        for g in groups:
            for n in g.producers + g.depthwise + g.batchnorms:
                self.out_group[n] = g.name
            for c in g.consumers:
                self.in_group[c.layer] = (g.name, c.kind, c.positions)


def _layer_cost(layer, in_w: int, out_w: int, positions: int) -> tuple[int, int]:
    """(MACs, params) of one layer with ``in_w`` active input channels (per position for Flatten)
    and ``out_w`` active output channels."""
    if isinstance(layer, L.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        _, h, w, _ = layer._inbound_nodes[0].output_tensors[0].shape
        return h * w * kh * kw * out_w, kh * kw * out_w + (out_w if layer.use_bias else 0)
    if isinstance(layer, L.Conv2D):
        kh, kw = layer.kernel_size
        _, h, w, _ = layer._inbound_nodes[0].output_tensors[0].shape
        k = kh * kw * in_w * out_w
        return h * w * k, k + (out_w if layer.use_bias else 0)
    if isinstance(layer, L.Dense):
        i = in_w * positions
        return i * out_w, i * out_w + (out_w if layer.use_bias else 0)
    return 0, 0


def layer_costs(model: keras.Model, widths: dict | None = None, groups=None) -> dict[str, tuple[int, int]]:
    """``{layer: (macs, params)}`` for every Conv2D / DepthwiseConv2D / Dense at ``widths``."""
    groups = groups if groups is not None else channel_groups(model)
    widths = resolve_widths(groups, widths or {})
    roles = _LayerRoles(model, groups)
    out = {}
    for layer in model.layers:
        if not isinstance(layer, (L.Conv2D, L.DepthwiseConv2D, L.Dense)):
            continue
        full_out = layer._inbound_nodes[0].output_tensors[0].shape[-1]
        out_w = widths[roles.out_group[layer.name]] if layer.name in roles.out_group else full_out
        if isinstance(layer, L.DepthwiseConv2D):
            in_w, pos = out_w, 1
        elif layer.name in roles.in_group:
            g, _, pos = roles.in_group[layer.name]
            in_w = widths[g]
        else:
            in_w, pos = layer._inbound_nodes[0].input_tensors[0].shape[-1], 1
        out[layer.name] = _layer_cost(layer, in_w, out_w, pos)
    return out


def count_macs(model: keras.Model, widths: dict | None = None, groups=None) -> int:
    return int(sum(m for m, _ in layer_costs(model, widths, groups).values()))


def count_params(model: keras.Model, widths: dict | None = None, groups=None) -> int:
    return int(sum(p for _, p in layer_costs(model, widths, groups).values()))


# --------------------------------------------------------------------------- masked execution


class SlimRunner:
    """Executes ``model`` with per-group channel masks, sharing its weights.

    ``runner(x, masks, training=False)``: ``masks`` is ``{group: float tensor [width]}`` (use
    ``runner.masks(widths)``); a missing group is unmasked. BN runs in inference mode unless
    ``training=True``. ``bn_stats``: a dict to collect per-BN batch moments — BN then normalises
    with the batch statistics (as in training) and appends ``(mean, var)`` per call, without
    touching the moving statistics (used to re-estimate BN)."""

    def __init__(self, model: keras.Model, groups: list[ChannelGroup] | None = None):
        self.model = model
        self.groups = groups if groups is not None else channel_groups(model)
        self.roles = _LayerRoles(model, self.groups)
        self.order = []
        for layer in model.layers:
            if isinstance(layer, L.InputLayer):
                continue
            self.order.append((layer, inbound_layers(layer)))
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise UserError("only single-input single-output models are supported")
        self.input_name = model.inputs[0]._keras_history.operation.name
        self.output_name = model.outputs[0]._keras_history.operation.name

    def masks(self, widths: dict | None) -> dict[str, tf.Tensor]:
        widths = resolve_widths(self.groups, widths or {})
        return {g.name: tf.constant((np.arange(g.width) < widths[g.name]).astype(np.float32))
                for g in self.groups}

    def eval_fn(self):
        """A cached ``tf.function(x, masks) -> logits`` (inference mode), traced once."""
        fn = getattr(self, "_eval_fn", None)
        if fn is None:
            spec = [tf.TensorSpec((None,) + tuple(self.model.inputs[0].shape[1:]), tf.float32),
                    {g.name: tf.TensorSpec((g.width,), tf.float32) for g in self.groups}]
            fn = self._eval_fn = tf.function(lambda xb, m: self(xb, m, training=False), input_signature=spec)
        return fn

    def __call__(self, x, masks: dict | None = None, training: bool = False, bn_stats: dict | None = None):
        masks = masks or {}
        values = {self.input_name: x}
        for layer, parents in self.order:
            ins = [values[p] for p in parents]
            role = self.roles.in_group.get(layer.name)
            if role is not None and role[0] in masks:
                g, kind, pos = role
                m = masks[g]
                if kind == "flatten" and pos > 1:
                    m = tf.tile(m, [pos])
                ins[0] = ins[0] * m
            if bn_stats is not None and isinstance(layer, L.BatchNormalization):
                xin = ins[0]
                axes = list(range(len(xin.shape) - 1))
                mean, var = tf.nn.moments(xin, axes=axes)
                bn_stats.setdefault(layer.name, []).append((mean, var))
                out = tf.nn.batch_normalization(xin, mean, var, layer.beta, layer.gamma, layer.epsilon)
            else:
                out = layer(ins if len(ins) > 1 else ins[0], training=training)
            values[layer.name] = out
        return values[self.output_name]


# --------------------------------------------------------------------------- physical slicing


def _flatten_rows(width: int, active: int, positions: int) -> np.ndarray:
    return np.array([p * width + c for p in range(positions) for c in range(active)], dtype=np.int64)


def slice_keras_model(model: keras.Model, widths: dict, groups=None) -> keras.Model:
    """A new float Keras model with every group cut to its first ``widths[g]`` channels,
    weights copied from ``model`` (the reference for masking tests and for inspection)."""
    groups = groups if groups is not None else channel_groups(model)
    widths = resolve_widths(groups, widths)
    roles = _LayerRoles(model, groups)
    config = model.get_config()
    for lc in config["layers"]:
        lc.pop("build_config", None)  # recorded input shapes would be the full ones
        name = lc["config"]["name"]
        g = roles.out_group.get(name)
        if g is None:
            continue
        if lc["class_name"] == "Conv2D":
            lc["config"]["filters"] = widths[g]
        elif lc["class_name"] == "Dense":
            lc["config"]["units"] = widths[g]
    small = model.__class__.from_config(config)
    for layer in model.layers:
        ws = layer.get_weights()
        if not ws:
            continue
        target = small.get_layer(layer.name)
        out_g = roles.out_group.get(layer.name)
        in_role = roles.in_group.get(layer.name)
        new = []
        if isinstance(layer, L.BatchNormalization):
            new = [w[:widths[out_g]] if out_g else w for w in ws]
        elif isinstance(layer, L.DepthwiseConv2D):
            w = widths[out_g] if out_g else ws[0].shape[2]
            new = [ws[0][:, :, :w, :]] + [b[:w] for b in ws[1:]]
        elif isinstance(layer, L.Conv2D):
            k = ws[0]
            if out_g:
                k = k[..., :widths[out_g]]
            if in_role:
                k = k[:, :, :widths[in_role[0]], :]
            new = [k] + [b[:widths[out_g]] if out_g else b for b in ws[1:]]
        elif isinstance(layer, L.Dense):
            k = ws[0]
            if out_g:
                k = k[:, :widths[out_g]]
            if in_role:
                g, kind, pos = in_role
                full = k.shape[0] // pos
                k = k[_flatten_rows(full, widths[g], pos)]
            new = [k] + [b[:widths[out_g]] if out_g else b for b in ws[1:]]
        else:
            raise UserError(f"slice_keras_model: cannot slice weights of {type(layer).__name__} {layer.name!r}")
        target.set_weights(new)
    return small


def subnet_forward(model: keras.Model, x, widths: dict | None = None, batch_size: int = 256,
                   runner: SlimRunner | None = None) -> np.ndarray:
    """Logits of the subnetwork at ``widths`` on ``x`` (numpy in, numpy out, BN in inference)."""
    runner = runner or SlimRunner(model)
    masks = runner.masks(widths)
    fn = runner.eval_fn()
    outs = []
    for i in range(0, len(x), batch_size):
        outs.append(fn(tf.convert_to_tensor(x[i:i + batch_size], tf.float32), masks).numpy())
    return np.concatenate(outs) if outs else np.zeros((0,) + tuple(model.outputs[0].shape[1:]), np.float32)


__all__ = ["SlimRunner", "slice_keras_model", "subnet_forward", "count_macs", "count_params", "layer_costs",
           "fraction_widths", "full_widths", "resolve_widths"]
