"""Flash methods without a board: hardware-map checks, and every way flashing can fail (no tool,
no server, a stuck server, no probe, no CMSIS pack) ending in one line, in bounded time."""
from __future__ import annotations

import shutil
import socket
import stat
import subprocess

import pytest

from paths import REPO
from tools import needs
from reds_bench.board import flash
from reds_bench.board.hwmap import load_hwmap, parse_entry
from reds_bench.errors import BenchError, ConfigError

ENTRY = {"id": "f4-1", "env": "stm32f405", "port": "socket://127.0.0.1:9"}


@pytest.fixture
def elf(tmp_path):
    """Any file: the failures below all happen before its content matters."""
    p = tmp_path / "fw.elf"
    p.write_bytes(b"\x7fELF")
    return p


def spec(**keys):
    return parse_entry({**ENTRY, **keys})


def closed_port() -> int:
    """A local port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------- hardware map


def test_hwmap_carries_the_flash_options(tmp_path):
    m = tmp_path / "boards.yaml"
    m.write_text("- {id: a, env: stm32f405, port: /dev/ttyUSB0, flash: gdb, gdb: 'lab:3333',\n"
                 "   gdb_reset: openocd}\n"
                 "- id: b\n  env: stm32f405\n  port: /dev/ttyUSB1\n  flash: openocd\n"
                 "  openocd: {interface: interface/stlink.cfg, target: target/stm32f4x.cfg,\n"
                 "            serial: 066DFF, commands: ['adapter speed 1000']}\n"
                 "- {id: c, env: stm32f405, port: /dev/ttyUSB2, flash: pyocd,\n"
                 "   pyocd: {target: stm32f405rg, probe: '0669'}}\n")
    a, b, c = load_hwmap(m)
    assert (a.flash, a.flash_options) == ("gdb", {"gdb": "lab:3333", "gdb_reset": "openocd"})
    assert b.flash_options["openocd"]["commands"] == ["adapter speed 1000"]
    assert b.flash_options["openocd"]["serial"] == "066DFF"
    assert c.flash_options == {"pyocd": {"target": "stm32f405rg", "probe": "0669"}}


@pytest.mark.parametrize("keys, msg", [
    ({"flash": "jtag"}, "flash must be one of"),
    ({"flash": "gdb"}, "needs gdb: HOST:PORT"),
    ({"flash": "gdb", "gdb": "3333"}, "gdb: must be HOST:PORT"),
    ({"flash": "gdb", "gdb": "lab:99999"}, "gdb: must be HOST:PORT"),
    ({"flash": "gdb", "gdb": "lab:3333", "gdb_reset": "reboot"}, "gdb_reset: must be one of"),
    ({"flash": "none", "gdb": "lab:3333"}, "is used by flash: gdb, not flash: none"),
    ({"flash": "openocd"}, "needs openocd: {interface"),
    ({"flash": "openocd", "openocd": {"interface": "interface/stlink.cfg"}}, "lacks 'target'"),
    ({"flash": "openocd", "openocd": {"interface": "i", "target": "t", "speed": 1}},
     "unknown key(s) ['speed']"),
    ({"flash": "openocd", "openocd": {"interface": "i", "target": "t", "commands": "reset"}},
     "commands must be a list"),
    ({"flash": "pyocd", "pyocd": {"pack": "x.pack"}}, "lacks 'target'"),
    ({"flash": "pyocd", "pyocd": "stm32f405rg"}, "needs pyocd: {target"),
    ({"flash": "gdb", "gdb": "lab:3333", "port": None}, "add its port"),
])
def test_bad_flash_entries_are_one_line(keys, msg):
    with pytest.raises(ConfigError) as e:
        spec(**keys)
    assert msg in str(e.value) and "\n" not in str(e.value)


# ---------------------------------------------------------------------------- gdb


def test_missing_gdb_names_the_debian_package(monkeypatch, tmp_path, elf):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without any gdb
    with pytest.raises(flash.FlashToolMissing, match=r"gdb-multiarch not found.*apt-get install "
                                                     r"-y gdb-multiarch"):
        flash.flash(spec(flash="gdb", gdb="127.0.0.1:3333"), elf)


needs_gdb = needs(any(map(shutil.which, flash.GDB_TOOLS)), "gdb-multiarch is not installed")


@needs_gdb
def test_unreachable_gdb_server(monkeypatch, elf):
    monkeypatch.setattr(flash, "GDB_CONNECT_TIMEOUT", 1)
    where = f"127.0.0.1:{closed_port()}"
    with pytest.raises(flash.FlashError, match=rf"^f4-1: no GDB server at {where} \(.+\)"):
        flash.flash(spec(flash="gdb", gdb=where), elf)


@needs_gdb
def test_a_server_that_never_answers_is_cut_off(elf):
    """A server that accepts the connection and then stays silent: the flash timeout ends gdb."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        where = "127.0.0.1:%d" % srv.getsockname()[1]
        with pytest.raises(flash.FlashError, match=r"did not finish within 2 s"):
            flash.flash(spec(flash="gdb", gdb=where), elf, timeout=2)


def test_missing_firmware_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        flash.flash(spec(flash="gdb", gdb="127.0.0.1:3333"), tmp_path / "none.elf")


# ---------------------------------------------------------------------------- openocd


@needs(shutil.which("openocd") is not None, "openocd is not installed")
def test_openocd_without_a_probe(elf):
    """No ST-LINK on this machine: OpenOCD fails to open it, and the bench says so."""
    s = spec(flash="openocd", openocd={"interface": "interface/stlink.cfg",
                                       "target": "target/stm32f4x.cfg"})
    with pytest.raises(flash.FlashError) as e:
        flash.flash(s, elf, timeout=30)
    assert str(e.value).startswith("f4-1: no debug probe found by OpenOCD (interface "
                                   "interface/stlink.cfg)")


@needs(shutil.which("openocd") is not None, "openocd is not installed")
def test_openocd_unknown_config(elf):
    s = spec(flash="openocd", openocd={"interface": "interface/no-such-probe.cfg",
                                       "target": "target/stm32f4x.cfg"})
    with pytest.raises(flash.FlashError, match="OpenOCD has no config interface/no-such-probe.cfg"):
        flash.flash(s, elf, timeout=30)


def test_missing_openocd_names_the_package(monkeypatch, tmp_path, elf):
    monkeypatch.setenv("PATH", str(tmp_path))
    s = spec(flash="openocd", openocd={"interface": "i.cfg", "target": "t.cfg"})
    with pytest.raises(flash.FlashToolMissing, match="openocd not found.*apt-get install -y openocd"):
        flash.flash(s, elf)


# ---------------------------------------------------------------------------- pyocd


def _have_pyocd() -> bool:
    try:
        flash.find_tool("pyocd")
        return True
    except flash.FlashToolMissing:
        return False


needs_pyocd = needs(_have_pyocd(), "pyOCD is not installed (`make bootstrap` puts it in .venv-lab)")


@needs_pyocd
def test_pyocd_target_without_its_pack(elf):
    """pyOCD has no STM32F405 built in: the bench asks for the CMSIS pack instead of flashing."""
    with pytest.raises(flash.FlashError, match=r"pyOCD has no target 'stm32f405rg' built in: "
                                               r"it needs the chip's CMSIS pack"):
        flash.flash(spec(flash="pyocd", pyocd={"target": "stm32f405rg"}), elf, timeout=60)


@needs_pyocd
def test_pyocd_does_not_wait_for_a_probe(elf):
    """A target pyOCD knows, and no probe attached: an error, not pyOCD's endless wait."""
    s = spec(flash="pyocd", pyocd={"target": "stm32f429xi"})  # built into pyOCD
    with pytest.raises(flash.FlashError) as e:
        flash.flash(s, elf, timeout=60)
    if "no debug probe" not in str(e.value):
        probes = subprocess.run([flash.find_tool("pyocd"), "json", "--probes"],
                                capture_output=True, text=True, timeout=60).stdout
        if '"boards": []' not in probes:
            pytest.skip("a debug probe is attached to this machine")
    assert str(e.value).startswith("f4-1: no debug probe found by pyOCD (target stm32f429xi)")


def test_missing_pyocd_names_pypi(monkeypatch, tmp_path, elf):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(flash, "PYOCD_LAB", tmp_path / "no-venv" / "pyocd")
    with pytest.raises(flash.FlashToolMissing, match=r"pyocd not found.*\.venv-lab/bin/pyocd"):
        flash.flash(spec(flash="pyocd", pyocd={"target": "stm32f405rg"}), elf)


def test_a_hanging_pyocd_is_cut_off(monkeypatch, tmp_path, elf):
    """Whatever pyOCD does (an old one without -W waits for a probe forever), the bench stops
    it at the flash timeout."""
    fake = tmp_path / "pyocd"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(flash, "PYOCD_LAB", fake)
    monkeypatch.setattr(flash, "pyocd_targets", lambda tool, pack: {"stm32f405rg"})
    with pytest.raises(flash.FlashError, match="pyocd did not finish within 1 s"):
        flash.flash(spec(flash="pyocd", pyocd={"target": "stm32f405rg"}), elf, timeout=1)


def test_pyocd_pack_must_exist(tmp_path, elf):
    s = spec(flash="pyocd", pyocd={"target": "stm32f405rg", "pack": str(tmp_path / "no.pack")})
    with pytest.raises(BenchError, match="pack .*no.pack does not exist"):
        flash.flash(s, elf)


# ---------------------------------------------------------------------------- CLI


def test_cli_flash_errors_exit_2(tmp_path):
    m = tmp_path / "boards.yaml"
    m.write_text(f"- {{id: f4-1, env: stm32f405, port: 'socket://127.0.0.1:9', flash: gdb, "
                 f"gdb: '127.0.0.1:{closed_port()}'}}\n")
    r = subprocess.run([str(REPO / ".venv" / "bin" / "reds"), "bench", "flash",
                        "--hardware-map", str(m), "--firmware", str(tmp_path / "none.elf")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "does not exist" in r.stderr and "Traceback" not in r.stderr
