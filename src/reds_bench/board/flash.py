"""Flashing: put a firmware ELF on a board, one function per method of the hardware map's
``flash:`` key (:data:`METHODS`), each bounded in time and failing in one line that names the
cause and, for a missing tool, the package that provides it.

- ``gdb``: any GDB server (QEMU's ``-gdb`` stub, OpenOCD, pyOCD's gdbserver, SEGGER's J-Link GDB
  server): ``gdb-multiarch`` loads the ELF, checks it with ``compare-sections``, resets, detaches.
- ``openocd``: OpenOCD with the entry's interface and target configs, ``program ELF verify reset``.
- ``pyocd``: ``pyocd flash`` with the entry's target (a CMSIS pack for targets it lacks).
- ``pio``: PlatformIO's ``-t upload`` (it builds and flashes the env's own firmware).
- ``none``: the board is already flashed.

    from reds_bench.board.flash import flash
    done = flash(spec, Path(".pio/build/stm32f405/firmware.elf"))
    print(done.summary())
"""
from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reds_bench.board import firmware as _firmware
from reds_bench.board.targets import REPO_ROOT
from reds_bench.errors import BenchError, ConfigError

METHODS = ("pio", "gdb", "openocd", "pyocd", "none")
NEEDS_ELF = ("gdb", "openocd", "pyocd")  # methods that flash a given ELF (pio builds its own)

# What `monitor ...` resets the chip on each kind of GDB server (hardware map: `gdb_reset:`).
# J-Link and pyOCD halt in reset; `detach` then lets the core run.
GDB_RESETS = {
    "openocd": ["monitor reset run"],
    "pyocd": ["monitor reset"],
    "jlink": ["monitor reset"],
    "qemu": ["monitor system_reset"],
    # the default: each server knows exactly one of the two (OpenOCD, pyOCD and J-Link
    # `reset`; QEMU `system_reset`), the other is answered with "unknown command" and ignored
    "auto": ["monitor reset", "monitor system_reset"],
    "none": [],
}
DEFAULT_TIMEOUT = 120.0  # s: a 1 MB image over a slow SWD link still fits
GDB_CONNECT_TIMEOUT = 5  # s: gdb retries a refused connection this long

# the tools, and the package to install when one is missing
GDB_TOOLS = ("gdb-multiarch", "arm-none-eabi-gdb")
PYOCD_LAB = REPO_ROOT / ".venv-lab" / "bin" / "pyocd"  # where `make bootstrap` installs it
INSTALL = {
    "gdb": "install Debian's gdb-multiarch (sudo apt-get install -y gdb-multiarch)",
    "openocd": "install Debian's openocd (sudo apt-get install -y openocd)",
    "pyocd": "install pyOCD from PyPI (`make bootstrap` puts it in .venv-lab/bin/pyocd, "
             "or pip install pyocd)",
}


class FlashError(BenchError):
    """Flashing failed: the tool, the server or the probe is missing, or the check failed."""


class FlashToolMissing(FlashError, ConfigError):
    """The program a flash method runs is not installed."""


@dataclass
class Flashed:
    """What one flash did (``reds bench flash --json`` prints it)."""

    board: str
    method: str
    firmware: str | None
    command: list[str] = field(default_factory=list)
    verified: bool = False
    seconds: float = 0.0
    detail: str = ""

    def summary(self) -> str:
        if self.method == "none":
            return f"{self.board}: flash: none, nothing to do (the board is already flashed)"
        check = "verified" if self.verified else "not verified"
        return (f"{self.board}: flashed {self.firmware or 'the env firmware'} with {self.method} "
                f"in {self.seconds:.1f} s, {check}{'; ' + self.detail if self.detail else ''}")

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------- helpers


def find_tool(method: str) -> str:
    """The executable of ``method``: pyOCD from .venv-lab first, then PATH."""
    if method == "pyocd" and PYOCD_LAB.exists():
        return str(PYOCD_LAB)
    names = GDB_TOOLS if method == "gdb" else (method,)
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise FlashToolMissing(f"{names[0]} not found (needed for flash: {method}); "
                           f"{INSTALL[method]}")


def _run(cmd: list[str], timeout: float, what: str) -> tuple[int, str]:
    """Run ``cmd``; return its exit code and merged output. Never waits past ``timeout``."""
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace",
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise FlashError(f"{what}: {Path(cmd[0]).name} did not finish within {timeout:.0f} s "
                         "(probe or server not answering?)") from None
    return proc.returncode, proc.stdout or ""


def _last_error(out: str) -> str:
    """The most telling line of a tool's output, for a one-line message."""
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if re.search(r"error|fail|cannot|can't|no such|not found", ln, re.I):
            return ln
    return lines[-1] if lines else "no output"


def _elf(elf: Path | str | None, method: str) -> Path:
    if elf is None:
        raise ConfigError(f"flash: {method} needs a firmware ELF")
    elf = Path(elf)
    if not elf.is_file():
        raise ConfigError(f"firmware {elf} does not exist (build it, or pass --firmware ELF)")
    return elf


def gdb_address(value) -> tuple[str, int]:
    """``HOST:PORT`` of a hardware map's ``gdb:`` key, checked."""
    text = str(value or "")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"gdb: must be HOST:PORT of a GDB server (e.g. localhost:3333), "
                          f"got {value!r}")
    return host, int(port)


def gdb_reset_commands(value: str | None) -> list[str]:
    """The GDB commands that reset the chip: a server kind of :data:`GDB_RESETS` or one
    literal ``monitor ...`` command."""
    value = (value or "auto").strip()
    if value in GDB_RESETS:
        return list(GDB_RESETS[value])
    if value.startswith("monitor "):
        return [value]
    raise ConfigError(f"gdb_reset: must be one of {', '.join(GDB_RESETS)} or a 'monitor ...' "
                      f"command, got {value!r}")


OPTION_KEYS = {"gdb": ("gdb", "gdb_reset"), "openocd": ("openocd",), "pyocd": ("pyocd",)}
OPENOCD_KEYS = {"interface", "target", "serial", "commands"}
PYOCD_KEYS = {"target", "pack", "probe"}


def options(method: str, entry: dict, where: str) -> dict:
    """The flash options of a hardware-map entry for ``method``, checked (one-line errors)."""
    name = f"{where}: {entry.get('id')}"
    for m, keys in OPTION_KEYS.items():
        for k in keys:
            if k in entry and m != method:
                raise ConfigError(f"{name}: {k}: is used by flash: {m}, not flash: {method}")
    if method in NEEDS_ELF and entry.get("port") is None and "labgrid" not in entry:
        raise ConfigError(f"{name}: flash: {method} is for a board reached through port: "
                          "(an entry without a port starts its own emulator); add its port")
    if method == "gdb":
        if "gdb" not in entry:
            raise ConfigError(f"{name}: flash: gdb needs gdb: HOST:PORT (the GDB server)")
        try:
            gdb_address(entry["gdb"])
            gdb_reset_commands(entry.get("gdb_reset"))
        except ConfigError as e:
            raise ConfigError(f"{name}: {e}") from None
        return {k: str(entry[k]) for k in OPTION_KEYS["gdb"] if k in entry}
    if method in ("openocd", "pyocd"):
        o = entry.get(method)
        allowed, required = ((OPENOCD_KEYS, ("interface", "target")) if method == "openocd"
                             else (PYOCD_KEYS, ("target",)))
        example = ("{interface: interface/stlink.cfg, target: target/stm32f4x.cfg}"
                   if method == "openocd" else "{target: stm32f405rg, pack: FILE}")
        if not isinstance(o, dict):
            raise ConfigError(f"{name}: flash: {method} needs {method}: {example}")
        unknown = set(o) - allowed
        if unknown:
            raise ConfigError(f"{name}: {method}: unknown key(s) {sorted(unknown)}; "
                              f"allowed: {sorted(allowed)}")
        for k in required:
            if not o.get(k):
                raise ConfigError(f"{name}: {method}: lacks {k!r} (e.g. {example})")
        cmds = o.get("commands", [])
        if not isinstance(cmds, list) or not all(isinstance(c, str) for c in cmds):
            raise ConfigError(f"{name}: openocd: commands must be a list of OpenOCD commands")
        return {method: {k: (v if k == "commands" else str(v)) for k, v in o.items()}}
    return {}


# ---------------------------------------------------------------------------- methods


def gdb(spec, elf: Path, timeout: float = DEFAULT_TIMEOUT) -> Flashed:
    """Load ``elf`` through the GDB server of ``spec.flash_options['gdb']``, compare every
    section with the chip's memory, reset, detach (the core runs the new firmware)."""
    elf = _elf(elf, "gdb")
    opts = spec.flash_options
    host, port = gdb_address(opts.get("gdb"))
    where = f"{host}:{port}"
    resets = gdb_reset_commands(opts.get("gdb_reset"))
    cmd = [find_tool("gdb"), "-nx", "-batch",
           "-ex", f"set tcp connect-timeout {GDB_CONNECT_TIMEOUT}",
           "-ex", "set remotetimeout 10",
           "-ex", f"target remote {where}",
           "-ex", "load", "-ex", "compare-sections"]
    for r in resets:
        cmd += ["-ex", r]
    cmd += ["-ex", "detach", str(elf)]
    t0 = time.monotonic()
    _, out = _run(cmd, timeout, f"{spec.id}: flash: gdb via {where}")
    m = re.search(rf"^{re.escape(where)}: (.+?)\.?$", out, re.M)
    if m or "Remote communication error" in out or "Remote connection closed" in out:
        cause = m.group(1) if m else _last_error(out)
        raise FlashError(f"{spec.id}: no GDB server at {where} ({cause}); start it (QEMU -gdb, "
                         "openocd, pyocd gdbserver, JLinkGDBServer) or fix gdb: in the "
                         "hardware map")
    if "Start address" not in out:  # gdb prints it when `load` has written every section
        raise FlashError(f"{spec.id}: gdb could not load {elf.name} through {where}: "
                         f"{_last_error(out)}")
    bad = re.findall(r"^Section (\S+), range .*: MIS-MATCHED!", out, re.M)
    if bad:
        raise FlashError(f"{spec.id}: verify failed after loading {elf.name} through {where}: "
                         f"section(s) {', '.join(bad)} differ from the ELF (flash not written: "
                         "wrong address, protected or unsupported by the server?)")
    matched = len(re.findall(r"^Section \S+, range .*: matched\.", out, re.M))
    if matched == 0:
        raise FlashError(f"{spec.id}: gdb loaded {elf.name} through {where} but "
                         f"compare-sections checked nothing: {_last_error(out)}")
    if opts.get("gdb_reset") not in (None, "auto") and re.search(
            r"unknown command|not supported|invalid command|Protocol error with Rcmd", out, re.I):
        raise FlashError(f"{spec.id}: the GDB server at {where} refused the reset "
                         f"{resets[0]!r}; set gdb_reset: to its kind ({', '.join(GDB_RESETS)})")
    return Flashed(spec.id, "gdb", str(elf), cmd, True, time.monotonic() - t0,
                   f"{matched} section(s) match, reset with {' / '.join(resets) or 'nothing'}")


def openocd(spec, elf: Path, timeout: float = DEFAULT_TIMEOUT) -> Flashed:
    """``openocd -f INTERFACE [-c 'adapter serial S'] -f TARGET [-c CMD...]
    -c 'program ELF verify reset exit'`` (OpenOCD's own flash driver, verify, reset)."""
    elf = _elf(elf, "openocd")
    o = spec.flash_options.get("openocd") or {}
    if not (o.get("interface") and o.get("target")):
        raise ConfigError(f"{spec.id}: flash: openocd needs openocd: {{interface: CFG, target: CFG}}")
    cmd = [find_tool("openocd"), "-f", o["interface"]]
    if o.get("serial"):
        cmd += ["-c", f"adapter serial {o['serial']}"]
    cmd += ["-f", o["target"]]
    for extra in o.get("commands", []):
        cmd += ["-c", extra]
    cmd += ["-c", f"program {{{elf}}} verify reset exit"]
    t0 = time.monotonic()
    code, out = _run(cmd, timeout, f"{spec.id}: flash: openocd")
    if code == 0:
        return Flashed(spec.id, "openocd", str(elf), cmd, "Verified OK" in out,
                       time.monotonic() - t0, f"{o['interface']}, {o['target']}")
    missing = re.search(r"Can't find (\S+)", out)
    if missing:
        raise FlashError(f"{spec.id}: OpenOCD has no config {missing.group(1)} (see "
                         "/usr/share/openocd/scripts; fix openocd: in the hardware map)")
    if re.search(r"open failed|unable to find|No J-Link device found|No device found|"
                 r"device not found|LIBUSB_ERROR_ACCESS", out, re.I):
        serial = f", serial {o['serial']}" if o.get("serial") else ""
        raise FlashError(f"{spec.id}: no debug probe found by OpenOCD (interface "
                         f"{o['interface']}{serial}): plug it in, or check its USB permissions "
                         "(udev rules of Debian's openocd package)")
    if "Verify Failed" in out:
        raise FlashError(f"{spec.id}: OpenOCD wrote {elf.name} but verify failed")
    raise FlashError(f"{spec.id}: OpenOCD failed (exit {code}): {_last_error(out)}")


def pyocd_targets(tool: str, pack: str | None, timeout: float = 60.0) -> set[str]:
    """The target names pyOCD knows (built in, installed packs, ``pack``)."""
    import json

    cmd = [tool, "json", "--targets"] + (["--pack", pack] if pack else [])
    code, out = _run(cmd, timeout, "pyocd json --targets")
    try:
        data = json.loads(out[out.index("{"):])
    except ValueError:
        raise FlashError(f"pyocd json --targets failed (exit {code}): {_last_error(out)}") from None
    return {t["name"].lower() for t in data.get("targets", [])}


def pyocd(spec, elf: Path, timeout: float = DEFAULT_TIMEOUT) -> Flashed:
    """``pyocd flash -W -t TARGET [--pack PACK] [-u UID] ELF``: ``-W`` makes pyOCD fail at once
    instead of waiting for a probe to be plugged in."""
    elf = _elf(elf, "pyocd")
    o = spec.flash_options.get("pyocd") or {}
    if not o.get("target"):
        raise ConfigError(f"{spec.id}: flash: pyocd needs pyocd: {{target: NAME}}")
    tool = find_tool("pyocd")
    name, pack = str(o["target"]), o.get("pack")
    if pack and not Path(pack).is_file():
        raise ConfigError(f"{spec.id}: pyocd pack {pack} does not exist")
    if name.lower() not in pyocd_targets(tool, pack):
        raise FlashError(f"{spec.id}: pyOCD has no target {name!r}"
                         + (f" in {pack}" if pack else " built in")
                         + ": it needs the chip's CMSIS pack (e.g. Keil.STM32F4xx_DFP.*.pack "
                           "from https://www.keil.arm.com/packs/, downloaded once with network "
                           "access) given as pyocd: {pack: FILE}; `pyocd list --targets` shows "
                           "the known ones")
    cmd = [tool, "flash", "-W", "-t", name] + (["--pack", str(pack)] if pack else []) \
        + (["-u", str(o["probe"])] if o.get("probe") else []) + [str(elf)]
    t0 = time.monotonic()
    code, out = _run(cmd, timeout, f"{spec.id}: flash: pyocd")
    if code == 0:
        return Flashed(spec.id, "pyocd", str(elf), cmd, False, time.monotonic() - t0, name)
    if re.search(r"No connected debug probes|No matching debug probe|No target device available",
                 out):
        probe = f" with unique id {o['probe']}" if o.get("probe") else ""
        raise FlashError(f"{spec.id}: no debug probe{probe} found by pyOCD (target {name}): "
                         "plug it in, or check its USB permissions (`pyocd list` shows the probes)")
    raise FlashError(f"{spec.id}: pyOCD failed (exit {code}): {_last_error(out)}")


def pio(spec, elf: Path | None = None, timeout: float = DEFAULT_TIMEOUT) -> Flashed:
    """PlatformIO's upload of the env's firmware (it builds what it uploads; ``elf`` unused)."""
    t0 = time.monotonic()
    _firmware.upload(spec.env, spec.port, spec.id)
    return Flashed(spec.id, "pio", None, ["pio", "run", "-e", spec.env, "-t", "upload"], False,
                   time.monotonic() - t0, "pio run -t upload")


def none(spec, elf: Path | None = None, timeout: float = DEFAULT_TIMEOUT) -> Flashed:
    return Flashed(spec.id, "none", None)


def flash(spec, elf: Path | str | None, timeout: float = DEFAULT_TIMEOUT) -> Flashed:
    """Flash ``elf`` on the board of ``spec`` with its hardware-map method."""
    method = spec.flash
    fns = {"gdb": gdb, "openocd": openocd, "pyocd": pyocd, "pio": pio, "none": none}
    if method not in fns:
        raise ConfigError(f"{spec.id}: flash must be one of {', '.join(METHODS)}, got {method!r}")
    return fns[method](spec, Path(elf) if elf else None, timeout)
