"""Unit importance scores per channel group.

``taylor_scores`` (REDS default): first-order Taylor importance. The gradient of the mean
cross-entropy is *accumulated* (summed) over ``batches`` mini-batches of ``batch_size`` samples
(REDS: 100 x 100; the training set is cycled, reshuffled every pass, if it is smaller), then
for every unit ``u``::

    score[u] = sum over its incoming weights w of |w * G_w|,   G = sum_b dL_b/dw

Incoming weights of a unit are the producer's kernel slice for that output channel plus its
bias. A DepthwiseConv2D on the group also contributes its per-channel kernel ``[:, :, u, :]``
and bias to unit ``u`` (it is removed together with the channel). BN gamma/beta are not
counted. A residual group sums the scores of all its member convs. BN runs in inference mode.

``magnitude_scores``: L1 norm of the same incoming weights. ``random_scores``: uniform random,
seeded. All return ``{group_name: float64 array [width]}``.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from reds.errors import UserError
from reds.model.groups import ChannelGroup, channel_groups

L = keras.layers


def _members(model, groups):
    """[(group, layer, kind)] with kind 'out' (Conv2D/Dense kernel last axis) or 'dw'."""
    out = []
    for g in groups:
        out += [(g.name, model.get_layer(n), "out") for n in g.producers]
        out += [(g.name, model.get_layer(n), "dw") for n in g.depthwise]
    return out


def _per_unit(kind: str, arrays: list[np.ndarray]) -> np.ndarray:
    """Sum |values| per unit; ``arrays`` = [kernel-like, bias-like?] already multiplied."""
    k = np.abs(arrays[0])
    s = k.sum(axis=(0, 1, 3)) if kind == "dw" else k.reshape(-1, k.shape[-1]).sum(axis=0)
    for b in arrays[1:]:
        s = s + np.abs(b)
    return s.astype(np.float64)


def _collect(model, groups, values_of) -> dict[str, np.ndarray]:
    scores = {g.name: np.zeros(g.width, np.float64) for g in groups}
    for gname, layer, kind in _members(model, groups):
        scores[gname] += _per_unit(kind, values_of(layer))
    return scores


def magnitude_scores(model: keras.Model, groups: list[ChannelGroup] | None = None) -> dict[str, np.ndarray]:
    """L1 norm of every unit's incoming weights (kernel slice + bias; depthwise included)."""
    groups = groups if groups is not None else channel_groups(model)
    return _collect(model, groups, lambda layer: [np.asarray(w) for w in layer.get_weights()])


def random_scores(model: keras.Model, seed: int = 0, groups=None) -> dict[str, np.ndarray]:
    """Uniform random scores (a baseline), reproducible from ``seed``."""
    groups = groups if groups is not None else channel_groups(model)
    rng = np.random.default_rng(seed)
    return {g.name: rng.random(g.width) for g in groups}


def _xy(data):
    if hasattr(data, "x_train"):
        return data.x_train, data.y_train
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data
    raise UserError("importance data must be a Dataset or an (x, y) pair")


def batch_indices(n: int, batches: int, batch_size: int, seed: int):
    """Yield ``batches`` index arrays of ``min(batch_size, n)``, cycling a reshuffled range."""
    rng = np.random.default_rng(seed)
    bs = min(batch_size, n)
    order, pos = rng.permutation(n), 0
    for _ in range(batches):
        if pos + bs > n:
            order, pos = rng.permutation(n), 0
        yield order[pos:pos + bs]
        pos += bs


def taylor_scores(model: keras.Model, data, batches: int = 100, batch_size: int = 100, seed: int = 0,
                  groups: list[ChannelGroup] | None = None, progress: bool = True) -> dict[str, np.ndarray]:
    """First-order Taylor importance ``|w * sum_b dL_b/dw|`` summed per unit (see module doc)."""
    groups = groups if groups is not None else channel_groups(model)
    x, y = _xy(data)
    if len(x) == 0:
        raise UserError("taylor_scores: no samples")
    members = _members(model, groups)
    variables = []
    for _, layer, _ in members:
        variables += list(layer.trainable_weights)
    if not variables:
        raise UserError("taylor_scores: the model has no trainable unit weights")
    accum = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False) for v in variables]
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function(reduce_retracing=True)
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=False))
        grads = tape.gradient(loss, variables)
        for a, g in zip(accum, grads):
            if g is not None:
                a.assign_add(g)
        return loss

    it = batch_indices(len(x), batches, batch_size, seed)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, total=batches, desc="taylor importance", unit="batch", leave=False)
    for idx in it:
        step(tf.convert_to_tensor(x[idx], tf.float32), tf.convert_to_tensor(y[idx]))

    grad_of = {id(v): a.numpy() for v, a in zip(variables, accum)}

    def values_of(layer):
        return [np.asarray(w) * grad_of[id(w)] for w in layer.trainable_weights]

    return _collect(model, groups, values_of)


METHODS = ("taylor", "magnitude", "random")


def compute_scores(model: keras.Model, method: str, data=None, batches: int = 100, batch_size: int = 100,
                   seed: int = 0, progress: bool = True, groups=None) -> dict[str, np.ndarray]:
    """Dispatch on ``method`` (one of ``METHODS``)."""
    if method == "taylor":
        return taylor_scores(model, data, batches, batch_size, seed=seed, progress=progress, groups=groups)
    if method == "magnitude":
        return magnitude_scores(model, groups)
    if method == "random":
        return random_scores(model, seed, groups)
    raise UserError(f"unknown importance method {method!r}; allowed: {', '.join(METHODS)}")
