"""The firmware's optimized kernels (-O2 -DREDS_USE_DSP: SXTB16/SMLAD) equal TFLM bit for bit.

The host tests (test_bitexact.py, test_nested_vs_sliced.py) check the portable C path; this
runs the DSP path under QEMU: every subnet of nested models (odd channel counts, 1x1 and 3x3,
stride 2, depthwise, ADD, per-tensor FC) on qemu_m4 via ``reds_app.execute.execute`` against
``tflite_micro`` on the physically sliced model (``reds.tflite.slicing.slice_model``), plus one model
on qemu_m7 and qemu_m33.
"""

from __future__ import annotations

import pytest

from modelgen import assert_board_matches_tflm

pytestmark = pytest.mark.qemu

N_INPUTS = 4


def strided_pointwise(seed: int = 0):
    """1x1 conv stride 2 (the pointwise kernel's row path), odd sizes, dw stride 2, dense."""
    import keras

    import modelgen

    L = keras.layers
    modelgen._seed(seed)
    x = inp = keras.Input((7, 9, 5), batch_size=1)
    x = L.Conv2D(11, 1, strides=2, activation="relu")(x)  # 4x5x11
    x = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6")(x)  # 2x3x11
    x = L.Conv2D(9, 1, activation="relu")(x)
    x = L.Flatten()(x)
    x = L.Dense(5)(x)
    return keras.Model(inp, x)


def kernel_paths(seed: int = 0):
    """The conv / depthwise fast paths and their borders: first conv 3x3 on 3 channels (im2col,
    SAME, stride 2), 5x5 depthwise VALID (generic window), 3x3 depthwise SAME stride 1 on odd
    widths (interior + border, 4-channel blocks + 1-3 channel tail), 3x3 conv with sliced input
    depth (generic conv), depthwise stride 2 SAME, pointwise."""
    import keras

    import modelgen

    L = keras.layers
    modelgen._seed(seed)
    x = inp = keras.Input((13, 11, 3), batch_size=1)
    x = L.Conv2D(14, 3, strides=2, padding="same", activation="relu")(x)  # 7x6x14
    x = L.DepthwiseConv2D(5, padding="valid", activation="relu6")(x)  # 3x2x14
    x = L.Conv2D(9, 1, activation="relu")(x)
    x = L.Conv2D(11, 3, padding="same", activation="relu")(x)  # 3x2x11, sliced input depth
    x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="same")(x)  # 2x1x11
    x = L.Flatten()(x)
    x = L.Dense(6)(x)
    return keras.Model(inp, x)


def sliced_conv(seed: int = 0):
    """3x3 convs with sliced input depth (DSP: packed weights + im2col GEMM): input depth 7
    (patch depths 45, 36, 18, 9: GEMM tails 1, 0, 2, 1), stride 2 SAME with 35 output channels
    (several weight groups, odd last group), then VALID on 35 (deep sliced patches; subnet 0's
    full depth goes to the generic path)."""
    import keras

    import modelgen

    L = keras.layers
    modelgen._seed(seed)
    x = inp = keras.Input((9, 8, 3), batch_size=1)
    x = L.Conv2D(7, 1, activation="relu")(x)
    x = L.Conv2D(35, 3, strides=2, padding="same", activation="relu")(x)  # 5x4x35
    x = L.Conv2D(6, 3, padding="valid")(x)  # 3x2x6
    x = L.Flatten()(x)
    x = L.Dense(4)(x)
    return keras.Model(inp, x)


def first_conv_1ch(seed: int = 0):
    """C_in = 1 first conv 3x3 SAME (im2col, depth 9), wide depthwise 3x3 SAME on 10x9."""
    import keras

    import modelgen

    L = keras.layers
    modelgen._seed(seed)
    x = inp = keras.Input((10, 9, 1), batch_size=1)
    x = L.Conv2D(21, 3, padding="same", activation="relu")(x)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = L.Conv2D(17, 1, activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(5)(x)
    return keras.Model(inp, x)


def clamped_conv(seed: int = 0):
    """Convs whose fused activation is narrower than the int8 range (the DSP GEMM's clamped
    finishes): RELU6 with a doubled output scale (act_max ~ zp + 128) and RELU with output zero
    point -100 (act_min = -100), set in the converted model by narrow_act_ranges; odd channel
    counts (13, 11, 9) for the single-channel finish."""
    import keras

    import modelgen

    L = keras.layers
    modelgen._seed(seed)
    x = inp = keras.Input((9, 7, 3), batch_size=1)
    x = L.Conv2D(13, 3, padding="same", activation="relu6")(x)
    x = L.Conv2D(11, 1, activation="relu")(x)
    x = L.Conv2D(9, 3, strides=2, padding="same", activation="relu6")(x)
    x = L.Flatten()(x)
    x = L.Dense(4)(x)
    return keras.Model(inp, x)


def narrow_act_ranges(model: bytes) -> bytes:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    from reds.tflite import flatbuffer as tflite_io

    m = tflite_io.unpack(model)
    sg = m.subgraphs[0]
    for op in sg.operators:
        if tflite_io.op_name(m, op.opcodeIndex) != "CONV_2D":
            continue
        act = op.builtinOptions.fusedActivationFunction
        q = sg.tensors[op.outputs[0]].quantization
        if act == schema.ActivationFunctionType.RELU6:
            q.scale = [float(q.scale[0]) * 2.0]
        elif act == schema.ActivationFunctionType.RELU:
            q.zeroPoint = [-100]
    return tflite_io.pack(m)


def large_input(seed: int = 0):
    """Inputs whose zero-point-padded copy exceeds the DSP GEMM's 1 KB buffer (per-pixel im2col):
    3x3 on 4 channels (kernel rows of 12 bytes: interior pixels read from the image, border
    pixels im2col), then a linear 3x3 stride 2 on 9 channels as the model output (27-byte rows:
    im2col + depth tail; sliced input depth in the subnets; every output compared, many from
    negative accumulators: the requantization's sign term)."""
    import keras

    import modelgen

    L = keras.layers
    modelgen._seed(seed)
    x = inp = keras.Input((22, 18, 4), batch_size=1)
    x = L.Conv2D(9, 3, padding="same", activation="relu")(x)
    x = L.Conv2D(7, 3, strides=2, padding="same")(x)  # 11x9x7
    return keras.Model(inp, x)


def depthwise_ring(seed: int = 0):
    """Depthwise maps taller than the DSP kernel's row ring (40 columns: 9 ring slots for 16 and
    15 padded rows, so windows wrap around the ring), stride 1 and 2, 6 / 9 channels (block tail
    2 / 1), a 5x5 SAME window on the ring. The first has no activation, so the requantization
    of negative accumulators shows in the output (a ReLU would clamp most of them away)."""
    import keras

    import modelgen

    L = keras.layers
    modelgen._seed(seed)
    x = inp = keras.Input((14, 40, 6), batch_size=1)
    x = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.Conv2D(9, 1, activation="relu")(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6")(x)  # 7x20x9
    x = L.DepthwiseConv2D(5, padding="same")(x)
    x = L.Conv2D(5, 1)(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(3)(x)
    return keras.Model(inp, x)


def depthwise_wide(seed: int = 0):
    """A depthwise row too wide for the ring (131 columns: the generic path) and a 1x1
    depthwise with stride 2 (the ring skips rows no window reads)."""
    import keras

    import modelgen

    L = keras.layers
    modelgen._seed(seed)
    x = inp = keras.Input((3, 131, 5), batch_size=1)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = L.Conv2D(7, 1, activation="relu")(x)
    x = L.DepthwiseConv2D(1, strides=2)(x)  # 2x66x7
    x = L.Conv2D(4, 1)(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(3)(x)
    return keras.Model(inp, x)


def depthwise_pairs(seed: int = 0):
    """3x3 stride-1 depthwise of the pair kernel (two output pixels per tile): 8 channels (no
    tail block), odd output width 11 and no activation (the unclamped variant; B past the row
    in the last window pair); then a VALID 3x3 depthwise whose channel 0 has a bias beyond the
    pair kernel's bound |bias| + 255 * 128 * 9 < 2^29, so the layer takes the other path."""
    import keras

    import modelgen

    L = keras.layers
    modelgen._seed(seed)
    x = inp = keras.Input((6, 11, 8), batch_size=1)
    x = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.Conv2D(8, 1)(x)
    big = L.DepthwiseConv2D(3, padding="valid")
    x = big(x)  # 4x9x8
    x = L.Conv2D(5, 1)(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(3)(x)
    model = keras.Model(inp, x)
    w, b = big.get_weights()
    w[:, :, 0, 0] *= 2e-4  # tiny channel-0 weights: tiny weight scale, so the int32 bias is large
    b[0] = 3.0
    big.set_weights([w, b])
    return model


@pytest.fixture(scope="module")
def models(tflite_model):
    import modelgen

    return {
        "conv_dw_gap": tflite_model("conv_dw_gap"),
        "residual": tflite_model("residual"),
        "strided_pointwise": modelgen.convert(strided_pointwise(), seed=3, per_tensor_fc=True),
        "kernel_paths": modelgen.convert(kernel_paths(), seed=5),
        "first_conv_1ch": modelgen.convert(first_conv_1ch(), seed=7),
        "sliced_conv": modelgen.convert(sliced_conv(), seed=9),
        "clamped_conv": narrow_act_ranges(modelgen.convert(clamped_conv(), seed=13)),
        "large_input": modelgen.convert(large_input(), seed=15),
        "depthwise_ring": modelgen.convert(depthwise_ring(), seed=17),
        "depthwise_wide": modelgen.convert(depthwise_wide(), seed=19),
        "depthwise_pairs": modelgen.convert(depthwise_pairs(), seed=21),
    }


def check_every_subnet(model: bytes, target: str, subnets=None) -> None:
    assert_board_matches_tflm(model, target, subnets, n_inputs=N_INPUTS)


@pytest.mark.parametrize("name", ["conv_dw_gap", "residual", "strided_pointwise", "kernel_paths",
                                  "first_conv_1ch", "sliced_conv", "clamped_conv", "large_input",
                                  "depthwise_ring", "depthwise_wide", "depthwise_pairs"])
def test_dsp_kernels_every_subnet_qemu_m4(models, name):
    check_every_subnet(models[name], "qemu_m4")


@pytest.mark.parametrize("target,name", [("qemu_m7", "residual"), ("qemu_m33", "conv_dw_gap")])
def test_smoke_other_cores(models, target, name):
    check_every_subnet(models[name], target, subnets=[0, 2])
