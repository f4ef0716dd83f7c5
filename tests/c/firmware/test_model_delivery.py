"""`reds exec --target qemu_m4` reaches any model size: uploaded into the RAM slot when it fits,
else compiled into a firmware build of its own; the outputs equal TFLM's either way."""
import numpy as np
import pytest

import hostbuild
from reds.runtime import golden

pytestmark = pytest.mark.qemu


def wide_fc_model(inputs: int, hidden: int = 64) -> bytes:
    """int8 FC model inputs -> hidden -> 10 (hidden * inputs weight bytes), seeded."""
    import keras

    from reds.export.convert import to_int8_tflite

    keras.utils.set_random_seed(3)
    inp = keras.Input((inputs,), batch_size=1)
    out = keras.layers.Dense(10)(keras.layers.Dense(hidden, activation="relu")(inp))
    calib = np.random.default_rng(3).normal(size=(4, inputs)).astype(np.float32)
    return to_int8_tflite(keras.Model(inp, out), calib)


def _input_width(model: bytes) -> int:
    return int(golden.input_spec(model)[0][-1])


def test_small_model_is_uploaded(capsys):
    from reds_app.execute import execute

    model = (hostbuild.FW / "default_model.tflite").read_bytes()
    xs = np.random.default_rng(0).integers(-128, 128, (2, 16), dtype=np.int8)
    res = execute(model, xs, subnet=0, target="qemu_m4")
    assert res.model_path == "upload"
    assert "uploaded into the RAM slot" in capsys.readouterr().err
    np.testing.assert_array_equal(res.outputs.reshape(2, -1), golden.tflm_outputs(model, xs))


def test_model_and_input_over_the_old_64_kb_and_16_kb_limits_are_uploaded():
    """The sizes the fixed buffers refused: a ~110 KB model (over the old 64 KB slot) with a
    VWW-sized input of 27 648 bytes (over the old 16 KB input buffer)."""
    from reds_app.execute import execute

    model = wide_fc_model(27_648, hidden=4)
    assert len(model) > 65_536
    xs = np.random.default_rng(2).integers(-128, 128, (1, 27_648), dtype=np.int8)
    res = execute(model, xs, subnet=0, target="qemu_m4")
    assert res.model_path == "upload"
    np.testing.assert_array_equal(res.outputs.reshape(1, -1), golden.tflm_outputs(model, xs))


@pytest.fixture(scope="module")
def big_model():
    """A model ~130 KB larger than qemu_m4's upload slot (as the board reports it)."""
    from reds_bench.board.factory import create_board
    from reds_bench.board.info import board_info

    with create_board("qemu_m4") as board:
        slot = int(board_info(board)["build"]["model_slot_bytes"])
    model = wide_fc_model(slot // 64 + 2048)
    assert len(model) > slot
    return model


def test_model_larger_than_the_slot_is_compiled_in(big_model, capsys):
    from reds_app.execute import execute

    model = big_model
    n = _input_width(model)
    xs = np.random.default_rng(1).integers(-128, 128, (2, n), dtype=np.int8)
    res = execute(model, xs, subnet=0, target="qemu_m4")
    assert res.model_path == "compiled-in"
    assert "compiled into the firmware (larger than the RAM slot)" in capsys.readouterr().err
    np.testing.assert_array_equal(res.outputs.reshape(2, -1), golden.tflm_outputs(model, xs))


def test_bench_run_compiles_in_a_model_larger_than_the_slot(big_model, tmp_path):
    from reds_bench.measure.runner import run_bench

    path = tmp_path / "big.tflite"
    path.write_bytes(big_model)
    res = run_bench("qemu_m4", model=path, out=tmp_path / "out", runs=2, warmup=0,
                    switch_runs=5, inputs=1, progress=False, plots=False)
    assert res["board"]["model_delivery"] == "compiled-in"
    assert [c["bit_exact"] for c in res["correctness"]] == [True]
    assert not res.get("errors")
