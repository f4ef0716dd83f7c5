"""The bench end to end against the host build of the firmware (env `native`)."""
import json
import xml.etree.ElementTree as ET
import zlib

import pytest

from reds_bench.board.info import board_info
from reds_bench.measure import steps as measure
from reds_bench.errors import DeviceError, ModelMismatchError
from reds_bench.measure.runner import run_bench
from reds_app.cli import main as reds_main

from faults import kill_after_sending

KEYS = {"board": {"env", "id", "clock_hz", "timer_unit"},
        "model": {"path", "crc32", "subnets"},
        "adaptation": {"matrix_ns", "matrix_ticks", "mean_ns", "max_ns", "instructions_per_switch"},
        "memory": {"arena_bytes", "flash_bytes", "ram_bytes"}}


def check_results(res, model_bytes):
    for k, sub in KEYS.items():
        assert sub <= set(res[k]), (k, set(res[k]))
    k = len(res["model"]["subnets"])
    assert k >= 1
    assert res["model"]["crc32"] == f"{zlib.crc32(model_bytes):08x}"
    assert len(res["adaptation"]["matrix_ns"]) == k and all(len(r) == k for r in res["adaptation"]["matrix_ns"])
    assert res["adaptation"]["instructions_per_switch"] is None  # native: not an instruction counter
    assert [x["subnet"] for x in res["latency"]] == list(range(k))
    for x in res["latency"]:
        assert {"subnet", "macs", "median_ns", "min_ns", "max_ns", "instructions"} <= set(x)
        assert x["min_ns"] <= x["median_ns"] <= x["max_ns"]
    assert [c["subnet"] for c in res["correctness"]] == list(range(k))
    assert all(c["bit_exact"] for c in res["correctness"]), res["correctness"]
    assert res["memory"]["flash_bytes"] > 0 and res["memory"]["ram_bytes"] > 0
    assert res["memory"]["arena_bytes"] > 0


def test_run_bench_native(native_board, model_path, host_program, tmp_path):
    out = tmp_path / "out"
    res = run_bench(board=native_board, model=model_path, out=out, runs=5, switch_runs=20,
                    inputs=2, progress=False)
    check_results(res, model_path.read_bytes())
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["latency"] == json.loads(json.dumps(res["latency"]))
    for f in ("results.csv", "junit.xml", "report.md", "latency_vs_macs.png",
              "adaptation_heatmap.png", "journal.jsonl"):
        assert (out / f).stat().st_size > 0, f
    assert len((out / "results.csv").read_text().splitlines()) == 1 + len(res["latency"])
    suite = ET.parse(out / "junit.xml").getroot()[0]
    assert int(suite.get("tests")) >= 2 * len(res["latency"])
    assert "adaptation" in (out / "report.md").read_text().lower()


def test_resume_skips_finished_steps(native_board, model_path, tmp_path):
    out = tmp_path / "out"
    calls = []

    def stop_at_correctness(step, board):
        calls.append(step)
        if step == "correctness/0":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_bench(board=native_board, model=model_path, out=out, runs=3, switch_runs=5, inputs=1,
                  progress=False, step_hook=stop_at_correctness)
    journal = [json.loads(x) for x in (out / "journal.jsonl").read_text().splitlines()]
    done = [e["step"] for e in journal if e["type"] == "step"]
    assert "adaptation" in done and "latency/0" in done and "correctness/0" not in done
    partial = json.loads((out / "results.json").read_text())  # written even when interrupted
    assert partial["latency"]

    calls.clear()
    res = run_bench(board=native_board, model=model_path, out=out, runs=3, switch_runs=5,
                    inputs=1, progress=False, resume=True, step_hook=lambda s, b: calls.append(s))
    assert "adaptation" not in calls and not any(c.startswith("latency/") for c in calls)
    assert calls[0] == "correctness/0"
    assert len(res["correctness"]) == len(res["latency"])


def test_resume_refuses_other_model(native_board, model_path, tmp_path):
    out = tmp_path / "out"
    run_bench(board=native_board, model=model_path, out=out, runs=2, switch_runs=2, inputs=0,
              progress=False, plots=False)
    other = tmp_path / "other.tflite"
    other.write_bytes(model_path.read_bytes() + bytes(16))
    with pytest.raises(ModelMismatchError, match="cannot resume"):
        run_bench(board=native_board, model=other, out=out, resume=True, progress=False)


def test_board_killed_mid_measurement_recovers(native_board, model_path, tmp_path):
    """Kill the board process after `reds-switch` was sent and before its reply (and once more
    right before a latency command); the runner restarts it, re-uploads the model the restart
    dropped, re-selects and retries; nothing is lost."""
    other = tmp_path / "padded.tflite"  # same network, other CRC: forces an upload
    other.write_bytes(model_path.read_bytes() + bytes(16))
    killed = []

    def hook(step, board):
        if step == "adaptation" and not killed:
            kill_after_sending(board, b"reds-switch", killed)  # dies while the command runs
        if step == "latency/1" and len(killed) == 1:
            killed.append(board.proc.pid)
            board.kill()

    out = tmp_path / "out"
    res = run_bench(board=native_board, model=other, out=out, runs=5, switch_runs=100000,
                    inputs=1, progress=False, plots=False, step_hook=hook)
    assert len(killed) == 2 and native_board.restarts == 2
    events = [e for e in map(json.loads, (out / "journal.jsonl").read_text().splitlines())
              if e["type"] == "event"]
    assert [(e["step"], e["event"]) for e in events] == [("adaptation", "reset"), ("latency/1", "reset")]
    assert res["model"]["crc32"] == f"{zlib.crc32(other.read_bytes()):08x}"
    assert len(res["adaptation"]["matrix_ticks"]) == len(res["latency"])
    assert [x["subnet"] for x in res["latency"]] == list(range(len(res["model"]["subnets"])))
    assert board_info(native_board)["info"]["model_source"] == "upload"


def test_wrong_model_crc_is_caught(native_board, model_path, tmp_path):
    model = model_path.read_bytes() + bytes(16)
    with pytest.raises(DeviceError, match="model crc mismatch, previous model kept"):
        measure.upload_model(native_board, model, crc=0x12345678)
    info = board_info(native_board)
    assert info["info"]["model_source"] == "default"
    other = tmp_path / "other.tflite"
    other.write_bytes(model)
    with pytest.raises(ModelMismatchError, match="board runs model crc32="):
        run_bench(board=native_board, model=other, out=tmp_path / "o", upload=False, progress=False)


def test_device_error_in_a_step_is_recorded_not_fatal(native_board, model_path, tmp_path):
    def hook(step, board):
        if step == "latency/0":
            board.cmd("reds-select 999")  # raises DeviceError inside the step

    res = run_bench(board=native_board, model=model_path, out=tmp_path / "o", runs=2,
                    switch_runs=2, inputs=0, progress=False, plots=False, step_hook=hook)
    assert res["errors"][0]["step"] == "latency/0" and "subnet out of range" in res["errors"][0]["error"]
    assert [x["subnet"] for x in res["latency"]] == list(range(1, len(res["model"]["subnets"])))


def test_cli_run_and_info(host_program, model_path, tmp_path, capsys):
    prog = str(host_program)
    rc = reds_main(["bench", "run", "--target", "native", "--firmware", prog, "--model", str(model_path),
                     "--out", str(tmp_path / "o"), "--runs", "3", "--switch-runs", "5",
                     "--inputs", "1", "--no-plots"])
    res = json.loads((tmp_path / "o" / "results.json").read_text())
    expect_rc = 1 if any(c["bit_exact"] is False for c in res["correctness"]) else 0
    assert rc == expect_rc
    capsys.readouterr()
    assert reds_main(["bench", "info", "--target", "native", "--firmware", prog, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["info"]["target"] == "native" and info["timer"]["unit"] == "ns"
    assert reds_main(["bench", "send", "--target", "native", "--firmware", prog, "reds-select 1"]) == 0
    assert "m-reds-select subnet=1" in capsys.readouterr().out
    assert reds_main(["bench", "send", "--target", "native", "--firmware", prog, "reds-select 77"]) == 2
    assert "subnet out of range" in capsys.readouterr().err
    assert reds_main(["bench", "run", "--model", str(model_path), "--out", str(tmp_path / "x")]) == 2


def test_torn_journal_line_is_repaired_and_second_resume_measures_nothing(native_board, model_path,
                                                                          tmp_path):
    """A crash cut the journal's last line: the resume measures that step again (and only the
    steps never finished), writes no line onto the fragment, and a second resume measures
    nothing."""
    out = tmp_path / "out"

    def stop_at_correctness(step, board):
        if step == "correctness/0":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_bench(board=native_board, model=model_path, out=out, runs=3, switch_runs=5, inputs=1,
                  progress=False, plots=False, step_hook=stop_at_correctness)
    path = out / "journal.jsonl"
    lines = path.read_text().splitlines()
    last_step = max(i for i, x in enumerate(lines) if json.loads(x)["type"] == "step")
    torn_step = json.loads(lines[last_step])["step"]
    path.write_text("".join(x + "\n" for x in lines[:last_step]) + lines[last_step][:40])

    calls = []
    run_bench(board=native_board, model=model_path, out=out, runs=3, switch_runs=5, inputs=1,
              progress=False, plots=False, resume=True, step_hook=lambda s, b: calls.append(s))
    assert calls[0] == torn_step and "adaptation" not in calls
    entries = [json.loads(x) for x in path.read_text().splitlines()]  # every line is whole JSON
    assert any(e["type"] == "event" and e["event"] == "torn-line" for e in entries)
    assert (out / "journal.jsonl.torn").read_text() == lines[last_step][:40] + "\n"

    calls.clear()
    res = run_bench(board=native_board, model=model_path, out=out, runs=3, switch_runs=5,
                    inputs=1, progress=False, plots=False, resume=True,
                    step_hook=lambda s, b: calls.append(s))
    assert calls == []
    assert [x["subnet"] for x in res["latency"]] == list(range(len(res["model"]["subnets"])))


def test_profile_of_a_plain_model_fills_the_shape_columns(model_path, tmp_path):
    import hostbuild
    from reds.tflite.flatbuffer import load_model
    from reds.tflite.metadata import remove_metadata
    from reds_bench.board.factory import create_board
    from reds_bench.measure.profile import markdown, profile_model

    program = hostbuild.build(tmp_path / "fw", extra=["-DREDS_PROFILE"])
    plain = remove_metadata(model_path.read_bytes())
    with create_board("native", firmware=program, log_dir=tmp_path / "logs", timeout=20) as board:
        res = profile_model(board, plain)
    m = load_model(plain)
    ops = res["subnets"][0]["ops"]
    assert len(ops) == len(m.operators)
    for op, mop in zip(ops, m.operators):
        assert op["in"] == list(m.tensors[mop.inputs[0]].shape)
        assert op["out"] == list(m.tensors[mop.outputs[0]].shape)
    first_row = next(line for line in markdown(res).splitlines() if line.startswith("| 0 |"))
    assert "| 1x16 |" in first_row  # the default model's input, [1, 16]
