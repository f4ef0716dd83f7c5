"""The STM32F405 image (the real chip's firmware) in QEMU's netduinoplus2: timer detection,
exact instruction counts from a 168 MHz SysTick, the chip's RAM, parity with qemu_m4."""
from fractions import Fraction

import pytest

from reds_bench.board import fit, protocol
from reds_bench.board.factory import create_board
from reds_bench.board.info import board_info
from reds_bench.measure.profile import profile_subnet

pytestmark = pytest.mark.qemu

EMULATED_CPU_HZ = 168_000_000  # QEMU's netduinoplus2 clocks its core (and SysTick) at 168 MHz
CHIP_SRAM = 128 * 1024


@pytest.fixture(scope="module")
def stm32(firmware_program):
    with create_board("stm32f405", firmware=firmware_program("stm32f405")) as board:
        yield board


def test_timer_is_the_emulated_systick_with_an_exact_ratio(stm32):
    timer = board_info(stm32)["timer"]
    # DWT CYCCNT does not run in QEMU: the firmware must notice and say what it counts instead.
    assert timer["source"] == "systick_emulated" and timer["unit"] == "systick"
    assert timer["hz"] == EMULATED_CPU_HZ
    # -icount shift=0: 1 instruction = 1 ns, so a tick is 10^9 / 168e6 = 125/21 instructions.
    want = Fraction(10**9, EMULATED_CPU_HZ)
    assert str(timer["instructions_per_tick"]) == f"{want.numerator}/{want.denominator}"
    assert protocol.instructions_per_tick(timer["instructions_per_tick"]) == float(want)


def test_instruction_counts_use_the_exact_ratio(stm32):
    d = stm32.kv("reds-bench 0 9 1", "reds-bench")
    ratio = Fraction(10**9, EMULATED_CPU_HZ)
    assert d["median"] > 0
    assert d["instr_median"] == round(d["median"] * ratio)


def test_work_ram_is_what_the_chips_128k_leave(stm32, firmware_program):
    build = board_info(stm32)["build"]
    elf = firmware_program("stm32f405")
    assert build["work_ram_bytes"] == fit.work_ram_bytes(elf)
    assert 32 * 1024 < build["work_ram_bytes"] < CHIP_SRAM
    parts = (build["arena_capacity"] + 2 * build["model_slot_bytes"] + build["input_max"])
    assert parts <= build["work_ram_bytes"]


def test_instructions_per_inference_match_qemu_m4(stm32, firmware_program):
    """Same core, same code: the cost of an inference transfers from qemu_m4 (25 MHz SysTick,
    40 instructions a tick) to the STM32 image (125/21). Summed over many runs, the tick phase
    averages out."""
    runs = 64
    a = profile_subnet(stm32, 0, runs)["total_instructions"]
    with create_board("qemu_m4", firmware=firmware_program("qemu_m4")) as m4:
        b = profile_subnet(m4, 0, runs)["total_instructions"]
    assert a > 0 and b > 0
    assert abs(a - b) <= 0.01 * b, (a, b)
