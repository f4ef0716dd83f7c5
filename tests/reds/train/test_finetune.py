import json

import numpy as np
import pytest

from tiny_models import inputs, tiny
from reds.data.registry import load_dataset
from reds.train.finetune import bn_statistics, evaluate_subnets, finetune_joint, subnet_loss_weights
from reds.train.pretrain import pretrain
from reds.model.slimmable import (
    SlimRunner, count_macs, count_params, slice_keras_model, subnet_forward, fraction_widths)
from reds.errors import UserError
from reds.model.groups import channel_groups


@pytest.mark.parametrize("kind", ["dnn", "cnn", "ds_cnn", "resnet", "mobilenet"])
def test_masked_forward_equals_sliced_model(kind):
    m = tiny(kind)
    x = inputs(m, 4)
    groups = channel_groups(m)
    rng = np.random.default_rng(0)
    widths = {g.name: int(rng.integers(1, g.width + 1)) for g in groups}
    small = slice_keras_model(m, widths)
    ref = small(x, training=False).numpy()
    got = subnet_forward(m, x, widths)
    assert np.max(np.abs(ref - got)) < max(1e-5, 2e-6 * np.abs(ref).max())  # ~16 ulps of the output scale
    # full widths: the masked runner is the model itself
    full = m(x, training=False).numpy()
    np.testing.assert_allclose(subnet_forward(m, x, {}), full, atol=max(1e-5, 2e-6 * np.abs(full).max()))
    # the sliced model really is smaller, and the cost model agrees with Keras' parameter count
    assert small.count_params() < m.count_params()
    bn = sum(l.count_params() for l in small.layers if type(l).__name__ == "BatchNormalization")
    assert count_params(m, widths) == small.count_params() - bn


def test_macs_ds_cnn():
    m = tiny("ds_cnn", randomize=False)  # 8x8x1, conv 3x3 8ch, dw s1 + pw 8, dw s2 + pw 8
    full = count_macs(m)
    expect = 64 * 9 * 1 * 8 + 64 * 9 * 8 + 64 * 8 * 8 + 16 * 9 * 8 + 16 * 8 * 8 + 8 * 3
    assert full == expect
    half = count_macs(m, fraction_widths(channel_groups(m), 0.5))
    assert half == 64 * 9 * 4 + 64 * 9 * 4 + 64 * 4 * 4 + 16 * 9 * 4 + 16 * 4 * 4 + 4 * 3


def test_bad_widths():
    m = tiny("dnn")
    with pytest.raises(UserError, match="unknown channel group 'zz'"):
        subnet_forward(m, inputs(m), {"zz": 1})
    with pytest.raises(UserError, match="out of range"):
        subnet_forward(m, inputs(m), {"fc1": 0})


def test_loss_weights():
    m = tiny("dnn")
    gs = channel_groups(m)
    pis = subnet_loss_weights(m, [{}, fraction_widths(gs, 0.5)])
    assert pis.sum() == pytest.approx(1.0) and pis[0] > pis[1]


def test_bn_statistics_full_matches_keras_batch_stats():
    m = tiny("ds_cnn")
    x = inputs(m, 32)
    stats = bn_statistics(m, x, {}, batch_size=32)
    conv = m.get_layer("conv1")(x).numpy()
    np.testing.assert_allclose(stats["conv1_bn"][0], conv.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(stats["conv1_bn"][1], conv.var(axis=(0, 1, 2)), rtol=1e-3, atol=1e-5)


def test_pretrain_and_joint_finetune(tmp_path):
    d = load_dataset("synthetic", input_shape=(8, 8, 1), num_classes=3, train=96, val=32, test=32)
    m = tiny("ds_cnn", randomize=False)
    h = pretrain(m, d, epochs=2, batch_size=32, lr=3e-3, progress=False)
    assert len(h["loss"]) == 2
    gs = channel_groups(m)
    subnets = [{}, fraction_widths(gs, 0.5), fraction_widths(gs, 0.25)]
    before = evaluate_subnets(m, d.x_val, d.y_val, subnets)
    hist = finetune_joint(m, d, subnets, epochs=2, batch_size=32, lr=1e-3, bn_epochs=1, progress=False,
                          checkpoint_dir=tmp_path)
    assert len(hist["val_accuracy"]) == 2 and len(hist["val_accuracy"][0]) == 3
    assert hist["bn_choice"] in ("frozen", "full", "mixture")
    saved = json.loads((tmp_path / "joint_history.json").read_text())
    assert saved["pi"] == pytest.approx(hist["pi"])
    assert (tmp_path / "joint_final.weights.h5").is_file()
    after = evaluate_subnets(m, d.x_val, d.y_val, subnets)
    assert len(after) == len(before) == 3 and all(0 <= a <= 1 for a in after)


def test_joint_finetune_deterministic():
    d = load_dataset("synthetic", input_shape=(4, 3, 1), num_classes=3, train=64, val=16, test=16)
    outs = []
    for _ in range(2):
        m = tiny("dnn", randomize=False)
        gs = channel_groups(m)
        finetune_joint(m, d, [{}, fraction_widths(gs, 0.5)], epochs=1, batch_size=16, lr=1e-2, bn_epochs=0,
                       progress=False, seed=3)
        outs.append(m.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*outs))


def test_runner_gradients_zero_for_inactive_units():
    import tensorflow as tf
    m = tiny("dnn")
    r = SlimRunner(m)
    masks = r.masks({"fc1": 2})
    x = tf.constant(inputs(m, 3))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(r(x, masks))
    k = m.get_layer("fc1").kernel
    g = tape.gradient(loss, k).numpy()
    assert np.all(g[:, 2:] == 0) and np.any(g[:, :2] != 0)
