"""Model zoo: the architectures REDS trains.

Builders
--------
Generic builders (``dnn``, ``cnn``, ``ds_cnn``, ``mobilenet_v1``, ``resnet``) take plain
numbers so tests can make tiny variants; ``build_model(arch, ...)`` maps the named presets
onto them. Every model outputs **logits** (no softmax layer); export may append one.

Only Conv2D / DepthwiseConv2D / Dense / BatchNormalization / ReLU / GlobalAveragePooling2D /
Flatten / Add / AveragePooling2D are used, so the int8 converter emits only CONV_2D,
DEPTHWISE_CONV_2D, FULLY_CONNECTED, MEAN, ADD, RESHAPE and AVERAGE_POOL_2D.

Presets (readings of the papers, documented where they are ambiguous)
---------------------------------------------------------------------
* ``dnn_s/m/l`` (Hello Edge): Flatten, 3 x [Dense(144|256|436) + ReLU], Dense(logits).
* ``cnn_s`` (Hello Edge table 4, "Conv:28,10x4,1,1; Conv:30,10x4,2,1; Lin:16; FC:128"):
  we read the strides as (time, frequency): conv 28 10x4 stride (1,1), conv 30 10x4 stride (2,1),
  both VALID padding with BN+ReLU (as ARM's ML-KWS-for-MCU), then Flatten, linear Dense 16
  (no activation), Dense 128 + ReLU, logits. ``cnn_m``/``cnn_l`` follow the same table.
* ``ds_cnn_s`` (ML-KWS "5 64 10 4 2 2 64 3 3 1 1 ..."): conv 64 10x4 stride (2,2) + BN + ReLU,
  4 x [depthwise 3x3 + BN + ReLU, pointwise 64 + BN + ReLU], GAP, Dense logits.
* ``ds_cnn_m``: 172 channels, first stride (2,1), first DS block stride 2, 4 DS blocks.
* ``ds_cnn_l``: 276 channels, first stride (2,1), first DS block stride 2, 5 DS blocks.
* ``ds_cnn_digits`` (demo): DS-CNN-S shape for 8x8x1 digits: conv 32 3x3 stride 1, 4 DS blocks
  of 32 channels, stride 1 (8x8 maps), GAP, logits. ~0.35 M MACs; trains in seconds on 2 cores.
* ``mobilenet_v1``: the standard 13-block MobileNetV1 with width multiplier ``alpha``
  (= ``width_mult``; VWW in MLPerf Tiny uses 0.25), default input 96x96x3.
* ``resnet8`` (MLPerf Tiny IC): conv 16 3x3 + BN + ReLU; 3 stacks (16, 32, 64 filters; stride 1,
  2, 2) of [conv3x3 BN ReLU, conv3x3 BN] + shortcut (identity, or 1x1 conv stride 2 when the
  shape changes), Add, ReLU; AveragePooling2D(8) (pool = final map), Flatten, Dense logits.

The channel groups of these models (what REDS slices) are found by ``reds.model.groups``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import keras

from reds.errors import UserError

L = keras.layers

# --------------------------------------------------------------------------- builders


class _Init:
    """Hands out seeded initializers so a model is reproducible from ``seed`` alone."""

    def __init__(self, seed: int):
        self.seed = int(seed) * 1000
        self.n = 0

    def __call__(self):
        self.n += 1
        return keras.initializers.GlorotUniform(seed=self.seed + self.n)

    def he(self):
        self.n += 1
        return keras.initializers.HeNormal(seed=self.seed + self.n)


def _scale(c: int, width_mult: float) -> int:
    return max(1, int(round(c * width_mult)))


def _input(input_shape, for_export: bool, name="input"):
    return keras.Input(tuple(input_shape), batch_size=1 if for_export else None, name=name)


def dnn(input_shape, num_classes, units: Sequence[int] = (144, 144, 144), *, width_mult=1.0,
        seed=0, for_export=False, name="dnn") -> keras.Model:
    """Fully-connected net: Flatten, [Dense + ReLU] per entry of ``units``, Dense logits."""
    init = _Init(seed)
    x = inp = _input(input_shape, for_export)
    x = L.Flatten(name="flatten")(x)
    for i, u in enumerate(units):
        x = L.Dense(_scale(u, width_mult), kernel_initializer=init(), name=f"fc{i + 1}")(x)
        x = L.ReLU(name=f"fc{i + 1}_relu")(x)
    x = L.Dense(num_classes, kernel_initializer=init(), name="logits")(x)
    return keras.Model(inp, x, name=name)


def cnn(input_shape, num_classes, convs: Sequence[tuple] = ((28, (10, 4), (1, 1)), (30, (10, 4), (2, 1))),
        linear: int = 16, fc: Sequence[int] = (128,), *, padding="valid", width_mult=1.0, seed=0,
        for_export=False, name="cnn") -> keras.Model:
    """Hello-Edge CNN: convs (filters, kernel, stride) + BN + ReLU, Flatten, linear Dense
    (no activation, skipped if ``linear`` is 0), FC + ReLU layers, logits."""
    init = _Init(seed)
    x = inp = _input(input_shape, for_export)
    for i, (f, k, s) in enumerate(convs):
        x = L.Conv2D(_scale(f, width_mult), k, strides=s, padding=padding, kernel_initializer=init(),
                     name=f"conv{i + 1}")(x)
        x = L.BatchNormalization(name=f"conv{i + 1}_bn")(x)
        x = L.ReLU(name=f"conv{i + 1}_relu")(x)
    x = L.Flatten(name="flatten")(x)
    if linear:
        x = L.Dense(_scale(linear, width_mult), kernel_initializer=init(), name="linear")(x)
    for i, u in enumerate(fc):
        x = L.Dense(_scale(u, width_mult), kernel_initializer=init(), name=f"fc{i + 1}")(x)
        x = L.ReLU(name=f"fc{i + 1}_relu")(x)
    x = L.Dense(num_classes, kernel_initializer=init(), name="logits")(x)
    return keras.Model(inp, x, name=name)


def _ds_block(x, channels, stride, idx, init):
    x = L.DepthwiseConv2D(3, strides=stride, padding="same", depthwise_initializer=init(),
                          name=f"dw{idx}")(x)
    x = L.BatchNormalization(name=f"dw{idx}_bn")(x)
    x = L.ReLU(name=f"dw{idx}_relu")(x)
    x = L.Conv2D(channels, 1, padding="same", kernel_initializer=init(), name=f"pw{idx}")(x)
    x = L.BatchNormalization(name=f"pw{idx}_bn")(x)
    x = L.ReLU(name=f"pw{idx}_relu")(x)
    return x


def ds_cnn(input_shape, num_classes, channels: int = 64, blocks: int = 4, first_kernel=(10, 4),
           first_stride=(2, 2), block_strides: Sequence | None = None, *, width_mult=1.0, seed=0,
           for_export=False, name="ds_cnn") -> keras.Model:
    """DS-CNN: conv ``first_kernel``/``first_stride`` + BN + ReLU, ``blocks`` depthwise-separable
    blocks (``block_strides[i]``, default 1), GAP, Dense logits. ``channels`` may be an int or a
    list of ``blocks + 1`` ints."""
    init = _Init(seed)
    chans = list(channels) if isinstance(channels, (list, tuple)) else [channels] * (blocks + 1)
    if len(chans) != blocks + 1:
        raise UserError(f"ds_cnn: channels has {len(chans)} entries, expected blocks + 1 = {blocks + 1}")
    chans = [_scale(c, width_mult) for c in chans]
    strides = list(block_strides) if block_strides is not None else [1] * blocks
    x = inp = _input(input_shape, for_export)
    x = L.Conv2D(chans[0], first_kernel, strides=first_stride, padding="same", kernel_initializer=init(),
                 name="conv1")(x)
    x = L.BatchNormalization(name="conv1_bn")(x)
    x = L.ReLU(name="conv1_relu")(x)
    for b in range(blocks):
        x = _ds_block(x, chans[b + 1], strides[b], b + 1, init)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(num_classes, kernel_initializer=init(), name="logits")(x)
    return keras.Model(inp, x, name=name)


MOBILENET_V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
                       (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def mobilenet_v1(input_shape=(96, 96, 3), num_classes=2, alpha: float = 0.25, first_channels: int = 32,
                 blocks: Sequence[tuple] = MOBILENET_V1_BLOCKS, *, seed=0, for_export=False,
                 name="mobilenet_v1") -> keras.Model:
    """MobileNetV1: conv 3x3/2 + BN + ReLU, depthwise-separable blocks (channels, stride) scaled
    by ``alpha``, GAP, Dense logits (Keras applications use ReLU6; we use ReLU, which the
    converter fuses just the same)."""
    init = _Init(seed)
    x = inp = _input(input_shape, for_export)
    x = L.Conv2D(_scale(first_channels, alpha), 3, strides=2, padding="same", kernel_initializer=init(),
                 name="conv1")(x)
    x = L.BatchNormalization(name="conv1_bn")(x)
    x = L.ReLU(name="conv1_relu")(x)
    for i, (c, s) in enumerate(blocks):
        x = _ds_block(x, _scale(c, alpha), s, i + 1, init)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(num_classes, kernel_initializer=init(), name="logits")(x)
    return keras.Model(inp, x, name=name)


def resnet(input_shape=(32, 32, 3), num_classes=10, filters: Sequence[int] = (16, 32, 64),
           stem: int | None = None, *, width_mult=1.0, seed=0, for_export=False,
           name="resnet") -> keras.Model:
    """MLPerf-Tiny ResNet: stem conv, one residual stack per entry of ``filters`` (first stride 1,
    then 2), 1x1 projection conv where the shape changes, AveragePooling2D over the final map,
    Flatten, Dense logits. ``resnet(filters=(16, 32, 64))`` is ResNet-8."""
    init = _Init(seed)
    fs = [_scale(f, width_mult) for f in filters]
    stem_c = _scale(stem, width_mult) if stem else fs[0]
    x = inp = _input(input_shape, for_export)
    x = L.Conv2D(stem_c, 3, padding="same", kernel_initializer=init.he(), name="conv1")(x)
    x = L.BatchNormalization(name="conv1_bn")(x)
    x = L.ReLU(name="conv1_relu")(x)
    c_in = stem_c
    for s, f in enumerate(fs):
        stride = 1 if s == 0 else 2
        p = f"stack{s + 1}"
        y = L.Conv2D(f, 3, strides=stride, padding="same", kernel_initializer=init.he(), name=f"{p}_conv1")(x)
        y = L.BatchNormalization(name=f"{p}_bn1")(y)
        y = L.ReLU(name=f"{p}_relu1")(y)
        y = L.Conv2D(f, 3, padding="same", kernel_initializer=init.he(), name=f"{p}_conv2")(y)
        y = L.BatchNormalization(name=f"{p}_bn2")(y)
        if stride != 1 or f != c_in:
            x = L.Conv2D(f, 1, strides=stride, padding="same", kernel_initializer=init.he(),
                         name=f"{p}_proj")(x)
        x = L.Add(name=f"{p}_add")([x, y])
        x = L.ReLU(name=f"{p}_relu2")(x)
        c_in = f
    pool = x.shape[1:3]
    x = L.AveragePooling2D(pool_size=tuple(pool), name="avgpool")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(num_classes, kernel_initializer=init(), name="logits")(x)
    return keras.Model(inp, x, name=name)


def _preset(fn: Callable, **fixed):
    def build(input_shape, num_classes, *, width_mult=1.0, seed=0, for_export=False, **opts):
        kw = dict(fixed)
        kw.update(opts)
        if fn is mobilenet_v1:
            kw.setdefault("alpha", width_mult)
            return fn(input_shape, num_classes, seed=seed, for_export=for_export, **kw)
        return fn(input_shape, num_classes, width_mult=width_mult, seed=seed, for_export=for_export, **kw)
    return build


#: arch name -> (builder, default input shape or None)
ARCHS: dict[str, tuple[Callable, tuple | None]] = {
    "dnn": (_preset(dnn), None),
    "dnn_s": (_preset(dnn, units=(144, 144, 144), name="dnn_s"), (49, 10, 1)),
    "dnn_m": (_preset(dnn, units=(256, 256, 256), name="dnn_m"), (49, 10, 1)),
    "dnn_l": (_preset(dnn, units=(436, 436, 436), name="dnn_l"), (49, 10, 1)),
    "cnn": (_preset(cnn), None),
    "cnn_s": (_preset(cnn, convs=((28, (10, 4), (1, 1)), (30, (10, 4), (2, 1))), linear=16, fc=(128,),
                      name="cnn_s"), (49, 10, 1)),
    "cnn_m": (_preset(cnn, convs=((64, (10, 4), (1, 1)), (48, (10, 4), (2, 1))), linear=16, fc=(128, 128),
                      name="cnn_m"), (49, 10, 1)),
    "cnn_l": (_preset(cnn, convs=((60, (10, 4), (1, 1)), (76, (10, 4), (2, 1))), linear=32, fc=(128, 128),
                      name="cnn_l"), (49, 10, 1)),
    "ds_cnn": (_preset(ds_cnn), None),
    "ds_cnn_s": (_preset(ds_cnn, channels=64, blocks=4, first_kernel=(10, 4), first_stride=(2, 2),
                         name="ds_cnn_s"), (49, 10, 1)),
    "ds_cnn_m": (_preset(ds_cnn, channels=172, blocks=4, first_kernel=(10, 4), first_stride=(2, 1),
                         block_strides=(2, 1, 1, 1), name="ds_cnn_m"), (49, 10, 1)),
    "ds_cnn_l": (_preset(ds_cnn, channels=276, blocks=5, first_kernel=(10, 4), first_stride=(2, 1),
                         block_strides=(2, 1, 1, 1, 1), name="ds_cnn_l"), (49, 10, 1)),
    "ds_cnn_digits": (_preset(ds_cnn, channels=32, blocks=4, first_kernel=(3, 3), first_stride=(1, 1),
                              name="ds_cnn_digits"), (8, 8, 1)),
    "mobilenet_v1": (_preset(mobilenet_v1), (96, 96, 3)),
    "resnet": (_preset(resnet), None),
    "resnet8": (_preset(resnet, filters=(16, 32, 64), name="resnet8"), (32, 32, 3)),
}


def build_model(arch: str, input_shape=None, num_classes: int = 12, width_mult: float = 1.0, seed: int = 0,
                for_export: bool = False, **arch_options) -> keras.Model:
    """Build a zoo model. ``for_export=True`` fixes the batch to 1 (one RESHAPE for Flatten).

    ``arch_options`` go to the generic builder (e.g. ``build_model("ds_cnn", (8, 8, 1), 4,
    channels=8, blocks=2, first_kernel=3, first_stride=1)``)."""
    if arch not in ARCHS:
        raise UserError(f"unknown arch {arch!r}; allowed: {', '.join(sorted(ARCHS))}")
    fn, default_shape = ARCHS[arch]
    shape = tuple(input_shape) if input_shape is not None else default_shape
    if shape is None:
        raise UserError(f"arch {arch!r} needs an input_shape")
    try:
        return fn(shape, int(num_classes), width_mult=width_mult, seed=seed, for_export=for_export,
                  **arch_options)
    except TypeError as e:
        raise UserError(f"arch {arch!r}: bad option ({e})") from None


def with_batch(model: keras.Model, batch_size: int | None = 1) -> keras.Model:
    """A copy of ``model`` whose input has a fixed batch (for export), weights copied."""
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            shape = list(layer["config"]["batch_shape"])
            shape[0] = batch_size
            layer["config"]["batch_shape"] = shape
    clone = model.__class__.from_config(config)
    clone.set_weights(model.get_weights())
    return clone
