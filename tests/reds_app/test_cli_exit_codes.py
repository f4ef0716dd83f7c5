"""One exit-code policy for every command (README, reds_app.cli): a mistake is one line
`reds: error: ...` on stderr and exit code 2, never 1 and never a traceback. One or more
representative bad invocations per command; none of them needs a board or training."""
from __future__ import annotations

import click
import pytest
from paths import DEFAULT_MODEL

from reds_app.cli import cli, main

BAD = {  # name: argv, with {d} a folder of bad files (see `bad_files`) and {m} a nested model
    "boot unknown target": ["boot", "--target", "nope"],
    "demo out is a file": ["demo", "--out", "{d}/a_file"],
    "demo unknown task": ["demo", "--task", "nope"],
    "train recipe not YAML": ["train", "--recipe", "{d}/bad.yaml", "--out", "{d}/t"],
    "train recipe incomplete": ["train", "--recipe", "{d}/incomplete.yaml", "--out", "{d}/t"],
    "compare recipe not YAML": ["compare", "--recipe", "{d}/bad.yaml", "--out", "{d}/c"],
    "compare negative seed": ["compare", "--recipe", "{d}/incomplete.yaml", "--out", "{d}/c",
                              "--seed", "-1"],
    "plan unknown arch": ["plan", "--arch", "nope", "--input-shape", "8,8,1", "--classes", "10"],
    "plan min width 0": ["plan", "--arch", "dnn_s", "--input-shape", "10,4,1", "--classes", "5",
                         "--min-width", "0"],
    "plan time limit 0": ["plan", "--arch", "dnn_s", "--input-shape", "10,4,1", "--classes", "5",
                          "--time-limit", "0"],
    "plan latency without a model": ["plan", "--arch", "dnn_s", "--input-shape", "10,4,1",
                                     "--classes", "5", "--budget-kind", "latency"],
    "plan latency model not JSON": ["plan", "--arch", "dnn_s", "--input-shape", "10,4,1",
                                    "--classes", "5", "--budget-kind", "latency",
                                    "--latency-model", "{d}/bad.json"],
    "export not a run": ["export", "{d}"],
    "inspect not a model": ["inspect", "{d}/garbage.tflite"],
    "inspect-keras unknown arch": ["inspect-keras", "nope_arch"],
    "verify not a model": ["verify", "{d}/garbage.tflite"],
    "exec subnet out of range": ["exec", "{m}", "--input", "{d}/x.npy", "--output", "{d}/y.npy",
                                 "--subnet", "99"],
    "bench run runs 0": ["bench", "run", "--target", "native", "--model", "{m}", "--out", "{d}/b",
                         "--runs", "0"],
    "bench run missing model": ["bench", "run", "--target", "native", "--model", "{d}/none.tflite",
                                "--out", "{d}/b"],
    "bench discover map into a missing folder": ["bench", "discover", "--write-map",
                                                 "{d}/no/such/map.yaml"],
    "bench info no board": ["bench", "info"],
    "bench info refused URL": ["bench", "info", "--port", "socket://127.0.0.1:1"],
    "bench send no board": ["bench", "send", "reds-info"],
    "bench profile runs 0": ["bench", "profile", "{m}", "--target", "native", "--out", "{d}/p",
                             "--runs", "0"],
    "bench profile missing model": ["bench", "profile", "{d}/none.tflite", "--target", "native",
                                    "--out", "{d}/p"],
    "bench calibrate-latency width step 0": ["bench", "calibrate-latency", "{m}", "--target",
                                             "native", "--width-step", "0"],
    "bench calibrate-latency fit 2": ["bench", "calibrate-latency", "{m}", "--target", "native",
                                      "--fit", "2"],
    "bench host threads 0": ["bench", "host", "{m}", "--threads", "0"],
    "bench host repeat 0": ["bench", "host", "{m}", "--repeat", "0"],
    "bench host no REDS metadata": ["bench", "host", "{d}/plain.tflite", "--repeat", "1"],
}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    import numpy as np

    from reds.tflite.metadata import remove_metadata

    d = tmp_path_factory.mktemp("exit_codes")
    (d / "a_file").write_text("x")
    (d / "bad.yaml").write_text("arch: [unclosed\n")
    (d / "incomplete.yaml").write_text("arch: dnn\ndataset: {name: digits}\n")
    (d / "bad.json").write_text("{not json")
    (d / "garbage.tflite").write_bytes(b"not a model, just bytes" * 8)
    (d / "plain.tflite").write_bytes(remove_metadata(DEFAULT_MODEL.read_bytes()))
    np.save(d / "x.npy", np.zeros((2, 16), np.int8))
    return d


@pytest.mark.parametrize("name", list(BAD))
def test_mistake_exits_2_with_one_line(bad_files, name, capsys):
    argv = [a.format(d=bad_files, m=DEFAULT_MODEL) for a in BAD[name]]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, (name, rc, err)
    assert "Traceback" not in err
    assert err.startswith("reds: error: ") and err.count("\n") == 1, err


def test_a_plain_click_exception_is_a_mistake_too(capsys):
    """click.ClickException exits 1 by click's default: the policy makes it 2 like the rest."""
    @click.command("raise-click-exception")
    def raising():
        raise click.ClickException("something the user can fix")

    cli.add_command(raising)
    try:
        rc = main(["raise-click-exception"])
    finally:
        cli.commands.pop("raise-click-exception")
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("reds: error: something the user can fix") and err.count("\n") == 1
