"""Build the firmware application as a host program with plain gcc (no PlatformIO), for the
protocol tests, the fuzzer and the bench's end-to-end tests.

Sources: boards/firmware/*.c + the runtime + the native HAL (boards/targets/native). The real
runtime (boards/runtime/src, kernels) is used when it compiles; otherwise a stand-in
(tests/firmware/stub_runtime) so the protocol layer can be tested on its own. ``RuntimeKind``
tells the tests which one they got: only the real runtime can be bit-exact.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FW = REPO / "boards" / "firmware"
STUB = Path(__file__).resolve().parent / "stub_runtime"
HAL = REPO / "boards" / "targets" / "native" / "hal_native.c"
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-g"]
SANITIZE = ["-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
            "-fno-omit-frame-pointer"]


def _real_runtime_sources() -> list[Path]:
    rt = REPO / "boards" / "runtime"
    return sorted((rt / "src").glob("*.c")) + sorted((rt / "kernels").glob("*.c"))


def build(out_dir: Path, sanitize: bool = False, runtime: str = "auto",
          extra: list[str] = ()) -> tuple[Path, str]:
    """Compile; returns (program, "real" | "stub")."""
    if shutil.which("gcc") is None:
        raise RuntimeError("gcc not found")
    out_dir.mkdir(parents=True, exist_ok=True)
    prog = out_dir / ("program-asan" if sanitize else "program")
    fw_src = sorted(FW.glob("*.c"))
    base = ["gcc", *CFLAGS, *(SANITIZE if sanitize else ["-O2"]), *extra, f"-I{FW}"]
    errors = ""
    if runtime in ("auto", "real") and _real_runtime_sources():
        cmd = base + [f"-I{REPO / 'boards/runtime/include'}", f"-I{REPO / 'boards/runtime/src'}",
                      *map(str, fw_src), *map(str, _real_runtime_sources()), str(HAL),
                      "-o", str(prog), "-lm"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode == 0:
            return prog, "real"
        errors = p.stderr[-3000:]
        if runtime == "real":
            raise RuntimeError(f"firmware + real runtime do not compile:\n{errors}")
    cmd = base + [f"-I{STUB}", f"-I{REPO / 'boards/runtime/include'}", *map(str, fw_src),
                  str(STUB / "reds_stub.c"), str(HAL), "-o", str(prog)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"host firmware build failed:\n{p.stderr[-3000:]}")
    return prog, "stub"


def run_stdio(prog: Path, data: bytes, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Feed ``data`` on stdin (--stdio mode), return the finished process (stdout bytes)."""
    return subprocess.run([str(prog), "--stdio"], input=data, capture_output=True, timeout=timeout)


QEMU_CPU = {
    "qemu_m4": (["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
                "mps2_an386.ld", ["-DREDS_UART0_BASE=0x40004000u", "-DREDS_SYSCLK_HZ=25000000u",
                                  '-DREDS_TARGET_NAME="qemu_m4"']),
    "qemu_m33": (["-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"],
                 "mps2_an505.ld", ["-DREDS_UART0_BASE=0x50200000u", "-DREDS_SYSCLK_HZ=20000000u",
                                   '-DREDS_TARGET_NAME="qemu_m33"']),
}


def build_arm(out_dir: Path, env: str = "qemu_m4", runtime: str = "auto") -> tuple[Path, str]:
    """Cross-build the QEMU ELF directly with arm-none-eabi-gcc (same flags as the
    reds_qemu PlatformIO platform), for testing the firmware before `pio run` works."""
    cpu, ld, defs = QEMU_CPU[env]
    tq = REPO / "boards" / "targets" / "qemu_mps2"
    out_dir.mkdir(parents=True, exist_ok=True)
    elf = out_dir / "firmware.elf"
    base = ["arm-none-eabi-gcc", *CFLAGS, "-O2", *cpu, *defs, "-ffunction-sections",
            "-fdata-sections", f"-I{FW}"]
    link = ["-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections",
            f"-L{REPO}", f"-T{tq / ld}", "-o", str(elf), "-lc", "-lm", "-lgcc"]
    tsrc = [str(p) for p in sorted(tq.glob("*.c"))]
    fw = [str(p) for p in sorted(FW.glob("*.c"))]
    errors = ""
    if runtime in ("auto", "real") and _real_runtime_sources():
        p = subprocess.run(base + [f"-I{REPO / 'boards/runtime/include'}",
                                   f"-I{REPO / 'boards/runtime/src'}", *fw,
                                   *map(str, _real_runtime_sources()), *tsrc, *link],
                           capture_output=True, text=True)
        if p.returncode == 0:
            return elf, "real"
        errors = p.stderr[-3000:]
        if runtime == "real":
            raise RuntimeError(f"ARM build with the real runtime failed:\n{errors}")
    p = subprocess.run(base + [f"-I{STUB}", f"-I{REPO / 'boards/runtime/include'}", *fw,
                               str(STUB / "reds_stub.c"), *tsrc, *link],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"ARM build failed:\n{p.stderr[-3000:]}")
    return elf, "stub"
