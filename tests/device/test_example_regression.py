"""Example device regression test using the reds_bench pytest plugin.

Runs on whatever board the options name, and is skipped without one:

    pytest tests/device --reds-target native            # host build (PlatformIO env native)
    pytest tests/device --reds-target qemu_m4           # QEMU Cortex-M4 with -icount
    pytest tests/device --reds-hardware-map boards.yaml --reds-board nano-1

Copy it to start a regression suite for your own model (`--reds-model my.tflite` for the
golden; the board must run that model, e.g. built with REDS_MODEL_SOURCE). The plugin gives the
fixtures (`board`, `board_info`, `golden`) and the `hil` marker; the measurements come from the
public `reds_bench.measure.device` (docs/bench.md, "Writing your own device test").
"""
import pytest

from reds_bench.measure import device

pytestmark = pytest.mark.hil


@pytest.fixture
def info(board_info):
    """The board's reds-info (the plugin's `board_info` fixture, read once per session)."""
    return board_info


def test_board_runs_the_expected_model(board, golden, info):
    assert int(info["info"]["model_crc32"], 16) == golden.crc32, \
        "the board runs another model than --reds-model"


def test_every_subnet_selects_and_reports_its_macs(board, info):
    for s in info["subnets"]:
        d = board.kv(f"reds-select {s['index']}", "reds-select")
        assert d["subnet"] == s["index"] and d["macs"] == s["macs"]


def test_subnets_are_nested_and_cheaper(info):
    subs = info["subnets"]
    for big, small in zip(subs, subs[1:]):
        assert small["macs"] <= big["macs"]
        assert all(w_s <= w_b for w_s, w_b in zip(small["widths"], big["widths"]))


def test_full_model_is_bit_exact_with_tflm(board, golden, info):
    for x in golden.inputs(3, seed=1):
        assert device.outputs(board, 0, x) == golden(0, x, info)


@pytest.mark.parametrize("subnet", [1, 2, 3])
def test_subnet_is_bit_exact_with_sliced_tflm(board, golden, info, subnet):
    if subnet >= len(info["subnets"]):
        pytest.skip(f"model has {len(info['subnets'])} subnets")
    x = golden.inputs(1, seed=subnet)[0]
    assert device.outputs(board, subnet, x) == golden(subnet, x, info)


def test_switching_is_constant_time(board):
    ticks = device.switch_ticks(board, runs=100)
    flat = [v for row in ticks for v in row]
    # O(1) select: no entry may be far above the others (a loop over layers would show up)
    assert max(flat) <= 4 * max(1.0, min(flat)), ticks


def test_smallest_subnet_costs_fewer_instructions(board, info):
    """Under QEMU -icount a cost is an instruction count, repeatable to one timer tick, so it
    may be asserted; a board with a clock measures time, which a unit test does not assert."""
    full = device.latency(board, 0, runs=5)
    if full.unit != "instructions":
        pytest.skip(f"this board measures time ({full.unit}): compare times in a benchmark")
    smallest = device.latency_instructions(board, info["subnets"][-1]["index"], runs=5)
    assert smallest < full.median
