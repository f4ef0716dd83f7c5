"""Small Keras models converted to full-int8 TFLite, for bit-exact tests of the C runtime.

Every builder returns a Keras model with a fixed batch of 1; ``convert()`` turns it into an int8
``.tflite`` (int8 input and output unless ``float_io``) with a seeded random representative
dataset. ``MODELS`` names the fixed architectures; ``random_model(seed)`` samples one.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from reds.runtime import golden


def _keras():
    import keras  # noqa: WPS433 (imported lazily: TF start-up is slow)

    return keras


def _seed(seed: int) -> None:
    import tensorflow as tf

    keras = _keras()
    np.random.seed(seed)
    tf.random.set_seed(seed)
    keras.utils.set_random_seed(seed)


def _randomize_bn(model, rng: np.random.Generator) -> None:
    """Give batch-norm layers non-trivial statistics so folding matters."""
    keras = _keras()
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            g, b, m, v = layer.get_weights()
            layer.set_weights([
                rng.uniform(0.5, 1.5, g.shape).astype("float32"),
                rng.uniform(-0.2, 0.2, b.shape).astype("float32"),
                rng.uniform(-0.2, 0.2, m.shape).astype("float32"),
                rng.uniform(0.5, 1.5, v.shape).astype("float32"),
            ])


def convert(model, seed: int = 0, per_tensor_fc: bool = False, float_io: bool = False,
            samples: int = 32, input_shape=None) -> bytes:
    """Full-int8 conversion (the toolkit's) of random uniform [-1, 1) calibration data; CONV/DW/FC
    are per-channel unless ``per_tensor_fc`` (FC only). The one Keras->int8 factory of the tests
    (``tflite_models.convert_int8`` calls it). ``input_shape``: one sample's shape (no batch axis),
    default the model's input 0."""
    from reds.export.convert import to_int8_tflite

    shape = tuple(model.inputs[0].shape)[1:] if input_shape is None else tuple(input_shape)
    data = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(samples, *shape))
    return to_int8_tflite(model, data.astype(np.float32), max_samples=samples,
                          int8_io=not float_io, per_tensor_dense=per_tensor_fc,
                          check_ops=False)  # some test models hold ops the runtime must reject


# ----------------------------------------------------------------------------- architectures

def conv_dw_gap(seed: int = 0):
    """Conv stride 2 SAME + BN + ReLU, depthwise VALID ReLU6, 1x1 conv, GAP -> MEAN, dense, softmax."""
    keras = _keras()
    L = keras.layers
    _seed(seed)
    x = inp = keras.Input((9, 9, 3), batch_size=1)
    x = L.Conv2D(13, 3, strides=2, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.DepthwiseConv2D(3, padding="valid", activation="relu6")(x)
    x = L.Conv2D(7, 1, activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(5)(x)
    x = L.Softmax()(x)
    m = keras.Model(inp, x)
    _randomize_bn(m, np.random.default_rng(seed))
    return m


def residual(seed: int = 0):
    """Two conv branches joined by ADD (+ReLU), max pool, flatten, dense."""
    keras = _keras()
    L = keras.layers
    _seed(seed)
    x = inp = keras.Input((7, 7, 3), batch_size=1)
    a = L.Conv2D(13, 3, padding="same", activation="relu")(x)
    b = L.Conv2D(13, 3, padding="same")(a)
    c = L.Conv2D(13, 1, padding="same")(x)
    x = L.Add()([b, c])
    x = L.ReLU()(x)
    d = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.Add()([x, d])
    x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.Dense(7)(x)
    return keras.Model(inp, x)


def pools(seed: int = 0):
    """Average pool SAME stride 2, 5x5 VALID conv, max pool VALID stride 2, flatten, two dense."""
    keras = _keras()
    L = keras.layers
    _seed(seed)
    x = inp = keras.Input((13, 13, 3), batch_size=1)
    x = L.AveragePooling2D(3, strides=2, padding="same")(x)
    x = L.Conv2D(7, 5, padding="valid", activation="relu")(x)  # 7x7 -> 3x3
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    x = L.Flatten()(x)
    x = L.Dense(13, activation="relu")(x)
    x = L.Dense(3)(x)
    return keras.Model(inp, x)


def padded(seed: int = 0):
    """ZeroPadding2D (PAD) with uneven amounts before a VALID conv, before a depthwise and between
    groups, on odd sizes; a PAD between two convs of one group keeps the group sliceable."""
    keras = _keras()
    L = keras.layers
    _seed(seed)
    x = inp = keras.Input((9, 7, 3), batch_size=1)
    x = L.ZeroPadding2D(((1, 2), (0, 3)))(x)  # on the model input (a fixed group)
    x = L.Conv2D(11, 3, activation="relu")(x)  # 10x8x11
    x = L.ZeroPadding2D(((2, 0), (1, 1)))(x)
    x = L.DepthwiseConv2D(3, strides=2, activation="relu6")(x)  # 5x4x11
    x = L.ZeroPadding2D(1)(x)
    x = L.Conv2D(9, 3, activation="relu")(x)
    x = L.Flatten()(x)
    x = L.Dense(5)(x)
    return keras.Model(inp, x)


def one_by_one(seed: int = 0):
    """1x1 spatial input: conv 1x1, GAP keepdims -> MEAN keep_dims, conv, flatten, dense."""
    keras = _keras()
    L = keras.layers
    _seed(seed)
    x = inp = keras.Input((1, 1, 13), batch_size=1)
    x = L.Conv2D(7, 1, activation="relu6")(x)
    x = L.GlobalAveragePooling2D(keepdims=True)(x)
    x = L.Conv2D(3, 1)(x)
    x = L.Flatten()(x)
    x = L.Dense(3, activation="softmax")(x)
    return keras.Model(inp, x)


def gap_keepdims(seed: int = 0):
    """5x5 conv SAME, GAP keepdims (MEAN keep_dims true), 1x1 conv, flatten, dense."""
    keras = _keras()
    L = keras.layers
    _seed(seed)
    x = inp = keras.Input((5, 5, 7), batch_size=1)
    x = L.Conv2D(13, 5, padding="same", activation="relu")(x)
    x = L.GlobalAveragePooling2D(keepdims=True)(x)
    x = L.Conv2D(7, 1, activation="relu")(x)
    x = L.Flatten()(x)
    x = L.Dense(3)(x)
    return keras.Model(inp, x)


def mlp(seed: int = 0):
    """Dense stack (used with per-tensor FC quantization)."""
    keras = _keras()
    L = keras.layers
    _seed(seed)
    x = inp = keras.Input((20,), batch_size=1)
    x = L.Dense(13, activation="relu")(x)
    x = L.Dense(7, activation="relu6")(x)
    x = L.Dense(3)(x)
    return keras.Model(inp, x)


def dw_same(seed: int = 0):
    """Depthwise SAME (stride 1, then stride 2: border windows), 1x1 conv, flatten, dense."""
    keras = _keras()
    L = keras.layers
    _seed(seed)
    x = inp = keras.Input((7, 6, 5), batch_size=1)
    x = L.Conv2D(6, 3, padding="same", activation="relu")(x)
    x = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu")(x)
    x = L.Conv2D(3, 1)(x)
    x = L.Flatten()(x)
    x = L.Dense(4, bias_initializer="random_normal")(x)
    return keras.Model(inp, x)


def softmaxes(seed: int = 0):
    """SOFTMAX over 300 classes (many repeated differences x - max: the kernel's exp memo) and
    over 70, with a dense layer between."""
    keras = _keras()
    L = keras.layers
    _seed(seed)
    x = inp = keras.Input((11,), batch_size=1)
    x = L.Dense(300)(x)
    x = L.Softmax()(x)
    x = L.Dense(70)(x)
    x = L.Softmax()(x)
    return keras.Model(inp, x)


def random_model(seed: int):
    """A random chain over the supported ops (odd sizes, strides, padding, residuals)."""
    keras = _keras()
    L = keras.layers
    _seed(seed)
    rng = np.random.default_rng(seed)
    hw = int(rng.choice([5, 7, 9, 13]))
    cin = int(rng.choice([1, 3, 7]))
    x = inp = keras.Input((hw, hw, cin), batch_size=1)
    for _ in range(int(rng.integers(2, 5))):
        kind = rng.choice(["conv", "dw", "res", "avg", "max"])
        size = int(x.shape[1])
        pad = str(rng.choice(["same", "valid"]))
        act = rng.choice([None, "relu", "relu6"])
        k = int(rng.choice([1, 3, 5]))
        if pad == "valid" and k > size:
            pad = "same"
        stride = int(rng.choice([1, 2])) if size > 3 else 1
        if kind == "conv":
            x = L.Conv2D(int(rng.choice([3, 7, 13])), k, strides=stride, padding=pad, activation=act)(x)
        elif kind == "dw":
            x = L.DepthwiseConv2D(k, strides=stride, padding=pad, activation=act)(x)
        elif kind == "res":
            c = int(x.shape[-1])
            y = L.Conv2D(c, 3, padding="same", activation="relu")(x)
            y = L.Conv2D(c, 3, padding="same")(y)
            x = L.Add()([x, y])
            if act:
                x = L.Activation(act)(x)
        elif size >= 2:
            pk = int(rng.choice([2, 3])) if size >= 3 else 2
            pool = L.AveragePooling2D if kind == "avg" else L.MaxPooling2D
            x = pool(pk, strides=int(rng.choice([1, 2])), padding=pad if pk <= size else "same")(x)
    if rng.random() < 0.5:
        x = L.GlobalAveragePooling2D()(x)
    else:
        x = L.Flatten()(x)
    x = L.Dense(int(rng.choice([3, 7, 13])), activation=rng.choice([None, "relu"]))(x)
    x = L.Dense(int(rng.choice([2, 5])))(x)
    if rng.random() < 0.5:
        x = L.Softmax()(x)
    return keras.Model(inp, x)


#: name -> (builder, convert kwargs)
def zoo_arch(arch: str, shape, classes: int, width_mult: float = 1.0):
    """A builder of the toolkit zoo's full-size `arch` with seeded weights and batch 1."""
    def build(seed: int = 0):
        from reds.model import zoo

        model = zoo.with_batch(zoo.build_model(arch, input_shape=shape, num_classes=classes,
                                               width_mult=width_mult, seed=seed), 1)
        _randomize_bn(model, np.random.default_rng(seed))
        return model

    return build


def ad_autoencoder(seed: int = 0):
    """MLPerf Tiny AD: dense autoencoder 640 -> 128 x4 -> 8 -> 128 x4 -> 640 (BN + ReLU)."""
    keras = _keras()
    L = keras.layers
    _seed(seed)
    x = inp = keras.Input((640,), batch_size=1)
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = L.Dense(units)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
    x = L.Dense(640)(x)
    m = keras.Model(inp, x)
    _randomize_bn(m, np.random.default_rng(seed))
    return m


# Public architectures at full size (MLPerf Tiny, Hello Edge): name -> builder
PUBLIC = {
    "kws_ds_cnn": zoo_arch("ds_cnn_s", (49, 10, 1), 12),
    "vww_mobilenet_v1_025": zoo_arch("mobilenet_v1", (96, 96, 3), 2, 0.25),
    "ic_resnet8": zoo_arch("resnet8", (32, 32, 3), 10),
    "ad_autoencoder": ad_autoencoder,
    "dnn_s": zoo_arch("dnn_s", (49, 10, 1), 12),
    "dnn_m": zoo_arch("dnn_m", (49, 10, 1), 12),
    "dnn_l": zoo_arch("dnn_l", (49, 10, 1), 12),
    "cnn_s": zoo_arch("cnn_s", (49, 10, 1), 12),
    "cnn_m": zoo_arch("cnn_m", (49, 10, 1), 12),
    "cnn_l": zoo_arch("cnn_l", (49, 10, 1), 12),
    "ds_cnn_s": zoo_arch("ds_cnn_s", (49, 10, 1), 12),
    "ds_cnn_m": zoo_arch("ds_cnn_m", (49, 10, 1), 12),
    "ds_cnn_l": zoo_arch("ds_cnn_l", (49, 10, 1), 12),
}

MODELS = {
    "conv_dw_gap": (conv_dw_gap, {}),
    "residual": (residual, {}),
    "pools": (pools, {}),
    "one_by_one": (one_by_one, {}),
    "gap_keepdims": (gap_keepdims, {}),
    "mlp_per_tensor": (mlp, {"per_tensor_fc": True}),
    "mlp_per_channel": (mlp, {}),
    "float_io": (conv_dw_gap, {"float_io": True}),
    "softmaxes": (softmaxes, {}),
    "dw_same": (dw_same, {}),
    "padded": (padded, {}),
    **{f"{name}_int8": (fn, {}) for name, fn in PUBLIC.items()},
    **{f"{name}_float": (fn, {"float_io": True}) for name, fn in PUBLIC.items()},
}


def build(name: str, seed: int = 0) -> bytes:
    builder, kw = MODELS[name]
    return convert(builder(seed), seed=seed, **kw)


# ---------------------------------------------------------------- helpers shared by the tests

FRACTIONS = (1.0, 0.75, 0.5, 0.3, 0.1)  # subnet widths as fractions of every group's width


def random_input(detail, rng):
    """A random input for a tflite_micro input detail, or for a model's bytes (its input 0):
    full int8 range, or floats in ±3."""
    if isinstance(detail, (bytes, bytearray)):
        shape, dtype = golden.input_spec(detail)
    else:
        shape, dtype = detail["shape"], detail["dtype"]
    if dtype == np.int8:
        return rng.integers(-128, 128, size=shape).astype(np.int8)
    return rng.uniform(-3.0, 3.0, size=shape).astype(np.float32)


def nested(model: bytes, fractions=FRACTIONS) -> tuple[bytes, list[list[int]]]:
    """`model` with REDS metadata for subnets at `fractions` of every group's width."""
    from reds.tflite import groups as graph, slicing

    g = graph.derive_groups(model)
    widths = [[max(1, int(round(w * f))) for w in g.full_widths] for f in fractions]
    return slicing.nest(model, g, widths), widths


def assert_board_matches_tflm(model: bytes, target: str, subnets=None, n_inputs: int = 2,
                              seed: int = 11) -> None:
    """Every subnet in `subnets` (default all; negative counts from the narrowest) of `model`,
    nested at FRACTIONS, run on `target` through `reds exec`'s path on random inputs, equals
    tflite_micro on the physically sliced model, bit for bit."""
    from reds.tflite import slicing
    from reds_app import execute

    nested_model, widths = nested(model)
    rng = np.random.default_rng(seed)
    for k in (range(len(widths)) if subnets is None else subnets):
        k = k % len(widths)
        sliced = slicing.slice_model(nested_model, k)
        xs = np.stack([random_input(sliced, rng)[0] for _ in range(n_inputs)])
        want = golden.tflm_outputs(sliced, xs)
        got = execute.execute(nested_model, xs, subnet=k, target=target).outputs
        assert np.array_equal(got.reshape(want.shape), want), \
            f"{target} subnet {k} widths {widths[k]}:\n got {got.ravel()[:16]}\nwant {want.ravel()[:16]}"


def run_c_check(source: Path, out_dir: Path, *defines: str, timeout: float = 300) -> None:
    """Build a C check program from tests/c/runtime/c against the runtime headers with UBSan and
    run it; it must exit 0 and print "ok ..."."""
    import shutil
    import subprocess

    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise AssertionError("no C compiler (gcc) on PATH")
    runtime = Path(__file__).resolve().parents[2] / "boards" / "runtime"
    exe = out_dir / source.stem
    subprocess.run([cc, "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-fsanitize=undefined",
                    "-fno-sanitize-recover", *defines, "-I", str(runtime / "include"),
                    "-I", str(runtime / "kernels"), str(source), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0 and out.stdout.startswith("ok "), out.stdout + out.stderr
