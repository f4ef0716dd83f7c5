"""Tiny int8 TFLite models built with TensorFlow for the toolkit tests.

Every builder returns ``(keras_model, tflite_bytes)``. Models use a fixed batch of 1 (so Flatten
converts to one RESHAPE), odd channel counts, and full-int8 conversion with int8 input/output.
Results are cached per process: conversion costs ~0.5 s per model.
"""

from __future__ import annotations

import functools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def _keras():
    import keras  # imported lazily: TF import is slow

    return keras


def convert_int8(model, input_shape, seed: int = 0, samples: int = 32) -> bytes:
    """Full-integer conversion (the toolkit's) with random representative data: modelgen's."""
    import modelgen

    return modelgen.convert(model, seed=seed, samples=samples, input_shape=input_shape)


def _randomize(model, seed: int) -> None:
    """Give every weight a non-trivial random value (biases too), so slicing mistakes show."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0.0, 0.5, size=w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)


def _build(seed: int, shape: tuple, layers):
    """``layers(L, x) -> logits`` on a batch-1 input of ``shape``; random weights, converted."""
    keras = _keras()
    keras.utils.set_random_seed(seed)
    inp = keras.Input(shape, batch_size=1)
    model = keras.Model(inp, layers(keras.layers, inp))
    _randomize(model, seed)
    return model, convert_int8(model, shape, seed)


@functools.lru_cache(maxsize=None)
def conv_flatten_dense(seed: int = 1):
    """conv(7) -> depthwise -> maxpool -> conv(13) -> flatten -> dense(5) -> dense(3) logits."""
    def layers(L, x):
        x = L.Conv2D(7, 3, padding="same", activation="relu", name="c1")(x)
        x = L.DepthwiseConv2D(3, padding="same", activation="relu", name="dw1")(x)
        x = L.MaxPooling2D(2, name="mp1")(x)
        x = L.Conv2D(13, 3, padding="valid", activation="relu", name="c2")(x)
        x = L.Flatten(name="flat")(x)
        x = L.Dense(5, activation="relu", name="d1")(x)
        return L.Dense(3, name="logits")(x)

    return _build(seed, (8, 8, 3), layers)


@functools.lru_cache(maxsize=None)
def residual_gap(seed: int = 2):
    """conv(7) -> [conv(7) + skip] ADD -> avgpool -> conv(13) -> GAP (MEAN) -> dense(3) -> softmax."""
    def layers(L, x):
        a = L.Conv2D(7, 3, padding="same", activation="relu", name="c1")(x)
        b = L.Conv2D(7, 3, padding="same", activation="relu", name="c2")(a)
        b = L.DepthwiseConv2D(3, padding="same", name="dw2")(b)
        x = L.Add(name="add")([a, b])
        x = L.AveragePooling2D(2, name="ap")(x)
        x = L.Conv2D(13, 1, activation="relu", name="c3")(x)
        x = L.GlobalAveragePooling2D(name="gap")(x)
        return L.Dense(3, activation="softmax", name="logits")(x)

    return _build(seed, (9, 9, 3), layers)


def random_input(shape, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def run_litert(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=model_bytes)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"]).copy()


@functools.lru_cache(maxsize=None)
def reshape_moves_channels(seed: int = 3):
    """conv(6) -> Reshape (4,4,6)->(4,8,3) -> conv(5) -> GAP -> dense(3): c1's channels move."""
    def layers(L, x):
        x = L.Conv2D(6, 3, padding="same", activation="relu", name="c1")(x)
        x = L.Reshape((4, 8, 3), name="mix")(x)
        x = L.Conv2D(5, 3, padding="same", activation="relu", name="c2")(x)
        x = L.GlobalAveragePooling2D(name="gap")(x)
        return L.Dense(3, name="logits")(x)

    return _build(seed, (4, 4, 3), layers)


@functools.lru_cache(maxsize=None)
def concat_model(seed: int = 4):
    """Two convs joined by Concatenate (CONCATENATION is not supported by the runtime)."""
    def layers(L, x):
        a = L.Conv2D(3, 1, activation="relu", name="a")(x)
        b = L.Conv2D(5, 1, activation="relu", name="b")(x)
        x = L.Concatenate(name="cat")([a, b])
        x = L.GlobalAveragePooling2D(name="gap")(x)
        return L.Dense(3, name="logits")(x)

    return _build(seed, (4, 4, 3), layers)


def keras_macs(model) -> int:
    """Brute-force MACs of the full model from its Keras layer shapes (Conv2D, Depthwise, Dense)."""
    keras = _keras()
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            _, h, w, c = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * kh * kw * c
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, cout = layer.output.shape
            cin = layer.input.shape[-1]
            kh, kw = layer.kernel_size
            total += h * w * kh * kw * cin * cout
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return int(total)


def synthetic_model(tensors, ops, inputs, outputs) -> bytes:
    """Hand-built .tflite for arena tests: ``tensors`` = [(shape, type_name, constant)],
    ``ops`` = [(inputs, outputs)] (all ops are ADD: the arena rule only reads the graph)."""
    from reds.tflite import flatbuffer as tflite_io

    schema = tflite_io.schema
    mt = schema.ModelT()
    mt.version = 3
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.ADD
    mt.operatorCodes = [code]
    mt.buffers = [schema.BufferT()]
    sg = schema.SubGraphT()
    sg.tensors = []
    for i, (shape, tname, constant) in enumerate(tensors):
        t = schema.TensorT()
        t.shape = np.array(shape, dtype=np.int32)
        t.type = getattr(schema.TensorType, tname)
        t.name = f"t{i}"
        buf = schema.BufferT()
        if constant:
            n = int(np.prod(shape)) * np.dtype(tflite_io.NUMPY_DTYPES[tname]).itemsize
            buf.data = np.zeros(n, np.uint8)
        mt.buffers.append(buf)
        t.buffer = len(mt.buffers) - 1
        sg.tensors.append(t)
    sg.operators = []
    for ins, outs in ops:
        op = schema.OperatorT()
        op.opcodeIndex = 0
        op.inputs = np.array(ins, dtype=np.int32)
        op.outputs = np.array(outs, dtype=np.int32)
        sg.operators.append(op)
    sg.inputs = np.array(inputs, dtype=np.int32)
    sg.outputs = np.array(outputs, dtype=np.int32)
    mt.subgraphs = [sg]
    return tflite_io.pack(mt)
