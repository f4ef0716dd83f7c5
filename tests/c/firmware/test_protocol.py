"""The firmware's serial protocol, driven through the host build's stdin/stdout (--stdio)."""
import re
import zlib

import pytest

import hostbuild
from fwclient import exchange, kv, upload
from reds_bench.board.protocol import parse_list

MODEL = (hostbuild.FW / "default_model.tflite").read_bytes()


def test_boot_banner_name_profile(host_program):
    prog = host_program
    boot, name, profile = exchange(prog, "name", "profile")
    assert boot[0].startswith("m-boot-reds target=native protocol=2 model_ok=1")
    assert name == ["m-name-dut-[reds-native]"]
    assert profile[0].startswith("m-profile-[")
    assert profile[1] == f"m-model-[{zlib.crc32(MODEL):08x}]"


def test_reds_info_reports_model_crc_timer_subnets(host_program):
    prog = host_program
    _, info = exchange(prog, "reds-info")
    head = kv(info[0])
    assert head["model_crc32"] == f"{zlib.crc32(MODEL):08x}"
    assert int(head["model_bytes"]) == len(MODEL)
    k = int(head["subnets"])
    assert k >= 1
    assert kv(info[1]) == {"unit": "ns", "hz": 1000000000, "instructions_per_tick": 0,
                           "source": "clock_monotonic"}
    assert info[2].startswith("m-reds-build dsp=")
    subnets = [kv(x) for x in info[3:]]
    assert len(subnets) == k and all(int(s["macs"]) > 0 for s in subnets)
    macs = [int(s["macs"]) for s in subnets]
    assert macs == sorted(macs, reverse=True)


def test_db_infer_results(host_program):
    prog = host_program
    x = bytes(range(16))
    r = exchange(prog, "db load 16", "db " + x[:5].hex(), "db " + x[5:].hex(), "infer 3 1",
                 "results")
    assert r[1] == ["m-[Expecting 16 bytes]"]
    assert r[2] == []
    assert r[3] == ["m-load-done bytes=16"]
    assert r[4][:3] == ["m-warmup-start-1", "m-warmup-done", "m-infer-start-3"]
    assert r[4][3].startswith("m-lap-us-") and r[4][4].startswith("m-lap-us-")
    assert int(r[4][3][9:]) <= int(r[4][4][9:])
    assert r[4][5] == "m-infer-done" and r[4][6].startswith("m-results-[")
    d = kv(r[4][7])
    assert d["runs"] == 3 and d["unit"] == "ns" and int(d["min"]) <= int(d["median"]) <= int(d["max"])
    assert r[5][0] == r[4][6], "results repeats the m-results line of the last run"
    assert re.fullmatch(r"m-reds-output index=0 subnet=0 bytes=\d+ hex=[0-9a-f]+", r[5][1])


def test_select_bench_switch(host_program):
    prog = host_program
    r = exchange(prog, "reds-select 1", "reds-bench 1 7 2", "reds-switch 20", "reds-info")
    assert kv(r[1][0])["subnet"] == 1
    b = kv(r[2][0])
    assert r[2][0].startswith("m-reds-bench ") and b["runs"] == 7 and b["warmup"] == 2
    assert {"min", "median", "max", "mean", "unit", "hz", "ns_median", "macs"} <= set(b)
    head = kv(r[3][0])
    k = int(head["subnets"])
    rows = r[3][1:]
    assert len(rows) == k
    for i, row in enumerate(rows):
        d = kv(row)
        assert d["from"] == i and len(parse_list(d["ticks"])) == k
    assert kv(r[4][0])["active"] == 1, "reds-switch must restore the selected subnet"


def test_help_lists_every_command_that_answers(host_program):
    """help comes from the dispatch table: every word it lists is a command (no
    `unknown command`), and a word it does not list is unknown."""
    _, (words, *usages) = exchange(host_program, "help")
    names = words.split()[1:]
    assert {"name", "profile", "db", "infer", "results", "reds-info", "model-commit"} <= set(names)
    assert all(u.split()[0][len("m-help-"):] in names for u in usages)
    replies = exchange(host_program, *names, "no-such-command")[1:]
    for name, reply in zip(names, replies):
        assert "e-[unknown command]" not in reply, name
    assert replies[-1] == ["e-[unknown command]"]


@pytest.mark.parametrize("cmd,msg", [
    ("bogus", "unknown command"),
    ("reds-select 99", "subnet out of range"),
    ("reds-select x", "subnet must be a number"),
    ("reds-bench 0 0", "runs out of range"),
    ("reds-bench 0 99999999999", "runs out of range"),
    ("db zz", "bad hex"),
    ("db abc", "bad hex"),
    ("db 00", "no db load in progress"),
    ("db load 999999999", "input too large"),
    ("infer 1 0", "no input loaded"),
    ("results", "no results"),
    ("model-data 00", "no model upload in progress"),
    ("model-commit 1234", "usage: model-commit"),
    ("a b c d e f g", "too many arguments"),
])
def test_errors_then_ready(host_program, cmd, msg):
    prog = host_program
    r = exchange(prog, cmd, "name")
    assert len(r[1]) == 1 and r[1][0].startswith("e-[" + msg), r[1]
    assert r[2] == ["m-name-dut-[reds-native]"], "the board must answer the next command"


def test_line_too_long_discards_to_next_percent(host_program):
    prog = host_program
    r = exchange(prog, "db " + "00" * 2000, "name")
    assert r[1] == ["e-[line too long max=600]"]
    assert r[2] == ["m-name-dut-[reds-native]"]


def test_garbage_bytes_and_blank_lines(host_program):
    prog = host_program
    r = exchange(prog, "name", raw=b"\x00\xff\x1b[2J%\r\n  %")
    assert r[1] == ["e-[bad character]"]
    assert r[2] == []  # empty command: m-ready only (resynchronisation)
    assert r[3] == ["m-name-dut-[reds-native]"]


def test_command_cut_by_reset_is_rejected_not_merged(host_program):
    """A half-sent line (host restarted) followed by a full command: one error, then the board
    answers again."""
    prog = host_program
    r = exchange(prog, "reds-sel" + "name", "name")
    assert r[1] == ["e-[unknown command]"]
    assert r[2] == ["m-name-dut-[reds-native]"]


def test_model_upload_commit_and_reset(host_program):
    prog = host_program
    # same bytes as the default model; the board reports source=upload afterwards
    cmds = upload(MODEL)
    r = exchange(prog, *cmds, "reds-info", "model-reset", "reds-info")
    n = len(cmds)
    commit = r[n]
    assert commit[0].startswith("m-reds-model source=upload") and kv(commit[0])["bytes"] == len(MODEL)
    assert kv(r[n + 1][0])["model_source"] == "upload"
    assert r[n + 2][0].startswith("m-reds-model source=default")
    assert kv(r[n + 3][0])["model_source"] == "default"


def test_model_upload_bad_crc_keeps_previous(host_program):
    prog = host_program
    cmds = upload(MODEL, crc=0xDEADBEEF)
    r = exchange(prog, *cmds, "reds-info")
    err = r[len(cmds)]
    assert err[0].startswith("e-[model crc mismatch, previous model kept expected=deadbeef got=")
    info = kv(r[len(cmds) + 1][0])
    assert info["model_source"] == "default" and info["model_crc32"] == f"{zlib.crc32(MODEL):08x}"


def test_model_upload_incomplete_or_overlong_or_invalid(host_program):
    prog = host_program
    r = exchange(prog, "model-load 8", "model-data 0011", "model-commit 00000000",
                 "model-load 2", "model-data 001122",
                 "model-load 8", "model-data 0011223344556677",
                 f"model-commit {zlib.crc32(bytes.fromhex('0011223344556677')):08x}", "reds-info")
    assert r[3][0].startswith("e-[model incomplete, previous model kept received=2 expected=8")
    assert r[5][0].startswith("e-[model data beyond announced size")
    assert r[8][0].startswith("e-[model rejected, previous model kept: status=")
    assert kv(r[9][0])["model_ok"] == 1 and kv(r[9][0])["model_source"] == "default"


def test_model_too_large(host_program):
    prog = host_program
    r = exchange(prog, "model-load 99999999")
    assert r[1][0].startswith("e-[model too large bytes=99999999 max=")


def test_results_are_dequantized_floats_or_the_float_outputs(host_program):
    """m-results-[...] is what the MLPerf Tiny runner reads: an int8 output dequantized with its
    scale and zero point, a float output (float-IO model) as is; both equal TFLM's."""
    import keras
    import numpy as np

    from reds.export.convert import to_int8_tflite
    from reds.runtime import golden
    from reds.tflite.flatbuffer import load_model

    keras.utils.set_random_seed(5)
    inp = keras.Input((13,), batch_size=1)
    net = keras.Model(inp, keras.layers.Dense(7)(keras.layers.Dense(9, activation="relu")(inp)))
    calib = np.random.default_rng(5).normal(size=(32, 13)).astype(np.float32)
    for int8_io in (True, False):
        model = to_int8_tflite(net, calib, int8_io=int8_io)
        x = calib[3] if not int8_io else \
            np.random.default_rng(6).integers(-128, 128, 13).astype(np.int8)
        y = golden.tflm_run(model, x[None])[0]
        if int8_io:
            m = load_model(model)
            q = m.tensors[m.outputs[0]].quantization
            want = (y.astype(np.float64) - q.zero_point[0]) * q.scale[0]
        else:
            want = y.astype(np.float64)
        r = exchange(host_program, *upload(model), f"db load {x.nbytes}", "db " + x.tobytes().hex(),
                     "infer 1 0", "results")
        line = r[-1][0]
        assert line.startswith("m-results-[") and line.endswith("]"), line
        got = np.array([float(v) for v in line[len("m-results-["):-1].split(",")])
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)
