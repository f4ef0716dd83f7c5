"""Reorder units so the most important come first (the full model's function is unchanged).

For a group ``g`` with permutation ``perm`` (new index ``i`` takes old unit ``perm[i]``):

* producers (Conv2D / Dense): kernel output axis and bias;
* DepthwiseConv2D on the group: kernel axis 2 and bias;
* BatchNormalization on the group: gamma, beta, moving mean, moving variance;
* consumers: Conv2D kernel axis 2, Dense kernel rows; a Dense after Flatten permutes the rows
  within every position: new row ``p * C + i`` is old row ``p * C + perm[i]``;
* a residual group (convs joined by Add) is one group, so all its members move together.

``perm = argsort(-scores)`` with a stable sort, so ties keep their original order.
"""
from __future__ import annotations

import keras
import numpy as np

from reds.errors import UserError
from reds.model.groups import ChannelGroup, channel_groups

L = keras.layers


def permutations_from_scores(scores: dict[str, np.ndarray], groups: list[ChannelGroup]) -> dict[str, np.ndarray]:
    """``{group: perm}`` sorting every group's scores descending (stable)."""
    perms = {}
    for g in groups:
        if g.name not in scores:
            raise UserError(f"no importance scores for channel group {g.name!r}")
        s = np.asarray(scores[g.name], dtype=np.float64)
        if s.shape != (g.width,):
            raise UserError(f"scores of group {g.name!r} have shape {s.shape}, expected ({g.width},)")
        perms[g.name] = np.argsort(-s, kind="stable")
    return perms


def apply_permutations(model: keras.Model, perms: dict[str, np.ndarray], groups=None) -> keras.Model:
    """Permute ``model``'s weights in place (see module doc) and return it."""
    groups = groups if groups is not None else channel_groups(model)
    for g in groups:
        perm = np.asarray(perms.get(g.name, np.arange(g.width)))
        if sorted(perm.tolist()) != list(range(g.width)):
            raise UserError(f"permutation of group {g.name!r} is not a permutation of 0..{g.width - 1}")
        for name in g.producers:
            layer = model.get_layer(name)
            ws = layer.get_weights()
            ws[0] = ws[0][..., perm]
            if len(ws) > 1:
                ws[1] = ws[1][perm]
            layer.set_weights(ws)
        for name in g.depthwise:
            layer = model.get_layer(name)
            ws = layer.get_weights()
            ws[0] = ws[0][:, :, perm, :]
            if len(ws) > 1:
                ws[1] = ws[1][perm]
            layer.set_weights(ws)
        for name in g.batchnorms:
            layer = model.get_layer(name)
            layer.set_weights([w[perm] for w in layer.get_weights()])
        for c in g.consumers:
            layer = model.get_layer(c.layer)
            ws = layer.get_weights()
            if c.kind == "conv":
                ws[0] = ws[0][:, :, perm, :]
            else:
                rows = (np.arange(c.positions)[:, None] * g.width + perm[None, :]).reshape(-1)
                ws[0] = ws[0][rows]
            layer.set_weights(ws)
    return model


def permute_model(model: keras.Model, scores: dict[str, np.ndarray], groups=None,
                  return_perms: bool = False):
    """Sort every group's units by ``scores`` descending, in place. Returns the model (and the
    permutations if ``return_perms``). Scores themselves are not reordered: the sorted scores of
    group ``g`` are ``scores[g][perms[g]]`` (see ``permuted_scores``)."""
    groups = groups if groups is not None else channel_groups(model)
    perms = permutations_from_scores(scores, groups)
    apply_permutations(model, perms, groups)
    return (model, perms) if return_perms else model


def permuted_scores(scores: dict[str, np.ndarray], perms: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Scores in the permuted unit order (descending per group), e.g. for the planner."""
    return {k: np.asarray(scores[k])[perms[k]] for k in perms}
