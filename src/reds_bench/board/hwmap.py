"""Hardware map: which boards are attached, and how to flash and reset them (after Zephyr
twister's ``--hardware-map``). YAML, a list of entries::

    - id: nano-1              # unique name, used in results and `--reds-board`
      env: nano33ble          # PlatformIO env of its firmware
      port: /dev/ttyACM0      # device path or pyserial URL (rfc2217://host:4000, socket://...)
      flash: pio              # pio | gdb | openocd | pyocd | none (already flashed)
      reset: none             # none | dtr (pulse DTR/RTS) | pio (re-upload)
      baud: 115200            # optional

The flash methods other than ``pio``/``none`` take the firmware ELF and their own keys
(:mod:`reds_bench.board.flash`; docs/boards.md, "Flashing")::

      flash: gdb              # any GDB server: QEMU -gdb, OpenOCD, pyOCD gdbserver, J-Link
      gdb: localhost:3333     # HOST:PORT of the server
      gdb_reset: openocd      # optional: auto | qemu | openocd | pyocd | jlink | none | 'monitor CMD'

      flash: openocd          # OpenOCD's flash driver: program ELF verify reset exit
      openocd: {interface: interface/stlink.cfg, target: target/stm32f4x.cfg}
                              # optional: serial: PROBE-SERIAL, commands: [OpenOCD commands]

      flash: pyocd            # pyocd flash -W (never waits for a probe)
      pyocd: {target: stm32f405rg, pack: Keil.STM32F4xx_DFP.2.17.1.pack}   # pack, probe: optional

An entry without ``port`` and with an emulated env (native, qemu_m4, ...) starts that emulator.
An entry may name a labgrid place instead of a port (docs/lab.md); the bench acquires it::

    - id: lab-a
      env: qemu_m4
      labgrid: {place: board-a, coordinator: 10.0.0.5:20408}   # coordinator: else $LG_COORDINATOR
"""
from __future__ import annotations

from pathlib import Path

import yaml

from reds_bench.errors import ConfigError
from reds_bench.board import flash as _flash
from reds_bench.board import targets
from reds_bench.board.factory import BoardSpec

FLASH = _flash.METHODS
RESET = ("none", "dtr", "pio")
KEYS = {"id", "env", "port", "flash", "reset", "baud", "serial_number", "notes", "labgrid",
        "gdb", "gdb_reset", "openocd", "pyocd"}
LABGRID_KEYS = {"place", "coordinator", "wait"}


def labgrid_entry(value, where: str) -> dict:
    """The ``labgrid:`` mapping of an entry: ``place`` (required), ``coordinator``, ``wait``."""
    if not isinstance(value, dict) or not value.get("place"):
        raise ConfigError(f"{where}: labgrid must be a mapping with a place name, e.g. "
                          "{place: board-a, coordinator: HOST:PORT}")
    unknown = set(value) - LABGRID_KEYS
    if unknown:
        raise ConfigError(f"{where}: labgrid: unknown key(s) {sorted(unknown)}; allowed: "
                          f"{sorted(LABGRID_KEYS)}")
    return {"place": str(value["place"]), "coordinator": value.get("coordinator"),
            "wait": bool(value.get("wait", False))}


def parse_entry(d: dict, where: str = "hardware map") -> BoardSpec:
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: each entry must be a mapping, got {d!r}")
    unknown = set(d) - KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(KEYS)}")
    for k in ("id", "env"):
        if not d.get(k):
            raise ConfigError(f"{where}: entry {d!r} lacks {k!r}")
    flash = d.get("flash", "none")
    reset = d.get("reset", "none")
    if flash not in FLASH:
        raise ConfigError(f"{where}: {d['id']}: flash must be one of {FLASH}, got {flash!r}")
    if reset not in RESET:
        raise ConfigError(f"{where}: {d['id']}: reset must be one of {RESET}, got {reset!r}")
    port = d.get("port")
    lg = labgrid_entry(d["labgrid"], f"{where}: {d['id']}") if "labgrid" in d else None
    if lg and port is not None:
        raise ConfigError(f"{where}: {d['id']}: give a port or a labgrid place, not both")
    if port is None and lg is None and not targets.is_ci_target(d["env"]):
        raise ConfigError(f"{where}: {d['id']}: a real board ({d['env']}) needs a port or a labgrid place")
    baud = d.get("baud", 115200)
    if not isinstance(baud, int) or baud <= 0:
        raise ConfigError(f"{where}: {d['id']}: baud must be a positive integer")
    flash_options = _flash.options(flash, d, where)
    extra = {k: d[k] for k in ("serial_number", "notes") if k in d}
    return BoardSpec(env=str(d["env"]), id=str(d["id"]), port=port, flash=flash, reset=reset,
                     baud=baud, extra=extra, labgrid=lg, flash_options=flash_options)


def load_hwmap(path: str | Path) -> list[BoardSpec]:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"hardware map {path} not found (create one with "
                          "`reds bench discover --write-map FILE`)")
    try:
        data = yaml.safe_load(path.read_text()) or []
    except yaml.YAMLError as e:
        raise ConfigError(f"hardware map {path}: invalid YAML: {e}") from e
    if not isinstance(data, list):
        raise ConfigError(f"hardware map {path}: expected a list of entries")
    specs = [parse_entry(d, str(path)) for d in data]
    ids = [s.id for s in specs]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ConfigError(f"hardware map {path}: duplicate id(s) {sorted(dup)}")
    return specs


def select(specs: list[BoardSpec], board_id: str | None = None, env: str | None = None) -> BoardSpec:
    """The entry named ``board_id`` (or the only/first one of ``env``)."""
    for s in specs:
        if (board_id is None or s.id == board_id) and (env is None or s.env == env):
            return s
    raise ConfigError(f"no board matches id={board_id!r} env={env!r} in the hardware map "
                      f"(ids: {', '.join(s.id for s in specs) or 'none'})")


def entries_from_discovery(found: list[dict]) -> list[dict]:
    """Hardware-map entries for the recognised boards of :func:`reds_bench.board.discover.discover`."""
    out, n = [], {}
    for d in found:
        if not d.get("env"):
            continue
        n[d["env"]] = n.get(d["env"], 0) + 1
        e = {"id": f"{d['env']}-{n[d['env']]}", "env": d["env"], "port": d["port"],
             "flash": "pio", "reset": "none"}
        if d.get("serial_number"):
            e["serial_number"] = d["serial_number"]
        out.append(e)
    return out


def dump_hwmap(entries: list[dict]) -> str:
    return yaml.safe_dump(entries, sort_keys=False)
