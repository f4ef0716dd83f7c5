"""`reds exec --target qemu_m4` reaches any model size: uploaded into the RAM slot when it fits,
else compiled into a firmware build of its own; the outputs equal TFLM's either way."""
import numpy as np
import pytest

import hostbuild

pytestmark = pytest.mark.qemu


def wide_fc_model(inputs: int) -> bytes:
    """int8 FC model inputs -> 64 -> 10 (64 * inputs weight bytes), seeded."""
    import keras

    from reds.export import to_int8_tflite

    keras.utils.set_random_seed(3)
    inp = keras.Input((inputs,), batch_size=1)
    out = keras.layers.Dense(10)(keras.layers.Dense(64, activation="relu")(inp))
    calib = np.random.default_rng(3).normal(size=(4, inputs)).astype(np.float32)
    return to_int8_tflite(keras.Model(inp, out), calib)


def tflm(model: bytes, xs: np.ndarray) -> np.ndarray:
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model)
    outs = []
    for x in xs:
        interp.set_input(x[None], 0)
        interp.invoke()
        outs.append(interp.get_output(0)[0].copy())
    return np.stack(outs)


def test_small_model_is_uploaded(capsys):
    from reds.execute import execute

    model = (hostbuild.FW / "default_model.tflite").read_bytes()
    xs = np.random.default_rng(0).integers(-128, 128, (2, 16), dtype=np.int8)
    res = execute(model, xs, subnet=0, target="qemu_m4")
    assert res.model_path == "upload"
    assert "uploaded into the RAM slot" in capsys.readouterr().err
    np.testing.assert_array_equal(res.outputs.reshape(2, -1), tflm(model, xs))


def test_model_larger_than_the_slot_is_compiled_in(capsys):
    from reds.execute import execute
    from reds_bench.factory import create_dut
    from reds_bench.measure import board_info

    with create_dut("qemu_m4") as board:
        slot = int(board_info(board)["build"]["model_slot_bytes"])
    model = wide_fc_model(slot // 64 + 2048)  # ~130 KB more weights than the slot holds
    assert len(model) > slot
    xs = np.random.default_rng(1).integers(-128, 128, (2, slot // 64 + 2048), dtype=np.int8)
    res = execute(model, xs, subnet=0, target="qemu_m4")
    assert res.model_path == "compiled-in"
    assert "compiled into the firmware (larger than the RAM slot)" in capsys.readouterr().err
    np.testing.assert_array_equal(res.outputs.reshape(2, -1), tflm(model, xs))
