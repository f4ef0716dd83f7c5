"""No kernel overflows a signed int, whatever the int32 bias and the input (issue 18, finding 1).

A model whose DEPTHWISE_CONV_2D bias is near INT32_MAX / INT32_MIN used to pass reds_init and then
overflow a signed int while accumulating (UBSan: "signed integer overflow: 2147483647 + 2835").
TFLM adds the bias to the int32 accumulator and, on every machine it runs on, wraps around; the
runtime now does the same in defined arithmetic (uint32), so results stay bit-exact with
`tflite_micro`. Each patched model runs (1) in the ASan + UBSan harness with
-fno-sanitize-recover, which aborts on any signed overflow, and (2) through the host runtime,
compared with tflite_micro on several inputs, including the extreme inputs -128 and 127.
"""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from modelgen import random_input
from reds.tflite import flatbuffer as tflite_io
from reds.runtime.binding import Runtime
from reds.runtime import golden

EXTREMES = (2**31 - 1, -(2**31), 2**31 - 2835, -(2**31) + 2835)


def with_extreme_bias(model: bytes, op_name: str) -> bytes:
    """`model` with the bias of every `op_name` set to values at the int32 limits."""
    m = tflite_io.load_model(model)
    offsets = {b: (off, n) for b, off, n in tflite_io.buffer_data_offsets(model)}
    out = bytearray(model)
    ops = [o for o in m.operators if o.op == op_name and len(o.inputs) > 2 and o.inputs[2] >= 0]
    assert ops, f"no {op_name} with a bias"
    for j, op in enumerate(ops):
        off, n = offsets[m.tensors[op.inputs[2]].buffer]
        values = np.roll(np.resize(np.array(EXTREMES, dtype=np.int64), n // 4), j).astype(np.int32)
        out[off:off + n] = values.tobytes()
    return bytes(out)


@pytest.mark.parametrize("op_name", ["DEPTHWISE_CONV_2D", "CONV_2D", "FULLY_CONNECTED"])
def test_extreme_bias_is_defined_and_bitexact(op_name, tflite_model, harness, tmp_path):
    model = with_extreme_bias(tflite_model("dw_same"), op_name)
    path = tmp_path / f"{op_name}.tflite"
    path.write_bytes(model)
    proc = subprocess.run([str(harness), "load", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "runtime error" not in proc.stderr, proc.stderr[-2000:]

    rt = Runtime(model)
    detail = {"shape": rt.input_shape()[1:], "dtype": rt.input_dtype()}
    rng = np.random.default_rng(7)
    xs = [random_input(detail, rng) for _ in range(3)]
    xs += [np.full(detail["shape"], v, dtype=np.int8) for v in (-128, 127)]
    xs = np.stack(xs)
    expected = golden.tflm_outputs(model, xs)
    got = rt.run_batch(xs)
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)
