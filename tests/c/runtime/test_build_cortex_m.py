"""The portable runtime compiles for Cortex-M4 (hard float), with and without the DSP path."""

from __future__ import annotations

import subprocess

import pytest
from reds.runtime.sources import WARNINGS, include_flags, portable_sources

FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", *WARNINGS, "-O2",
         "-ffreestanding"]


@pytest.mark.parametrize("extra", [[], ["-DREDS_USE_DSP"]], ids=["portable", "dsp"])
def test_compiles_for_cortex_m4(tmp_path, extra):
    for src in portable_sources():
        cmd = ["arm-none-eabi-gcc", *FLAGS, *extra, *include_flags(), "-c", str(src),
               "-o", str(tmp_path / (src.stem + ".o"))]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, f"{src.name}:\n{proc.stderr}"
    if extra:  # the DSP build really uses SMLAD
        dis = subprocess.run(["arm-none-eabi-objdump", "-d", str(tmp_path / "conv2d_s8.o")],
                             capture_output=True, text=True).stdout
        assert "smlad" in dis
