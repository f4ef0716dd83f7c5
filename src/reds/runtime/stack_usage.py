"""Worst-case stack depth of the C runtime's entry points, from GCC's call-graph information.

The runtime has no heap and takes one caller-supplied arena; the only other memory it uses is
the calling thread's stack, where kernels keep small per-call tables (im2col patches, packed
weights, the depthwise row ring). This compiles ``boards/runtime`` for a target's CPU with
``-fcallgraph-info=su`` (GCC >= 10: one ``.ci`` file per unit, every function's frame size and
its direct calls) and takes the deepest path from each entry point. Library routines (memcpy,
memset, the EABI helpers) count as 0 bytes: newlib's are leaf functions with frames of a few
words. The numbers are exact for the compiled code because the runtime's only indirect calls go
through its table of ops (``reds_op_kernel_t`` entries in the kernel files), whose targets are
read from those initializers, and it has no recursion or variable-length arrays; an indirect call
with no such table, recursion or a variable-length array makes `analyse` raise.
"""
from __future__ import annotations

import configparser
import re
import shlex
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from reds.errors import UserError
from reds.runtime.sources import REPO_ROOT, RUNTIME_DIR, portable_sources

RUNTIME = RUNTIME_DIR
ENTRY_POINTS = ("reds_init", "reds_select", "reds_invoke")
_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
_FRAME = re.compile(r"\\n(\d+) bytes \(([a-z,]+)\)")
# `const reds_op_kernel_t reds_op_x = {.options_type = TAG, .options = f, .prepare = f, ...};`
_OP_ENTRY = re.compile(r"const\s+reds_op_kernel_t\s+\w+\s*=\s*\{([^}]*)\}\s*;")
_OP_FUNCTION = re.compile(r"\.(?:options|prepare|check|eval)\s*=\s*([A-Za-z_]\w*)")


@dataclass
class StackReport:
    """Frames and worst-case depths of one build of the runtime."""

    variant: str
    frames: dict[str, int]                      # function -> own frame bytes
    depth: dict[str, int]                       # entry point -> worst-case bytes
    path: dict[str, list[str]] = field(default_factory=dict)  # entry point -> deepest chain

    def to_json(self) -> dict:
        return {"variant": self.variant, "depth": self.depth, "path": self.path,
                "largest_frames": dict(sorted(self.frames.items(), key=lambda kv: -kv[1])[:10])}


def compiler_for(env: str, dsp: bool | None = None) -> list[str]:
    """The compiler and CPU flags of a PlatformIO env (from platformio.ini); `dsp` overrides
    whether -DREDS_USE_DSP is set (default: as the env builds)."""
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(REPO_ROOT / "platformio.ini")
    section = f"env:{env}"
    if not ini.has_section(section):
        raise UserError(f"no env {env!r} in platformio.ini")
    flags = shlex.split(ini.get(section, "custom_cpu_flags", fallback=""))
    use_dsp = "-DREDS_USE_DSP" in ini.get(section, "build_flags", fallback="") if dsp is None else dsp
    cc = "arm-none-eabi-gcc" if flags else "gcc"
    return [cc, *flags, "-O2", *(["-DREDS_USE_DSP"] if use_dsp else [])]


def callgraph(cc: list[str], workdir: Path, sources: list[Path]
              ) -> tuple[dict[str, int], dict[str, set[str]]]:
    """Compile `sources` with -fcallgraph-info=su; frames and call edges."""
    frames: dict[str, int] = {}
    calls: dict[str, set[str]] = {}
    for src in sources:
        obj = workdir / f"{src.parent.name}_{src.stem}.o"
        cmd = [*cc, "-I", str(RUNTIME / "include"), "-I", str(RUNTIME / "src"),
               "-I", str(RUNTIME / "kernels"), "-fcallgraph-info=su", "-c", str(src), "-o", str(obj)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
        except FileNotFoundError:
            raise UserError(f"{cc[0]} not found (run `make bootstrap`)") from None
        if proc.returncode != 0:
            raise UserError(f"compiling {src.name} failed:\n{proc.stderr[-2000:]}")
        text = obj.with_suffix(".ci").read_text()
        for name, label in _NODE.findall(text):
            m = _FRAME.search(label)
            if m is None:
                continue  # an external declaration (library routine)
            if m.group(2) == "dynamic":  # "dynamic,bounded" (e.g. realignment) has a bound
                raise UserError(f"{name}: unbounded stack frame (variable-length array or alloca)")
            frames[name] = int(m.group(1))
        for a, b in _EDGE.findall(text):
            calls.setdefault(a, set()).add(b)
    return frames, calls


def op_table_targets(sources: list[Path]) -> set[str]:
    """Functions named in the runtime's op table entries: the targets of its indirect calls."""
    names: set[str] = set()
    for src in sources:
        for body in _OP_ENTRY.findall(src.read_text()):
            names.update(f for f in _OP_FUNCTION.findall(body) if f != "NULL")
    return names


def _resolve(name: str, frames: dict[str, int]) -> str:
    """Extern references name the callee without its file prefix; map them to the definition."""
    if name in frames:
        return name
    hits = [f for f in frames if f.endswith(":" + name)]
    return hits[0] if len(hits) == 1 else name


def analyse(variant: str, cc: list[str], sources: list[Path] | None = None,
            entry_points: tuple[str, ...] = ENTRY_POINTS) -> StackReport:
    """Worst-case stack bytes of each entry point (default: the runtime's public calls)."""
    with tempfile.TemporaryDirectory() as tmp:
        frames, calls = callgraph(cc, Path(tmp), sources or portable_sources())
    indirect = op_table_targets(sources or portable_sources())
    for targets in calls.values():
        if "__indirect_call" in targets:
            if not indirect:
                raise UserError("the runtime makes indirect calls: worst-case stack cannot be bounded")
            targets.discard("__indirect_call")
            targets.update(indirect)
    memo: dict[str, tuple[int, list[str]]] = {}

    def deepest(fn: str, active: tuple[str, ...]) -> tuple[int, list[str]]:
        if fn in active:
            raise UserError(f"recursion: {' -> '.join(active + (fn,))}")
        if fn not in memo:
            best: tuple[int, list[str]] = (0, [])
            for callee in calls.get(fn, ()):
                callee = _resolve(callee, frames)
                if callee in frames:
                    best = max(best, deepest(callee, active + (fn,)), key=lambda t: t[0])
            memo[fn] = (frames.get(fn, 0) + best[0], [fn, *best[1]])
        return memo[fn]

    depth, path = {}, {}
    for entry in entry_points:
        d, chain = deepest(_resolve(entry, frames), ())
        depth[entry] = d
        path[entry] = [c.rsplit(":", 1)[-1] for c in chain]
    short = {k.rsplit(":", 1)[-1]: v for k, v in frames.items()}
    return StackReport(variant, short, depth, path)
