"""Build the firmware application as a host program with plain gcc (no PlatformIO), for the
protocol tests, the fuzzer and the bench's end-to-end tests.

Sources: boards/firmware/*.c + the runtime (boards/runtime/src, kernels) + the native HAL
(boards/targets/native).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from reds.runtime.sources import REPO_ROOT as REPO
from reds.runtime.sources import include_flags, portable_sources, scheduler_sources

FW = REPO / "boards" / "firmware"
HAL = REPO / "boards" / "targets" / "native" / "hal_native.c"
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-g"]
SANITIZE = ["-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
            "-fno-omit-frame-pointer"]


def build(out_dir: Path, sanitize: bool = False, extra: list[str] = ()) -> Path:
    """Compile the host firmware; returns the program. Raises with the compiler's errors."""
    out_dir.mkdir(parents=True, exist_ok=True)
    prog = out_dir / ("program-asan" if sanitize else "program")
    cmd = ["gcc", *CFLAGS, *(SANITIZE if sanitize else ["-O2"]), *extra, f"-I{FW}",
           *include_flags(),
           *map(str, sorted(FW.glob("*.c"))), *map(str, portable_sources() + scheduler_sources()), str(HAL),
           "-o", str(prog), "-lm"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"host firmware build failed:\n{p.stderr[-3000:]}")
    return prog


def run_stdio(prog: Path, data: bytes, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Feed ``data`` on stdin (--stdio mode), return the finished process (stdout bytes)."""
    return subprocess.run([str(prog), "--stdio"], input=data, capture_output=True, timeout=timeout)
