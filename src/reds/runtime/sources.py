"""The one list of the C runtime's sources, include folders and warning flags: the host
library, the test harnesses and the stack-usage analysis all build from here."""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
RUNTIME_DIR = REPO_ROOT / "boards" / "runtime"
INCLUDE_DIRS = [RUNTIME_DIR / d for d in ("include", "src", "kernels")]
WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Werror"]


def portable_sources() -> list[Path]:
    """The runtime itself: what every target compiles (DSP files compile to nothing off Arm)."""
    return sorted((RUNTIME_DIR / "src").glob("*.c")) + sorted((RUNTIME_DIR / "kernels").glob("*.c"))


def scheduler_sources() -> list[Path]:
    """The on-device scheduler (``reds_sched``), which firmware links beside the runtime."""
    return sorted((RUNTIME_DIR / "sched").glob("*.c"))


def host_sources() -> list[Path]:
    """The host library: the portable runtime plus the host timing helper."""
    return portable_sources() + [RUNTIME_DIR / "host" / "reds_host.c"]


def include_flags() -> list[str]:
    return [f"-I{d}" for d in INCLUDE_DIRS]
