"""The CLI's error policy: every expected failure is one line on stderr, exit code 2, and no
work is lost; unexpected ones keep their traceback under --debug / REDS_DEBUG=1."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reds_app.cli import main

from tflite_models import conv_flatten_dense, keras_macs

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A plain int8 model (no REDS metadata), a float model of the same net, and bad .npy files."""
    import tensorflow as tf

    keras_model, int8 = conv_flatten_dense()
    d = tmp_path_factory.mktemp("errors")
    (d / "int8.tflite").write_bytes(int8)
    (d / "float.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(keras_model).convert())
    np.save(d / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(d / "empty.npy", np.zeros((0, 8, 8, 3), np.int8))
    np.save(d / "x.npy", np.zeros((2, 8, 8, 3), np.int8))
    np.save(d / "wrong_shape.npy", np.zeros((2, 5, 5, 3), np.int8))
    (d / "notnpy.npy").write_text("hello")
    (d / "a_file").write_text("")
    return d, keras_model


BAD = {  # name: argv (with {d} the fixture folder); every one is a mistake a user makes
    "bench send --help is help": None,
    "verify float model": ["verify", "{d}/float.tflite"],
    "exec float model": ["exec", "{d}/float.tflite", "--input", "{d}/x.npy", "--output", "{d}/y.npy"],
    "exec output dir is a file": ["exec", "{d}/int8.tflite", "--input", "{d}/x.npy",
                                  "--output", "{d}/a_file/y.npy"],
    "exec pickled input": ["exec", "{d}/int8.tflite", "--input", "{d}/pickled.npy",
                           "--output", "{d}/y.npy"],
    "exec not an npy": ["exec", "{d}/int8.tflite", "--input", "{d}/notnpy.npy",
                        "--output", "{d}/y.npy"],
    "exec empty batch": ["exec", "{d}/int8.tflite", "--input", "{d}/empty.npy",
                         "--output", "{d}/y.npy"],
    "exec wrong shape": ["exec", "{d}/int8.tflite", "--input", "{d}/wrong_shape.npy",
                         "--output", "{d}/y.npy"],
    "exec quantize int8 input": ["exec", "{d}/int8.tflite", "--input", "{d}/x.npy", "--quantize",
                                 "--output", "{d}/y.npy"],
    "verify -n 0": ["verify", "{d}/int8.tflite", "-n", "0"],
    "verify -n -3": ["verify", "{d}/int8.tflite", "-n", "-3"],
    "verify --data npy of wrong shape": ["verify", "{d}/int8.tflite", "--data", "{d}/wrong_shape.npy"],
    "verify --data empty": ["verify", "{d}/int8.tflite", "--data", "{d}/empty.npy"],
    "plan 2-d input shape": ["plan", "--arch", "ds_cnn_l", "--input-shape", "49,10", "--classes", "12"],
    "plan bad budgets": ["plan", "--arch", "dnn_s", "--input-shape", "10,4,1", "--classes", "5",
                         "--budgets", "half"],
    "plan json into a file's folder": ["plan", "--arch", "dnn_s", "--input-shape", "10,4,1",
                                       "--classes", "5", "--json", "{d}/a_file/plan.json"],
    "export missing run": ["export", "{d}/no_such_run"],
    "export bad symbol": ["export", "{d}", "--symbol", "1bad-name"],
    "train --data-dir missing": ["train", "--recipe", "{d}/no.yaml", "--out", "{d}/r",
                                 "--data-dir", "{d}/none"],
    "bench run unknown target": ["bench", "run", "--target", "foo", "--model", "{d}/int8.tflite",
                                 "--out", "{d}/bench_foo"],
    "bench run no target": ["bench", "run", "--model", "{d}/int8.tflite", "--out", "{d}/bench_none"],
    "inspect missing file": ["inspect", "{d}/nope.tflite"],
}


@pytest.mark.parametrize("name", [n for n, v in BAD.items() if v is not None])
def test_bad_invocation_is_one_line_without_traceback(models, name, capsys):
    d, _ = models
    argv = [a.format(d=d) for a in BAD[name]]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, (name, rc, err)
    assert "Traceback" not in err
    assert err.startswith("reds: error: ") and err.count("\n") == 1, err
    assert not (d / "y.npy").exists()


def test_bench_send_help_shows_help(capsys):
    assert main(["bench", "send", "--help"]) == 0
    assert "Send one protocol command" in capsys.readouterr().out


def test_bench_run_unknown_target_leaves_no_journal(models):
    d, _ = models
    main(["bench", "run", "--target", "foo", "--model", str(d / "int8.tflite"), "--out", str(d / "bf")])
    assert not (d / "bf" / "journal.jsonl").exists()


def test_float_model_error_says_why_and_what_to_do(models, capsys):
    d, _ = models
    assert main(["verify", str(d / "float.tflite")]) == 2
    err = capsys.readouterr().err
    assert "cannot run this model" in err and "int8" in err


def test_debug_shows_the_traceback_of_an_expected_error(models, capsys, monkeypatch):
    d, _ = models
    monkeypatch.delenv("REDS_DEBUG", raising=False)
    assert main(["--debug", "verify", str(d / "int8.tflite"), "--data", str(d / "empty.npy")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().endswith("give at least one sample")


def test_exec_output_directory_is_created(models, tmp_path):
    d, _ = models
    out = tmp_path / "new" / "deeper" / "y.npy"
    assert main(["exec", str(d / "int8.tflite"), "--input", str(d / "x.npy"), "--output", str(out)]) == 0
    assert np.load(out).shape == (2, 3)


def test_exec_quantize_and_dequantize_match_manual_quantization(models, tmp_path):
    from reds.tflite import flatbuffer as tflite_io
    from reds.runtime.golden import tflm_outputs

    d, _ = models
    blob = (d / "int8.tflite").read_bytes()
    m = tflite_io.load_model(blob)
    tin, tout = m.tensors[m.inputs[0]], m.tensors[m.outputs[0]]
    xf = np.random.default_rng(4).uniform(-1, 1, (3, 8, 8, 3)).astype(np.float32)
    np.save(tmp_path / "xf.npy", xf)
    assert main(["exec", str(d / "int8.tflite"), "--input", str(tmp_path / "xf.npy"), "--quantize",
                 "--dequantize", "--output", str(tmp_path / "yf.npy")]) == 0
    yf = np.load(tmp_path / "yf.npy")
    s_in, z_in = float(tin.quantization.scale[0]), int(tin.quantization.zero_point[0])
    xq = np.clip(np.round(xf / s_in) + z_in, -128, 127).astype(np.int8)
    golden = tflm_outputs(blob, xq).reshape(3, -1)
    s_out, z_out = float(tout.quantization.scale[0]), int(tout.quantization.zero_point[0])
    assert yf.dtype == np.float32
    assert np.allclose(yf, (golden.astype(np.float32) - z_out) * s_out)


def test_inspect_plain_int8_model_reports_runtime_numbers(models, capsys):
    d, keras_model = models
    assert main(["inspect", str(d / "int8.tflite"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    sub = info["subnets"][0]
    assert info["reds"] is False and info["runtime"]["runs"] is True
    assert sub["macs"] == keras_macs(keras_model)
    assert sub["arena_bytes"] > 0
    for role in ("input", "output"):
        assert info[role]["dtype"] == "INT8"
        assert info[role]["scale"] > 0 and -128 <= info[role]["zero_point"] <= 127


def test_inspect_float_model_says_the_runtime_refuses_it(models, capsys):
    d, _ = models
    assert main(["inspect", str(d / "float.tflite")]) == 0
    out = capsys.readouterr().out
    assert "refuses" in out and "not quantized" in out
    assert main(["inspect", str(d / "float.tflite"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["runtime"]["runs"] is False and info["runtime"]["reason"]
    assert info["subnets"][0]["macs"] is None  # unknown, not 0


def test_tensorflow_is_quiet_by_default_and_verbose_with_v(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{REPO}/toolkit:{REPO}/bench"}
    for key in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "ABSL_MIN_LOG_LEVEL", "REDS_DEBUG"):
        env.pop(key, None)
    argv = [sys.executable, "-m", "reds_app.cli", "plan", "--arch", "dnn_s", "--input-shape",
            "10,4,1", "--classes", "5", "--budgets", "0.5"]
    quiet = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    for noise in ("oneDNN", "absl", "E0000", "I0000", "W0000", "cpu_feature_guard"):
        assert noise not in quiet.stderr, quiet.stderr
    assert "\r" not in quiet.stdout + quiet.stderr
    for line in quiet.stdout.splitlines():  # the table is not wrapped in a pipe
        assert len(line) <= 200
    loud = subprocess.run(argv[:3] + ["-v"] + argv[3:], env=env, capture_output=True, text=True,
                          timeout=300)
    assert loud.returncode == 0
    assert len(loud.stderr) > len(quiet.stderr)


def test_run_bench_on_unknown_target_fails_before_journaling(models):
    from reds.errors import UserError
    from reds_bench.measure.runner import run_bench

    d, _ = models
    with pytest.raises(UserError):
        run_bench("foo", model=d / "int8.tflite", out=d / "bench_direct")
    assert not (d / "bench_direct" / "journal.jsonl").exists()


def test_ctrl_c_on_the_demo_says_rerun_to_resume(monkeypatch, tmp_path, capsys):
    from reds_app import demo

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "run_demo", interrupted)
    assert main(["demo", "--out", str(tmp_path / "d")]) == 130
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]  # click ends the ^C line first
    assert len(lines) == 1 and "rerun" in lines[0] and "resume" in lines[0]


def test_sched_commands_are_mounted(capsys):
    assert main(["sched", "simulate", "--help"]) == 0
    assert "--trace" in capsys.readouterr().out
    assert main(["bench", "sched", "--help"]) == 0
    assert "policy" in capsys.readouterr().out


def test_native_log_filter_drops_absl_lines_and_keeps_the_rest():
    code = (
        "import os, sys\n"
        "from reds_app.quiet import NativeLogFilter\n"
        "with NativeLogFilter():\n"
        "    os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n')\n"
        "    os.write(2, b'I0000 00:00:1796440902.740897    4025 port.cc:153] oneDNN custom operations are on.\\n')\n"
        "    os.write(2, b'E0000 00:00:1796440902.7 4025 dataset.cc:12] use_unbounded_threadpool\\n')\n"
        "    os.write(2, b'a line of a subprocess\\n')\n"
        "    print('a python line', file=sys.stderr)\n"
        "print('after', file=sys.stderr)\n")
    env = {**os.environ, "PYTHONPATH": f"{REPO}/toolkit:{REPO}/bench"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # the filtered fd and Python's direct stderr are two streams: compare the lines, not the order
    assert sorted(r.stderr.splitlines()) == ["a line of a subprocess", "a python line", "after"]
