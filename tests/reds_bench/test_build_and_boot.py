"""Every CI target builds offline with the local PlatformIO platforms, boots and answers;
`make bootstrap` names what it cannot install."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from reds.errors import UserError
from reds_bench.board import firmware, targets
from paths import REPO

ENVS = ["native", "qemu_m4", "qemu_m7", "qemu_m33", "stm32f405"]


def test_ci_targets_are_platformio_default_envs():
    assert targets.names() == ENVS
    assert [targets.target(e).machine for e in ENVS] == [None, "mps2-an386", "mps2-an500",
                                                          "mps2-an505", "netduinoplus2"]


@pytest.mark.qemu
@pytest.mark.parametrize("env", ENVS)
def test_boot_answers_name(env, firmware_program):
    program = firmware_program(env)
    lines = firmware.ask(env, program, "name", timeout=20)
    assert f"m-name-dut-[reds-{env}]" in lines
    assert lines[-1] == "m-ready"


@pytest.mark.qemu
def test_silent_board_times_out_naming_env(firmware_program):
    # QEMU with its CPU held stopped (-S) never answers: the read must time out cleanly.
    program = firmware_program("qemu_m4")
    with pytest.raises(UserError, match="qemu_m4: no m-ready within 2 s"):
        firmware.ask("qemu_m4", program, "name", timeout=2, qemu_args=("-S",))


def test_unknown_target_is_a_clear_error():
    with pytest.raises(UserError, match="unknown target 'qemu_m0'.*qemu_m4"):
        targets.target("qemu_m0")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root for `unshare -n` (network namespace)")
def test_qemu_build_needs_no_network(tmp_path):
    env = dict(os.environ, PLATFORMIO_CORE_DIR=str(firmware.CORE_DIR),
               PLATFORMIO_BUILD_DIR=str(tmp_path))
    proc = subprocess.run(["unshare", "-n", firmware.pio_executable(), "run", "-e", "qemu_m4",
                           "-d", str(REPO)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (tmp_path / "qemu_m4" / "firmware.elf").stat().st_size > 0


def test_bootstrap_as_non_root_names_missing_packages(tmp_path):
    # Fake a non-root user on a machine without the Debian packages.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").write_text("#!/bin/sh\necho 1000\n")
    (bin_dir / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    proc = subprocess.run(["make", "-s", "-C", str(REPO), "debian-packages"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    for pkg in ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm"):
        assert pkg in proc.stderr
    assert "sudo apt-get install" in proc.stderr


@pytest.mark.qemu
def test_pio_upload_boots_qemu_on_the_terminal(tmp_path):
    """`pio run -e qemu_m4 -t upload` boots the image with its UART on stdio."""
    import select
    import signal
    import time

    env = dict(os.environ, PLATFORMIO_CORE_DIR=str(firmware.CORE_DIR),
               PLATFORMIO_BUILD_DIR=str(tmp_path))
    proc = subprocess.Popen([firmware.pio_executable(), "run", "-e", "qemu_m4", "-t", "upload",
                             "-d", str(REPO)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    out, asked, deadline = b"", False, time.monotonic() + 120
    try:
        while b"m-name-dut-[reds-qemu_m4]" not in out and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 0.5)[0]:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
            if b"m-boot-reds" in out and not asked:
                proc.stdin.write(b"name%")
                proc.stdin.flush()
                asked = True
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert b"qemu-system-arm -M mps2-an386" in out and b"-icount shift=0,sleep=off" in out
    assert b"m-name-dut-[reds-qemu_m4]" in out, out[-1500:]
