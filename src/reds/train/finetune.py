"""Joint fine-tuning of nested subnetworks (pretraining of the full model: ``reds.train.pretrain``).

``finetune_joint``: every mini-batch goes through all K subnetworks (channel masks, see
``reds.model.slimmable``); the loss is ``sum_i pi_i * CE_i`` with ``pi_i = sqrt(p_i) / sum_j sqrt(p_j)``,
``p_i`` the fraction of (kernel + bias) parameters subnet i uses; one Adam step on the sum.

Batch norm: during joint training BN runs in inference mode (frozen statistics; gamma/beta
still train), which makes masking exactly equal to slicing. The exported file has *one* set of
BN statistics shared by all subnets (folded into the convs), so per-subnet statistics are not
possible. After training, with ``bn_epochs > 0`` we estimate BN statistics over the training
set (``bn_epochs`` passes, population mean/variance from batch moments as in training mode) for
two candidates — the full model's statistics, and the pi-weighted mixture of every subnet's
statistics (channel c of a group only mixes the subnets where it is active) — and keep whichever
of {frozen, full, mixture} gives the best pi-weighted validation accuracy. The choice is in the
history (``bn_choice``).

The epoch with the best pi-weighted validation accuracy is restored at the end (the last one
if there is no validation set). Checkpoints (``checkpoint_dir``): ``joint_last.weights.h5``,
``joint_best.weights.h5`` and ``joint_history.json`` after every epoch.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from reds.errors import UserError
from reds.train.pretrain import epoch_bar, set_determinism
from reds.model.slimmable import SlimRunner, resolve_widths, count_params
from reds.model.groups import channel_groups

L = keras.layers


def subnet_loss_weights(model: keras.Model, subnets_widths: list[dict], groups=None) -> np.ndarray:
    """``pi_i = sqrt(p_i) / sum_j sqrt(p_j)``, ``p_i`` = parameter fraction of subnet i."""
    groups = groups if groups is not None else channel_groups(model)
    full = count_params(model, {}, groups)
    p = np.array([count_params(model, w, groups) / full for w in subnets_widths], np.float64)
    s = np.sqrt(p)
    return s / s.sum()


def evaluate_subnets(model: keras.Model, x, y, subnets_widths: list[dict], batch_size: int = 512,
                     runner: SlimRunner | None = None, groups=None) -> list[float]:
    """Top-1 accuracy of every subnet on ``(x, y)`` (BN in inference mode)."""
    runner = runner or SlimRunner(model, groups)
    masks = [runner.masks(w) for w in subnets_widths]
    fn = runner.eval_fn()
    correct = np.zeros(len(masks), np.int64)
    for i in range(0, len(x), batch_size):
        xb = tf.convert_to_tensor(x[i:i + batch_size], tf.float32)
        yb = np.asarray(y[i:i + batch_size])
        for k, m in enumerate(masks):
            correct[k] += int(np.sum(np.argmax(fn(xb, m).numpy(), axis=-1) == yb))
    return [float(c) / max(1, len(x)) for c in correct]


# --------------------------------------------------------------------------- BN statistics


def bn_statistics(model: keras.Model, x, widths: dict | None = None, batch_size: int = 256, passes: int = 1,
                  runner: SlimRunner | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Population ``(mean, var)`` of every BN layer's input when the subnet at ``widths`` runs
    with batch statistics (training-mode normalisation) over ``x``."""
    runner = runner or SlimRunner(model)
    masks = runner.masks(widths)
    moments = getattr(runner, "_moments_fn", None)
    if moments is None:  # one trace per runner (masks are tensors, batch dim is None)
        @tf.function(input_signature=[tf.TensorSpec((None,) + tuple(model.inputs[0].shape[1:]), tf.float32),
                                      {k: tf.TensorSpec(v.shape, tf.float32) for k, v in masks.items()}])
        def moments(xb, m):
            stats = {}
            runner(xb, m, training=False, bn_stats=stats)
            return {k: v[0] for k, v in stats.items()}
        runner._moments_fn = moments

    s1, s2, n = {}, {}, 0
    for _ in range(max(1, passes)):
        for i in range(0, len(x), batch_size):
            xb = tf.convert_to_tensor(x[i:i + batch_size], tf.float32)
            nb = int(xb.shape[0])
            for k, (mean, var) in moments(xb, masks).items():
                mean, var = mean.numpy().astype(np.float64), var.numpy().astype(np.float64)
                s1[k] = s1.get(k, 0) + nb * mean
                s2[k] = s2.get(k, 0) + nb * (var + mean ** 2)
            n += nb
    return {k: (s1[k] / n, np.maximum(s2[k] / n - (s1[k] / n) ** 2, 0.0)) for k in s1}


def _set_bn(model, stats):
    for name, (mean, var) in stats.items():
        layer = model.get_layer(name)
        g, b, _, _ = layer.get_weights()
        layer.set_weights([g, b, mean.astype(np.float32), var.astype(np.float32)])


def _mixture_stats(groups, subnets_widths, pis, per_subnet):
    bn_group = {bn: g for g in groups for bn in g.batchnorms}
    out = {}
    for name in per_subnet[0]:
        g = bn_group.get(name)
        width = len(per_subnet[0][name][0])
        wsum = np.zeros(width)
        m1 = np.zeros(width)
        m2 = np.zeros(width)
        for w, pi, stats in zip(subnets_widths, pis, per_subnet):
            active = np.arange(width) < (w[g.name] if g is not None else width)
            mean, var = stats[name]
            wsum += pi * active
            m1 += pi * active * mean
            m2 += pi * active * (var + mean ** 2)
        wsum = np.maximum(wsum, 1e-12)
        mean = m1 / wsum
        out[name] = (mean, np.maximum(m2 / wsum - mean ** 2, 0.0))
    return out


def recalibrate_bn(model, dataset, subnets_widths, pis, passes=1, batch_size=256, runner=None, groups=None):
    """Try {frozen, full, mixture} BN statistics, keep the best by pi-weighted validation
    accuracy (training accuracy if there is no validation set). Returns (choice, scores)."""
    groups = groups if groups is not None else channel_groups(model)
    runner = runner or SlimRunner(model, groups)
    xv, yv = (dataset.x_val, dataset.y_val) if len(dataset.y_val) else (dataset.x_train, dataset.y_train)
    bns = [l for l in model.layers if isinstance(l, L.BatchNormalization)]
    if not bns:
        return "none", {}
    frozen = {l.name: tuple(np.asarray(w, np.float64) for w in l.get_weights()[2:]) for l in bns}
    per_subnet = [bn_statistics(model, dataset.x_train, w, batch_size, passes, runner) for w in subnets_widths]
    full = bn_statistics(model, dataset.x_train, {}, batch_size, passes, runner)
    candidates = {"frozen": frozen, "full": full, "mixture": _mixture_stats(groups, subnets_widths, pis, per_subnet)}
    scores = {}
    for name, stats in candidates.items():
        _set_bn(model, stats)
        scores[name] = float(np.dot(pis, evaluate_subnets(model, xv, yv, subnets_widths, runner=runner)))
    best = max(scores, key=lambda k: (scores[k], k == "frozen"))
    _set_bn(model, candidates[best])
    return best, scores


# --------------------------------------------------------------------------- joint fine-tuning


def finetune_joint(model: keras.Model, dataset, subnets_widths: list[dict], epochs: int = 10,
                   batch_size: int = 64, lr: float = 1e-4, bn_epochs: int = 1, progress: bool = True,
                   checkpoint_dir=None, seed: int = 0, groups=None, restore_best: bool = True) -> dict:
    """Jointly fine-tune all subnets (shared weights) in place; see module doc.

    Returns a JSON-able history: ``loss`` per epoch, ``subnet_loss`` (K per epoch),
    ``val_accuracy`` (K per epoch), ``pi``, ``param_fraction``, ``best_epoch``, ``bn_choice``,
    ``bn_scores``, ``seconds``."""
    if not subnets_widths:
        raise UserError("finetune_joint: no subnetworks given")
    set_determinism(seed)
    groups = groups if groups is not None else channel_groups(model)
    subnets_widths = [resolve_widths(groups, w) for w in subnets_widths]
    runner = SlimRunner(model, groups)
    masks = [runner.masks(w) for w in subnets_widths]
    pis = subnet_loss_weights(model, subnets_widths, groups)
    full = count_params(model, {}, groups)
    pi_t = tf.constant(pis, tf.float32)
    n = len(dataset.x_train)
    steps = max(1, math.ceil(n / batch_size)) * max(1, epochs)
    opt = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(lr, steps, alpha=0.01))
    variables = model.trainable_variables
    opt.build(variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    in_spec = tf.TensorSpec((None,) + tuple(dataset.x_train.shape[1:]), tf.float32)

    @tf.function(input_signature=[in_spec, tf.TensorSpec((None,), tf.int32)])
    def step(xb, yb):
        with tf.GradientTape() as tape:
            losses = tf.stack([loss_fn(yb, runner(xb, m, training=False)) for m in masks])
            total = tf.reduce_sum(pi_t * losses)
        grads = tape.gradient(total, variables)
        opt.apply_gradients([(g, v) for g, v in zip(grads, variables) if g is not None])
        return total, losses

    hist = {"loss": [], "subnet_loss": [], "val_accuracy": [], "pi": pis.tolist(),
            "param_fraction": [count_params(model, w, groups) / full for w in subnets_widths],
            "widths": subnets_widths}
    ckpt = Path(checkpoint_dir) if checkpoint_dir else None
    if ckpt:
        ckpt.mkdir(parents=True, exist_ok=True)
    has_val = len(dataset.y_val) > 0
    best, best_w, best_epoch = -1.0, None, -1
    rng = np.random.default_rng(seed)
    bar = epoch_bar(epochs, "joint finetune", progress)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(n)
        tot, sub, nb = 0.0, np.zeros(len(masks)), 0
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            t, ls = step(tf.convert_to_tensor(dataset.x_train[idx], tf.float32),
                         tf.convert_to_tensor(dataset.y_train[idx], tf.int32))
            tot += float(t)
            sub += ls.numpy()
            nb += 1
        hist["loss"].append(tot / max(1, nb))
        hist["subnet_loss"].append((sub / max(1, nb)).tolist())
        if has_val:
            acc = evaluate_subnets(model, dataset.x_val, dataset.y_val, subnets_widths, runner=runner)
            hist["val_accuracy"].append(acc)
            score = float(np.dot(pis, acc))
            if score > best:
                best, best_w, best_epoch = score, model.get_weights(), epoch
                if ckpt:
                    model.save_weights(ckpt / "joint_best.weights.h5")
        if ckpt:
            model.save_weights(ckpt / "joint_last.weights.h5")
            (ckpt / "joint_history.json").write_text(json.dumps(hist, indent=1))
        if bar is not None:
            post = {"loss": f"{hist['loss'][-1]:.3f}"}
            if has_val:
                post["val"] = "/".join(f"{a:.2f}" for a in hist["val_accuracy"][-1])
            bar.set_postfix(post)
            bar.update(1)
    if bar is not None:
        bar.close()
    if restore_best and best_w is not None:
        model.set_weights(best_w)
    hist["best_epoch"] = best_epoch if best_w is not None else epochs - 1
    hist["bn_choice"], hist["bn_scores"] = "frozen", {}
    if bn_epochs > 0:
        hist["bn_choice"], hist["bn_scores"] = recalibrate_bn(model, dataset, subnets_widths, pis,
                                                              passes=bn_epochs, runner=runner, groups=groups)
    hist["seconds"] = time.perf_counter() - t0
    if ckpt:
        model.save_weights(ckpt / "joint_final.weights.h5")
        (ckpt / "joint_history.json").write_text(json.dumps(hist, indent=1))
    return hist
