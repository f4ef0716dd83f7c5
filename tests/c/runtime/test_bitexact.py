"""The C runtime equals TFLM (tflite_micro's reference kernels) bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import modelgen
from modelgen import random_input
from reds.tflite import flatbuffer as tflite_io
from reds.runtime import golden
from reds.runtime.binding import Runtime

ALL_OPS = {
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN",
    "ADD", "RESHAPE", "SOFTMAX", "QUANTIZE", "DEQUANTIZE",
}
RANDOM_SEEDS = list(range(1, 9))


def assert_bitexact(model: bytes, n_inputs: int = 6, seed: int = 0) -> None:
    rt = Runtime(model)
    rng = np.random.default_rng(seed)
    for i in range(n_inputs):
        x = random_input(model, rng)
        want = golden.tflm_run(model, x)
        got = rt.invoke(x)
        assert got.dtype == want.dtype
        assert np.array_equal(got.reshape(want.shape), want), f"input {i}: runtime {got.ravel()[:8]} tflm {want.ravel()[:8]}"


@pytest.mark.parametrize("name", sorted(modelgen.MODELS))
def test_fixed_models_bitexact(tflite_model, name):
    assert_bitexact(tflite_model(name))


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_models_bitexact(tflite_model, seed):
    assert_bitexact(tflite_model("random", seed), seed=seed)


def test_models_cover_every_op(tflite_model):
    seen = set()
    for name in modelgen.MODELS:
        seen |= {op.op for op in tflite_io.load_model(tflite_model(name)).operators}
    assert ALL_OPS <= seen, f"not exercised: {sorted(ALL_OPS - seen)}"


def test_per_tensor_and_per_channel_fc(tflite_model):
    def fc_scales(name):
        m = tflite_io.load_model(tflite_model(name))
        return [m.tensors[op.inputs[1]].quantization.scale.size for op in m.operators if op.op == "FULLY_CONNECTED"]

    assert all(n == 1 for n in fc_scales("mlp_per_tensor"))
    assert all(n > 1 for n in fc_scales("mlp_per_channel"))


def test_input_validation(tflite_model):
    rt = Runtime(tflite_model("conv_dw_gap"))
    with pytest.raises(TypeError):
        rt.invoke(np.zeros(rt.input_shape(), np.float32))
    with pytest.raises(ValueError):
        rt.invoke(np.zeros(5, np.int8))


def test_run_batch_matches_invoke(tflite_model):
    rt = Runtime(tflite_model("residual"))
    x = np.random.default_rng(3).integers(-128, 128, size=(4, *rt.input_shape())).astype(np.int8)
    ys = rt.run_batch(x)
    assert ys.shape[0] == 4
    for i in range(4):
        assert np.array_equal(ys[i], rt.invoke(x[i]))
