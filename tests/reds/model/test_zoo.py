import keras
import numpy as np
import pytest

from tiny_models import TINY, tiny
from reds.errors import UserError
from reds.model.groups import channel_groups, unit_layers
from reds.model.zoo import build_model, with_batch

ALLOWED = {"InputLayer", "Conv2D", "DepthwiseConv2D", "Dense", "BatchNormalization", "ReLU",
           "GlobalAveragePooling2D", "Flatten", "Add", "AveragePooling2D"}


@pytest.mark.parametrize("arch,shape,classes,params", [
    ("dnn_s", (49, 10, 1), 12, None),
    ("cnn_s", (49, 10, 1), 12, None),
    ("ds_cnn_s", (49, 10, 1), 12, None),
    ("ds_cnn_digits", (8, 8, 1), 10, None),
    ("resnet8", (32, 32, 3), 10, 78666),     # MLPerf Tiny ResNet-8 (keras_model.py): 78,666 params incl. BN
])
def test_presets_build_with_allowed_layers(arch, shape, classes, params):
    m = build_model(arch, shape, classes)
    assert tuple(m.outputs[0].shape) == (None, classes)
    assert {type(l).__name__ for l in m.layers} <= ALLOWED
    if params:
        assert m.count_params() == params
    assert channel_groups(m)


def test_ds_cnn_s_structure():
    m = build_model("ds_cnn_s", (49, 10, 1), 12)
    groups = channel_groups(m)
    assert [g.name for g in groups] == ["conv1", "pw1", "pw2", "pw3", "pw4"]
    assert all(g.width == 64 for g in groups)
    assert m.get_layer("conv1").output.shape[1:3] == (25, 5)
    assert groups[0].depthwise == ["dw1"] and groups[0].batchnorms == ["conv1_bn", "dw1_bn"]


def test_ds_cnn_l_and_mobilenet_sizes():
    m = build_model("ds_cnn_l", None, 12)
    assert len(channel_groups(m)) == 6 and all(g.width == 276 for g in channel_groups(m))
    mb = build_model("mobilenet_v1", None, 2, width_mult=0.25)
    assert tuple(mb.inputs[0].shape) == (None, 96, 96, 3)
    assert [g.width for g in channel_groups(mb)][:3] == [8, 16, 32]


def test_for_export_fixes_batch():
    m = build_model("dnn_s", (49, 10, 1), 12, for_export=True)
    assert m.inputs[0].shape[0] == 1
    m2 = with_batch(build_model("ds_cnn", (8, 8, 1), 3, channels=4, blocks=1), 1)
    assert m2.inputs[0].shape[0] == 1


def test_seed_reproducible():
    a = build_model("ds_cnn_digits", None, 10, seed=3).get_weights()
    b = build_model("ds_cnn_digits", None, 10, seed=3).get_weights()
    c = build_model("ds_cnn_digits", None, 10, seed=4).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_resnet_groups_union_residuals():
    m = tiny("resnet", randomize=False)
    groups = {g.name: g for g in channel_groups(m)}
    assert groups["conv1"].producers == ["conv1", "stack1_conv2"]
    assert groups["stack2_conv2"].producers == ["stack2_conv2", "stack2_proj"]
    assert "logits" not in groups
    assert {c.layer for c in groups["stack3_conv2"].consumers} == {"logits"}


def test_cnn_flatten_consumer():
    m = tiny("cnn", randomize=False)
    g = {g.name: g for g in channel_groups(m)}["conv2"]
    (c,) = g.consumers
    assert c.layer == "linear" and c.kind == "flatten"
    h, w = m.get_layer("conv2").output.shape[1:3]
    assert c.positions == h * w


def test_unit_layers_order_and_min_width():
    m = tiny("ds_cnn", randomize=False)
    units = unit_layers(m)
    assert [u.name for u in units] == ["conv1", "dw1", "pw1", "dw2", "pw2"]
    assert units[1].kind == "depthwise" and units[1].group == "conv1"
    assert "logits" not in [u.name for u in units]
    gs = channel_groups(m, min_width={"pw1": 3})
    assert {g.name: g.min_width for g in gs} == {"conv1": 1, "pw1": 3, "pw2": 1}


def test_unknown_arch_and_layer():
    with pytest.raises(UserError, match="unknown arch 'nope'.*ds_cnn_s"):
        build_model("nope", (8, 8, 1), 3)
    i = keras.Input((4,))
    x = keras.layers.Dense(3)(i)
    x = keras.layers.LayerNormalization(name="ln")(x)
    m = keras.Model(i, keras.layers.Dense(2)(x))
    with pytest.raises(UserError, match="LayerNormalization"):
        channel_groups(m)


def test_all_tiny_variants_build():
    for k in TINY:
        assert channel_groups(tiny(k, randomize=False))


def test_keras_save_load_keeps_groups(tmp_path):
    m = tiny("resnet")
    m.save(tmp_path / "m.keras")
    m2 = keras.models.load_model(tmp_path / "m.keras", compile=False)
    assert [g.to_dict() for g in channel_groups(m2)] == [g.to_dict() for g in channel_groups(m)]
    x = np.random.default_rng(0).random((2, 8, 8, 3)).astype(np.float32)
    want = np.asarray(m(x, training=False))
    np.testing.assert_allclose(m2(x, training=False), want, atol=1e-6 * max(1.0, np.abs(want).max()))
