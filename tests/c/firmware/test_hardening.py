"""Serial hardening (issue 18, findings 3 and 4) on the host build of the firmware.

* Every count a command multiplies work by is bounded and checked before any work: a huge
  count gets one error line at once and the board answers the next command.
* A command that repeats work stops at the time budget (FW_COMMAND_BUDGET_MS).
* A rejected upload leaves the board as it was: model, source, active subnet, loaded input
  and the last results.
"""
import re
import zlib

import pytest

import hostbuild
from fwclient import exchange, kv, upload

MODEL = (hostbuild.FW / "default_model.tflite").read_bytes()

BIG = 4294967295


@pytest.mark.parametrize("cmd,msg", [
    (f"infer 1 {BIG}", f"warm-ups out of range warmup={BIG} max=256"),
    (f"infer {BIG} 0", f"runs out of range runs={BIG} max=256"),
    ("infer 257 0", "runs out of range runs=257 max=256"),
    ("infer 1 257", "warm-ups out of range warmup=257 max=256"),
    (f"reds-bench 0 1 {BIG}", f"warm-ups out of range warmup={BIG} max=256"),
    (f"reds-bench 0 {BIG} 0", f"runs out of range runs={BIG} max=256"),
    (f"reds-switch {BIG}", "usage: reds-switch N with 1 <= N <= max=100000"),
    ("reds-switch 100001", "usage: reds-switch N with 1 <= N <= max=100000"),
    (f"db load {BIG}", f"input too large bytes={BIG} max="),
    (f"model-load {BIG}", f"model too large bytes={BIG} max="),
])
def test_counts_are_bounded_before_any_work(host_program, cmd, msg):
    # before the bounds, `infer 1 4294967295` ran 2^32 warm-ups and the board went silent;
    # the whole exchange must now finish at once (run_stdio's timeout fails the test)
    r = exchange(host_program, "db load 16", "db " + "00" * 16, cmd, "name", timeout=10)
    errors = [ln for reply in r for ln in reply if ln.startswith("e-[")]
    assert len(errors) == 1 and errors[0].startswith("e-[" + msg), errors
    assert r[-1] == ["m-name-dut-[reds-native]"]


@pytest.fixture(scope="module")
def short_budget_fw(tmp_path_factory):
    """A host build whose command time budget is 1 ms."""
    return hostbuild.build(tmp_path_factory.mktemp("fw-budget"), extra=["-DFW_COMMAND_BUDGET_MS=1"])


def test_long_command_stops_at_the_time_budget(host_program, short_budget_fw):
    # 4 subnets x 9 loops x 100000 runs of reds_select takes far more than 1 ms on any host
    normal = exchange(host_program, "reds-switch 100000")[1]
    assert not any(ln.startswith("e-[") for ln in normal), "the default budget must allow it"
    r = exchange(short_budget_fw, "reds-switch 100000", "name")
    errors = [ln for ln in r[1] if ln.startswith("e-[")]
    assert len(errors) == 1, r[1]
    assert re.fullmatch(r"e-\[time budget exceeded: switch matrix (rows|entries) done=\d+ of=\d+ "
                        r"budget_ms=1\]", errors[0]), errors[0]
    assert r[2] == ["m-name-dut-[reds-native]"]
    _, info = exchange(short_budget_fw, "reds-info")
    assert "budget_ms=1" in info[2] and "max_warmup=256" in info[2]


def rejected_model() -> bytes:
    """A file the runtime refuses (truncated flatbuffer) with a correct CRC, so the upload
    reaches reds_init and is rejected there."""
    return MODEL[: len(MODEL) // 2]


def state(prog_replies, at):
    """(reds-info line as dict, results lines) of the replies at index `at`, `at + 1`."""
    return kv(prog_replies[at][0]), prog_replies[at + 1]


@pytest.mark.parametrize("start", ["default", "upload"])
def test_rejected_upload_leaves_the_board_as_it_was(host_program, start):
    x = bytes(range(200, 216))
    setup = [] if start == "default" else upload(MODEL)
    setup += ["reds-select 2", "db load 16", "db " + x.hex(), "infer 1 0"]
    bad = upload(rejected_model())
    r = exchange(host_program, *setup, "reds-info", "results", *bad, "reds-info", "results",
                 "infer 1 0", "results")
    n0 = 1 + len(setup)
    before_info, before_results = state(r, n0)
    commit = r[n0 + 2 + len(bad) - 1]
    assert commit[0].startswith("e-[model rejected, previous model kept"), commit
    after_info, after_results = state(r, n0 + 2 + len(bad))
    # before the fix the rejected commit re-initialised the old model: active subnet 0, no results
    for key in ("model_ok", "model_source", "model_crc32", "model_bytes", "active"):
        assert after_info[key] == before_info[key], key
    assert before_info["active"] == 2 and before_info["model_source"] == start
    assert after_results == before_results and before_results[0].startswith("m-results-[")
    assert "subnet=2" in after_results[1]
    # the loaded input is still there: infer runs without a new db load and gives the same
    again = r[n0 + 2 + len(bad) + 2]
    assert not any(ln.startswith("e-[") for ln in again), again
    assert r[n0 + 2 + len(bad) + 3] == before_results


def test_crc_mismatch_and_incomplete_uploads_change_nothing(host_program):
    r = exchange(host_program, "reds-select 3", "reds-info", *upload(MODEL, crc=1), "reds-info",
                 "model-load 64", "model-data 00", "model-commit 00000000", "reds-info")
    before = kv(r[2][0])
    n = 3 + len(upload(MODEL))
    assert r[n - 1][0].startswith("e-[model crc mismatch")
    assert kv(r[n][0]) == before
    assert r[n + 3][0].startswith("e-[model incomplete") and kv(r[n + 4][0]) == before
    assert before["active"] == 3 and before["model_crc32"] == f"{zlib.crc32(MODEL):08x}"


@pytest.mark.parametrize("work_kb", [512, 1024])
def test_buffers_are_carved_from_the_work_ram_in_the_documented_shares(tmp_path, work_kb):
    """docs/boards.md: input 1/16, each upload slot 5/16 (whole KB), the arena the rest after
    the runtime's context; so the sizes follow the board's RAM, not a constant."""
    prog = hostbuild.build(tmp_path, extra=[f"-DREDS_WORK_RAM_BYTES={work_kb * 1024}"])
    _, info = exchange(prog, "reds-info")
    build = kv(info[2])
    work = work_kb * 1024
    sixteenth = work // 16 // 1024 * 1024
    assert int(build["work_ram_bytes"]) == work
    assert int(build["input_max"]) == sixteenth
    assert int(build["model_slot_bytes"]) == 5 * sixteenth
    context = work - 11 * sixteenth - int(build["arena_capacity"])
    assert 0 < context < 64 * 1024, "the rest (minus the context) is the arena"
    r = exchange(prog, f"db load {sixteenth + 1}", f"model-load {5 * sixteenth + 1}")
    assert r[1][0].startswith(f"e-[input too large bytes={sixteenth + 1} max={sixteenth}]")
    assert r[2][0].startswith(f"e-[model too large bytes={5 * sixteenth + 1} max={5 * sixteenth}]")
