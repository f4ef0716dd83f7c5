"""Corrupt input never crashes the runtime: the harness runs under ASan + UBSan, so any
out-of-bounds read, overflow or other UB aborts the process and fails the test."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from reds.runtime.binding import RedsRuntimeError, Runtime


def run(harness, *args, timeout=300):
    proc = subprocess.run([str(harness), *map(str, args)], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"harness {args[0]} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_every_status_has_a_string(harness):
    assert "ok" in run(harness, "status")


@pytest.fixture(scope="module")
def model_files(tflite_model, tmp_path_factory):
    from modelgen import nested

    d = tmp_path_factory.mktemp("models")
    files = {}
    for name in ("conv_dw_gap", "residual", "float_io", "pools"):
        files[name] = d / f"{name}.tflite"
        files[name].write_bytes(tflite_model(name))
    files["residual_nested"] = d / "residual_nested.tflite"
    files["residual_nested"].write_bytes(nested(tflite_model("residual"))[0])
    return files


def test_valid_models_load_under_sanitizers(harness, model_files):
    out = run(harness, "load", *model_files.values())
    assert out.split().count("REDS_OK") == len(model_files)


def test_truncation_at_every_length(harness, model_files, tmp_path):
    data = model_files["residual_nested"].read_bytes()
    paths = []
    for n in sorted(set(np.linspace(0, len(data) - 1, 60).astype(int)) | {0, 4, 7, 8, 12, 31}):
        p = tmp_path / f"t{n}.tflite"
        p.write_bytes(data[:n])
        paths.append(p)
    out = run(harness, "load", *paths).splitlines()
    assert len(out) == len(paths)
    assert not any(line.startswith("REDS_OK") for line in out[:-1] if line)  # all but long prefixes fail


@pytest.mark.parametrize("name", ["conv_dw_gap", "residual_nested", "float_io"])
def test_random_mutations_in_c(harness, model_files, name):
    out = run(harness, "mutate", model_files[name], 12345, 2000)
    assert "REDS_ERR" in out  # the mutations were actually rejected, not all ignored


def test_fuzz_loop_from_python(harness, model_files, tmp_path):
    """Mutations chosen in Python (flips in the flatbuffer tables and the REDS blob)."""
    rng = np.random.default_rng(99)
    data = bytearray(model_files["residual_nested"].read_bytes())
    paths = []
    for i in range(150):
        m = bytearray(data)
        for _ in range(int(rng.integers(1, 6))):
            pos = int(rng.integers(0, len(m)))
            m[pos] = int(rng.integers(0, 256))
        p = tmp_path / f"m{i}.tflite"
        p.write_bytes(bytes(m))
        paths.append(p)
    out = run(harness, "load", *paths)
    assert len(out.splitlines()) == len(paths)


def test_python_errors_are_readable(tflite_model):
    data = tflite_model("conv_dw_gap")
    with pytest.raises(RedsRuntimeError) as e:
        Runtime(b"\x00" * 4)
    assert e.value.name == "REDS_ERR_TRUNCATED"
    bad = bytearray(data)
    bad[4:8] = b"XXXX"
    with pytest.raises(RedsRuntimeError) as e:
        Runtime(bytes(bad))
    assert e.value.name == "REDS_ERR_MODEL" and "TFL3" in e.value.message


def test_unsupported_op_names_op_and_index():
    import keras
    import modelgen

    x = inp = keras.Input((8,), batch_size=1)
    x = keras.layers.Dense(4)(x)
    x = keras.layers.Activation("tanh")(x)
    model = modelgen.convert(keras.Model(inp, x))
    with pytest.raises(RedsRuntimeError) as e:
        Runtime(model)
    assert e.value.name == "REDS_ERR_UNSUPPORTED_OP"
    assert "TANH" in e.value.message and "op 1" in e.value.message
