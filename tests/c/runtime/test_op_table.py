"""The op table (boards/runtime/src/ops.c) is the one list of ops: the runtime publishes it
(reds_op_count / reds_op_code_at, reds.h), the Python mirror's supported_ops equals it, and the
unsupported-op error lists it whole, never cut mid-name (REDS_ERROR_LEN holds it)."""
from __future__ import annotations

import ctypes

import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from reds.runtime.binding import RedsRuntimeError, Runtime, load_library
from reds.tflite.groups import supported_ops

NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def c_op_codes() -> list[int]:
    lib = load_library()
    lib.reds_op_count.restype = ctypes.c_int
    lib.reds_op_code_at.restype = ctypes.c_int
    lib.reds_op_code_at.argtypes = [ctypes.c_int]
    n = lib.reds_op_count()
    assert lib.reds_op_code_at(-1) == -1 and lib.reds_op_code_at(n) == -1
    return [lib.reds_op_code_at(i) for i in range(n)]


def test_c_table_is_the_python_mirror():
    codes = c_op_codes()
    names = [NAMES[c] for c in codes]
    assert names == sorted(names), "ops.c keeps its table in name order"
    assert set(names) == set(supported_ops)


def test_unsupported_op_lists_every_supported_op_whole():
    import keras
    import modelgen

    x = inp = keras.Input((8,), batch_size=1)
    x = keras.layers.Dense(4)(x)
    x = keras.layers.Activation("tanh")(x)
    with pytest.raises(RedsRuntimeError) as e:
        Runtime(modelgen.convert(keras.Model(inp, x)))
    names = ", ".join(NAMES[c] for c in c_op_codes())
    assert e.value.message == (
        f"op 1 (TANH): not supported by the REDS runtime (supported: {names})")
