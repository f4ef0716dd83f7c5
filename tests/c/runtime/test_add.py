"""The ADD kernel (boards/runtime/kernels/add_s8.c) equals TFLM bit for bit.

Keras models whose output is the ADD itself (every output element compared), with branch scales
far apart (input multipliers / shifts differ widely), fused ReLU, the same tensor added to itself,
a model input added to a conv output, and element counts that are not multiples of 4 (455, 125,
54, 3: the 4-wide loop, its tail, and the tail alone). Checked on the host (portable C, via
``reds.runtime.binding``) and on qemu_m4 (-DREDS_USE_DSP: SMMLAR / SSAT), against ``tflite_micro``.
The rescaling identities themselves are checked by tests/c/runtime/c/add_check.c (host with UBSan,
and as Cortex-M4 DSP firmware under QEMU with semihosting).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from modelgen import random_input, run_c_check
from reds.tflite import flatbuffer as tflite_io
from reds_app import execute
from paths import REPO, RUNTIME
from reds.runtime import golden

HERE = Path(__file__).resolve().parent
N_INPUTS = 4

# name: (input shape, first branch kernel scale, second branch kernel scale, what it covers)
ADD_MODELS = {
    "scales": ((7, 5, 13), 8.0, 1 / 16, "1x1 conv x8 + 3x3 conv /16: input scales ~100x apart"),
    "relu": ((5, 5, 5), 4.0, 1 / 4, "the same with a fused ReLU, 125 elements"),
    "same": ((3, 3, 6), 1.0, None, "one conv output added to itself (in1 == in2), 54 elements"),
    "dominant": ((7, 5, 13), 64.0, 1 / 64, "one input's range dominates (multiplier shift ~-13)"),
    "input": ((1, 3, 1), None, 1.0, "the model input + a conv of it, 3 elements (tail only)"),
}


def add_model(name: str, seed: int = 0):
    import keras

    import modelgen

    shape, s1, s2, _ = ADD_MODELS[name]
    L = keras.layers
    modelgen._seed(seed)
    x = inp = keras.Input(shape, batch_size=1)
    c = shape[-1]
    a = L.Conv2D(c, 1, name="a")(x) if s1 is not None else x
    b = L.Conv2D(c, 3, padding="same", name="b")(x) if s2 is not None else a
    y = L.Add()([a, b])
    if name == "relu":
        y = L.ReLU()(y)
    m = keras.Model(inp, y)
    for layer, s in (("a", s1), ("b", s2)):
        if s is not None:
            k, bias = m.get_layer(layer).get_weights()
            m.get_layer(layer).set_weights([k * s, bias * s])
    return m


@pytest.fixture(scope="module")
def add_models():
    import modelgen

    return {name: modelgen.convert(add_model(name), seed=1) for name in ADD_MODELS}


def add_scales(model: bytes) -> list[tuple[float, float]]:
    m = tflite_io.load_model(model)
    return [tuple(float(m.tensors[t].quantization.scale[0]) for t in op.inputs[:2])
            for op in m.operators if op.op == "ADD"]


def test_models_are_what_they_claim(add_models):
    for name, model in add_models.items():
        m = tflite_io.load_model(model)
        (s1, s2), = add_scales(model)
        ratio = max(s1, s2) / min(s1, s2)
        if name == "same":
            assert ratio == 1.0
        elif name in ("scales", "dominant"):
            assert ratio > (1000 if name == "dominant" else 20), (name, s1, s2)
        add = next(op for op in m.operators if op.op == "ADD")
        assert (add.options["fused_activation_function"] == "RELU") == (name == "relu"), name
        assert tuple(m.tensors[m.outputs[0]].shape)[1:] == ADD_MODELS[name][0]


def compare(model: bytes, target: str) -> None:
    rng = np.random.default_rng(5)
    xs = np.stack([random_input(model, rng)[0] for _ in range(N_INPUTS)])
    xs[0] = -128  # the ends of the input range
    xs[1] = 127
    want = golden.tflm_outputs(model, xs)
    got = execute.execute(model, xs, target=target).outputs.reshape(want.shape)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, f"{target}: {bad.size} elements differ, first at {bad[:8]}: " \
                          f"got {got.ravel()[bad[:8]]} want {want.ravel()[bad[:8]]}"


@pytest.mark.parametrize("name", sorted(ADD_MODELS))
def test_add_bitexact_host(add_models, name):
    compare(add_models[name], "native")


@pytest.mark.qemu
@pytest.mark.parametrize("name", sorted(ADD_MODELS))
def test_add_bitexact_qemu_m4(add_models, name):
    compare(add_models[name], "qemu_m4")


def test_add_rescaling_identities_host(tmp_path):
    run_c_check(HERE / "c" / "add_check.c", tmp_path, "-DCHECK_SCALE=16")


@pytest.mark.qemu
def test_add_rescaling_identities_qemu_m4_dsp(tmp_path):
    """The same check built as Cortex-M4 firmware with -DREDS_USE_DSP (the inline-asm SMMLAR,
    SMMULR, SSAT paths), run on QEMU mps2-an386; output and exit status via semihosting."""
    elf = tmp_path / "add_check.elf"
    targets = REPO / "boards" / "targets" / "qemu_mps2"
    cortex_m = REPO / "boards" / "targets" / "cortex_m"  # the reset handler and core registers
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                    "-mfpu=fpv4-sp-d16", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror",
                    "-DREDS_USE_DSP", "-DADD_CHECK_SEMIHOST", "-nostartfiles", "--specs=nano.specs",
                    "--specs=nosys.specs", "-I", str(RUNTIME / "include"), "-I", str(RUNTIME / "kernels"),
                    "-I", str(cortex_m), "-DREDS_UART0_RX_IRQ=0",
                    "-T", str(targets / "mps2_an386.ld"), str(targets / "startup.c"),
                    str(cortex_m / "cm_reset.c"),
                    str(HERE / "c" / "add_check.c"), "-o", str(elf)], check=True, cwd=REPO)
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", str(elf)], capture_output=True, text=True).stdout
    assert "smmlar" in dis and "ssat" in dis
    out = subprocess.run(["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none",
                          "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                         capture_output=True, text=True, timeout=300)
    text = out.stdout + out.stderr  # QEMU writes semihosting output to stderr
    assert out.returncode == 0 and text.startswith("ok "), text
