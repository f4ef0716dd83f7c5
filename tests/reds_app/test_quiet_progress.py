"""Progress bars only on a terminal: in a file or a pipe their frames are noise."""
from __future__ import annotations

from reds.data import registry as datasets
from reds.pipeline.steps import Config, Pipeline


def test_dataset_progress_bar_is_off_when_stderr_is_not_a_terminal(tmp_path, monkeypatch):
    seen = {}

    def fake_loader(**opts):
        seen.update(opts)
        return "data"

    monkeypatch.setitem(datasets.DATASETS, "kws_synth", fake_loader)
    pipe = Pipeline(Config(arch="ds_cnn_s", dataset={"name": "kws_synth", "per_class": 5}), tmp_path)
    assert pipe.data == "data"  # pytest captures stderr: not a terminal
    assert seen["progress"] is False and seen["per_class"] == 5


# ---------------------------------------------------------------- spinners of long silent steps


def test_working_draws_nothing_when_stderr_is_not_a_terminal(capfd):
    from reds_app.quiet import progress_wanted, working

    assert not progress_wanted()  # pytest captures stderr
    with working("converting"):
        pass
    assert capfd.readouterr() == ("", "")


def test_working_draws_a_spinner_when_forced():
    import io

    from rich.console import Console

    from reds_app.quiet import working

    screen = io.StringIO()
    with working("converting the model", enabled=True, console=Console(file=screen, force_terminal=True)):
        pass
    assert "converting the model" in screen.getvalue()


class Recorder:
    """Stands in for `reds_app.quiet.working`: records each step's text and `enabled`."""

    def __init__(self):
        self.calls = []

    def __call__(self, text, enabled=None, console=None):
        import contextlib

        self.calls.append((text, enabled))
        return contextlib.nullcontext()


def test_inspect_keras_works_under_a_spinner(monkeypatch, capfd):
    from reds_app import quiet
    from reds_app.cli import main

    spinner = Recorder()
    monkeypatch.setattr(quiet, "working", spinner)
    assert main(["inspect-keras", "dnn_s", "--input-shape", "49,10,1", "--json"]) == 0
    assert [enabled for _, enabled in spinner.calls] == [None]  # shown when stderr is a terminal
    assert "dnn_s" in spinner.calls[0][0]


def test_inspect_keras_prints_no_progress_into_a_pipe(capfd):
    import json

    from reds_app.cli import main

    assert main(["inspect-keras", "dnn_s", "--input-shape", "49,10,1", "--json"]) == 0
    out, err = capfd.readouterr()
    assert json.loads(out)["groups"]
    assert "channel groups" not in err and "\r" not in err


def test_exec_on_a_board_works_under_a_spinner_and_on_the_host_without(monkeypatch, tmp_path):
    import numpy as np

    from paths import DEFAULT_MODEL
    from reds_app import execute as execute_mod
    from reds_app import quiet
    from reds_app.cli import main

    spinner = Recorder()
    monkeypatch.setattr(quiet, "working", spinner)
    ran = []

    def fake_execute(blob, x, subnet=0, target="native", repeat=0):  # no emulator in this test
        ran.append(target)
        return execute_mod.ExecResult(np.zeros((1, 1, 4), np.int8), None, "upload")

    monkeypatch.setattr(execute_mod, "execute", fake_execute)
    np.save(tmp_path / "x.npy", np.zeros((1, 16), np.int8))
    for target in ("qemu_m4", "native"):
        assert main(["exec", str(DEFAULT_MODEL), "--input", str(tmp_path / "x.npy"),
                     "--output", str(tmp_path / "y.npy"), "--target", target]) == 0
    assert ran == ["qemu_m4", "native"]
    assert [enabled for _, enabled in spinner.calls] == [None, False]
    assert "qemu_m4" in spinner.calls[0][0]


# ---------------------------------------------------------------- native log lines


def test_litert_and_absl_lines_are_native_logs():
    from reds_app.quiet import is_native_log

    assert is_native_log(b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.")
    assert is_native_log(b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR")
    assert not is_native_log(b"reds: warning: subnet 3 is at chance")
    assert not is_native_log(b"qemu-system-arm: INFO: something")


def test_litert_interpreter_is_quiet_through_the_filter():
    """What `reds bench host` does: build a LiteRT interpreter (XNNPACK) inside the CLI's filter."""
    import subprocess
    import sys

    from paths import DEFAULT_MODEL, REPO

    script = (
        "import os, sys\n"
        "from reds_app.quiet import NativeLogFilter, set_env\n"
        "set_env(False)\n"
        "from ai_edge_litert.interpreter import Interpreter\n"
        "with NativeLogFilter():\n"
        f"    Interpreter(model_content=open({str(DEFAULT_MODEL)!r}, 'rb').read(), num_threads=1).allocate_tensors()\n"
        "    os.write(2, b'kept line\\n')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "kept line" in proc.stderr
    assert "XNNPACK" not in proc.stderr


def test_verbose_flag_reaches_the_converter_and_goes_away_again(monkeypatch):
    import os

    from reds.export.convert import VERBOSE_ENV
    from reds_app.quiet import set_env

    monkeypatch.delenv(VERBOSE_ENV, raising=False)
    set_env(True)
    assert os.environ.get(VERBOSE_ENV) == "1"
    set_env(False)  # a later command in the same process, without -v
    assert VERBOSE_ENV not in os.environ
    monkeypatch.setenv(VERBOSE_ENV, "1")  # the user's own setting stays
    set_env(True)
    set_env(False)
    assert os.environ.get(VERBOSE_ENV) == "1"
