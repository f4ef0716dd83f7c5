"""The kernels' fast requantization (reds_rq, reds_rqf, reds_pack4_s8 in kernels/reds_dot.h)
equals the reference reds_requantize + clamp on ~17 M inputs (all shifts, edge multipliers,
edge / random / tie-prone accumulators), compiled with UBSan (portable C path; the DSP asm
versions are covered end to end by test_qemu_bitexact.py)."""

from __future__ import annotations

from pathlib import Path

from modelgen import run_c_check

HERE = Path(__file__).resolve().parent


def test_fast_requantize_equals_reference(tmp_path):
    run_c_check(HERE / "c" / "rq_check.c", tmp_path, timeout=120)
