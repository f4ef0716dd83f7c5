"""The STM32F405 flashed like a real chip: QEMU's netduinoplus2 starts with blank flash, halted,
with a GDB stub (tests/support/blank_qemu.py); the bench flashes it through ``flash: gdb``,
then measures it with ``reds bench run`` and runs the device regression tests on it."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from blank_qemu import BlankQemu
from paths import REPO
from reds_app.cli import cli
from reds_bench.board import firmware
from reds_bench.board.flash import FlashError, flash
from reds_bench.board.hwmap import load_hwmap

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

ENV = "stm32f405"
BOARD = "f405-gdb"
DEFAULT_MODEL = REPO / "boards" / "firmware" / "default_model.tflite"


@pytest.fixture(scope="module")
def elf():
    return firmware.build(ENV)


@pytest.fixture(scope="module")
def chip(elf, tmp_path_factory):
    """A blank netduinoplus2 and a hardware map whose only entry reaches it like a real board:
    serial port + GDB server."""
    d = tmp_path_factory.mktemp("blank-f405")
    with BlankQemu("netduinoplus2", log_path=d / "qemu.log") as q:
        hwmap = d / "boards.yaml"
        hwmap.write_text(yaml.safe_dump([{"id": BOARD, "env": ENV, "port": q.serial,
                                          "flash": "gdb", "gdb": q.gdb}]))
        yield q, hwmap


def test_bench_flash_then_bench_run_is_bit_exact(chip, elf, tmp_path):
    q, hwmap = chip
    r = CliRunner().invoke(cli, ["bench", "flash", "--hardware-map", str(hwmap), "--board", BOARD,
                                 "--json"])
    assert r.exit_code == 0, f"{r.output}{r.exception!r}"
    done = json.loads(r.output)
    assert (done["board"], done["method"], done["verified"]) == (BOARD, "gdb", True)
    assert done["firmware"] == str(elf)  # without --firmware: the env's own build
    assert f"target remote {q.gdb}" in done["command"]

    out = tmp_path / "bench"
    r = CliRunner().invoke(cli, ["bench", "run", "--hardware-map", str(hwmap), "--board", BOARD,
                                 "--model", str(DEFAULT_MODEL), "--out", str(out), "--runs", "3",
                                 "--warmup", "0", "--switch-runs", "2", "--inputs", "2",
                                 "--no-plots"])
    assert r.exit_code == 0, f"{r.output}{r.exception!r}"
    res = json.loads((out / "results.json").read_text())
    assert res["board"]["id"] == BOARD and res["board"]["env"] == ENV
    assert res["correctness"] and all(c["bit_exact"] is True for c in res["correctness"])
    assert len(res["latency"]) == len(res["model"]["subnets"]) > 0


def test_device_regression_on_the_flashed_board(chip):
    _, hwmap = chip
    r = subprocess.run([sys.executable, "-m", "pytest", "tests/device", "-q", "-p",
                        "no:cacheprovider", "--reds-hardware-map", str(hwmap),
                        "--reds-board", BOARD],
                       cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    passed = re.search(r"(\d+) passed", r.stdout)
    assert passed and int(passed.group(1)) > 0, r.stdout[-2000:]
    assert not re.search(r"\d+ (failed|error)", r.stdout), r.stdout[-2000:]


def test_a_section_the_chip_does_not_keep_fails_verify(chip, elf, tmp_path):
    """The firmware plus one section in RCC (unimplemented in QEMU: writes are dropped, reads
    give 0), which is what a failed flash write looks like: compare-sections must catch it."""
    _, hwmap = chip
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(1, 17)))
    bad = tmp_path / "rcc.elf"
    subprocess.run(["arm-none-eabi-objcopy", "--add-section", f".blob={blob}",
                    "--set-section-flags", ".blob=alloc,load,contents",
                    "--change-section-address", ".blob=0x40023800", str(elf), str(bad)],
                   check=True, capture_output=True, timeout=60)
    spec = load_hwmap(hwmap)[0]
    with pytest.raises(FlashError, match=r"verify failed .*section\(s\) \.blob differ"):
        flash(spec, bad)


def test_a_reset_the_server_does_not_know_is_an_error(chip, elf):
    """OpenOCD's reset sent to QEMU's stub: refused, and the bench says which key to set."""
    _, hwmap = chip
    spec = load_hwmap(hwmap)[0]
    spec.flash_options = {**spec.flash_options, "gdb_reset": "openocd"}
    with pytest.raises(FlashError, match=r"refused the reset 'monitor reset run'; set gdb_reset:"):
        flash(spec, elf)
