"""The kernels' fast requantization (reds_rq, reds_rqf, reds_pack4_s8 in kernels/reds_dot.h)
equals the reference reds_requantize + clamp on ~17 M inputs (all shifts, edge multipliers,
edge / random / tie-prone accumulators), compiled with UBSan (portable C path; the DSP asm
versions are covered end to end by test_qemu_bitexact.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RUNTIME = HERE.parents[1] / "boards" / "runtime"


def test_fast_requantize_equals_reference(tmp_path):
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.fail("no C compiler (gcc) on PATH")
    exe = tmp_path / "rq_check"
    subprocess.run([cc, "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-fsanitize=undefined",
                    "-fno-sanitize-recover", "-I", str(RUNTIME / "include"),
                    "-I", str(RUNTIME / "kernels"), str(HERE / "c" / "rq_check.c"), "-o", str(exe)],
                   check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("ok "), out.stdout + out.stderr
