import numpy as np
import pytest

from tiny_models import inputs, tiny
from reds.train.importance import (
    batch_indices, compute_scores, magnitude_scores, random_scores, taylor_scores)
from reds.errors import UserError
from reds.model.groups import channel_groups


def _data(m, n=40, classes=3):
    x = inputs(m, n)
    y = np.random.default_rng(2).integers(0, classes, n).astype(np.int32)
    return x, y


@pytest.mark.parametrize("kind", ["dnn", "ds_cnn", "resnet"])
def test_taylor_shapes_and_positive(kind):
    m = tiny(kind)
    s = taylor_scores(m, _data(m), batches=3, batch_size=16, progress=False)
    for g in channel_groups(m):
        assert s[g.name].shape == (g.width,) and np.all(s[g.name] >= 0) and s[g.name].sum() > 0


def test_taylor_matches_manual_dense():
    import keras
    import tensorflow as tf
    m = tiny("dnn")
    x, y = _data(m, 20)
    s = taylor_scores(m, (x, y), batches=2, batch_size=10, progress=False, seed=0)
    idx = list(batch_indices(20, 2, 10, 0))
    fc1 = m.get_layer("fc1")
    gk, gb = 0, 0
    for i in idx:
        with tf.GradientTape() as t:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y[i], m(x[i]))
        a, b = t.gradient(loss, [fc1.kernel, fc1.bias])
        gk, gb = gk + a.numpy(), gb + b.numpy()
        k, bias = fc1.get_weights()
    manual = np.abs(k * gk).sum(axis=0) + np.abs(bias * gb)
    np.testing.assert_allclose(s["fc1"], manual, rtol=1e-4)


def test_residual_group_sums_members():
    m = tiny("resnet")
    s = magnitude_scores(m)
    conv1 = np.abs(m.get_layer("conv1").get_weights()[0]).sum(axis=(0, 1, 2)) + np.abs(m.get_layer("conv1").get_weights()[1])
    c2 = m.get_layer("stack1_conv2").get_weights()
    c2s = np.abs(c2[0]).sum(axis=(0, 1, 2)) + np.abs(c2[1])
    np.testing.assert_allclose(s["conv1"], conv1 + c2s, rtol=1e-6)


def test_depthwise_counted_in_group():
    m = tiny("ds_cnn")
    s = magnitude_scores(m)
    c = m.get_layer("conv1").get_weights()
    d = m.get_layer("dw1").get_weights()
    expect = np.abs(c[0]).sum(axis=(0, 1, 2)) + np.abs(c[1]) + np.abs(d[0]).sum(axis=(0, 1, 3)) + np.abs(d[1])
    np.testing.assert_allclose(s["conv1"], expect, rtol=1e-6)


def test_random_and_dispatch():
    m = tiny("dnn")
    a, b = random_scores(m, 1), random_scores(m, 1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert set(compute_scores(m, "magnitude")) == {"fc1", "fc2"}
    with pytest.raises(UserError, match="allowed: taylor, magnitude, random"):
        compute_scores(m, "hessian")


def test_batch_indices_cycle():
    idx = list(batch_indices(10, 5, 4, 0))
    assert len(idx) == 5 and all(len(i) == 4 for i in idx)
    assert len(set(np.concatenate(idx[:2]))) == 8
