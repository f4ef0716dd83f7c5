"""Pretraining: ordinary training of the full model before importance scoring and planning.

Adam with a cosine-decayed learning rate, BN in training mode, seeded and deterministic
(``set_determinism``), so the same recipe gives the same weights.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import keras
import tensorflow as tf


def set_determinism(seed: int) -> None:
    """Seed Python/NumPy/TF and make TF ops deterministic."""
    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


def epoch_bar(total: int, desc: str, progress: bool):
    """A tqdm bar counting epochs, or None without progress."""
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="epoch", leave=False)


class _EpochBar(keras.callbacks.Callback):
    def __init__(self, bar):
        super().__init__()
        self.bar = bar

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items() if k in ("loss", "accuracy", "val_accuracy")})
        self.bar.update(1)


def pretrain(model: keras.Model, dataset, epochs: int = 30, batch_size: int = 64, lr: float = 1e-3,
             seed: int = 0, progress: bool = True, checkpoint_dir=None) -> dict:
    """Ordinary training of the full model (Adam, cosine-decayed ``lr``, BN in training mode).
    Returns the Keras history dict plus ``seconds``."""
    set_determinism(seed)
    steps = max(1, math.ceil(len(dataset.x_train) / batch_size)) * max(1, epochs)
    opt = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(lr, steps, alpha=0.01))
    model.compile(optimizer=opt, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    bar = epoch_bar(epochs, "pretrain", progress)
    cbs = [_EpochBar(bar)] if bar is not None else []
    val = (dataset.x_val, dataset.y_val) if len(dataset.y_val) else None
    t0 = time.perf_counter()
    h = model.fit(dataset.x_train, dataset.y_train, batch_size=batch_size, epochs=epochs, validation_data=val,
                  shuffle=True, verbose=0, callbacks=cbs)
    if bar is not None:
        bar.close()
    hist = {k: [float(v) for v in vs] for k, vs in h.history.items()}
    hist["seconds"] = time.perf_counter() - t0
    if checkpoint_dir:
        d = Path(checkpoint_dir)
        d.mkdir(parents=True, exist_ok=True)
        model.save_weights(d / "pretrain.weights.h5")
        (d / "pretrain_history.json").write_text(json.dumps(hist, indent=1))
    return hist
