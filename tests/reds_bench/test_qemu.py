"""End to end through reds_bench on the PlatformIO-built firmware: `native` and `qemu_m4`.

These build with `pio run -e ENV` (the project's local platforms, `make bootstrap` first) and
boot QEMU with -icount, so they are marked `qemu` (slow, need the Arm toolchain and QEMU).
"""
import json
import zlib

import pytest

from reds_bench.board.info import board_info
from reds_bench.measure import steps as measure
from reds_bench.board.factory import create_board
from reds_bench.measure.runner import run_bench

from faults import kill_after_sending

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module", params=["native", "qemu_m4"])
def built(request, firmware_program):
    return request.param, firmware_program(request.param)


def test_bench_run_pio_firmware(built, model_path, tmp_path):
    env, fw = built
    res = run_bench(env, model=model_path, out=tmp_path / "out", firmware=fw, runs=10,
                    switch_runs=200, inputs=2, progress=False)
    assert res["board"]["env"] == env
    assert res["model"]["crc32"] == f"{zlib.crc32(model_path.read_bytes()):08x}"
    k = len(res["model"]["subnets"])
    assert len(res["latency"]) == k and len(res["adaptation"]["matrix_ticks"]) == k
    if env.startswith("qemu"):
        assert res["board"]["timer_unit"] == "systick"
        assert res["adaptation"]["instructions_per_switch"] is not None
        assert all(x["instructions"] for x in res["latency"])
        assert res["memory"]["flash_bytes"] > 0
    c0 = res["correctness"][0]
    assert c0["bit_exact"], f"subnet 0 differs from TFLM: {c0}"
    assert not res.get("errors"), res.get("errors")


def test_qemu_icount_is_repeatable(firmware_program):
    """With -icount the same inference takes the same number of instructions every time; the
    reading varies by at most one SysTick tick (the phase of the tick)."""
    env, fw = "qemu_m4", firmware_program("qemu_m4")
    with create_board(env, firmware=fw) as b:
        ipt = board_info(b)["timer"]["instructions_per_tick"]
        a = measure.latency(b, 0, 20)
        c = measure.latency(b, 0, 20)
    assert a["cost_unit"] == "instructions"
    assert a["max_instructions"] - a["min_instructions"] <= ipt
    assert abs(a["median_instructions"] - c["median_instructions"]) <= ipt


def test_qemu_killed_mid_latency_recovers(firmware_program, model_path, tmp_path):
    """QEMU dies right after a `reds-bench` command is sent: the runner restarts QEMU,
    re-selects and retries the step; the run completes and the reset is journaled."""
    killed = []

    def hook(step, board):
        if step == "latency/2" and not killed:
            kill_after_sending(board, b"reds-bench", killed)

    out = tmp_path / "out"
    res = run_bench("qemu_m4", model=model_path, out=out, firmware=firmware_program("qemu_m4"),
                    runs=5, switch_runs=20, inputs=1, progress=False, plots=False, step_hook=hook)
    assert len(killed) == 1
    events = [e for e in map(json.loads, (out / "journal.jsonl").read_text().splitlines())
              if e["type"] == "event"]
    assert [(e["step"], e["event"]) for e in events] == [("latency/2", "reset")]
    assert [x["subnet"] for x in res["latency"]] == list(range(len(res["model"]["subnets"])))
    assert all(x["instructions"] > 0 for x in res["latency"])
    assert all(c["bit_exact"] for c in res["correctness"])
