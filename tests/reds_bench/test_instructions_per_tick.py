"""`instructions_per_tick` as boards report it: a whole number, an exact fraction, or 0."""
from fractions import Fraction

from reds_bench.board import protocol


def test_whole_number_stays_an_int():
    _, d = protocol.parse_kv("m-reds-timer unit=systick hz=25000000 instructions_per_tick=40")
    ipt = protocol.instructions_per_tick(d["instructions_per_tick"])
    assert ipt == 40 and isinstance(ipt, int)


def test_fraction_is_the_exact_ratio():
    _, d = protocol.parse_kv("m-reds-timer unit=systick hz=168000000 "
                             "instructions_per_tick=125/21 source=systick_emulated")
    ipt = protocol.instructions_per_tick(d["instructions_per_tick"])
    assert ipt == float(Fraction(125, 21))


def test_no_instruction_count_is_zero():
    assert protocol.instructions_per_tick(0) == 0
    assert protocol.instructions_per_tick(None) == 0
    assert protocol.instructions_per_tick("0") == 0


def test_a_stored_number_passes_through():
    assert protocol.instructions_per_tick(5.952380952380952) == 5.952380952380952
    assert protocol.instructions_per_tick(50) == 50
