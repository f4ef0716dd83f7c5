"""An idle emulated board sleeps: waiting for a command costs (almost) no host CPU.

The firmware waits in WFI for the UART receive interrupt with no periodic timer running, so
QEMU (-icount shift=0,sleep=off, as the bench launches it) has nothing to do. A busy-polling
firmware keeps a host core at ~100 %. CPU time is the process's own (utime + stime), so a
loaded machine does not make a sleeping board look busy."""
import os
import time
from pathlib import Path

import pytest

from reds_bench.board.factory import create_board

pytestmark = pytest.mark.qemu

IDLE_SECONDS = 3.0
MAX_SHARE = 0.05


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # utime, stime are fields 14, 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("env", ["qemu_m4", "stm32f405"])
def test_idle_board_costs_under_5_percent_of_a_core(env, firmware_program):
    with create_board(env, firmware=firmware_program(env)) as board:
        board.cmd("reds-info")
        c0, t0 = cpu_seconds(board.proc.pid), time.monotonic()
        time.sleep(IDLE_SECONDS)
        c1, t1 = cpu_seconds(board.proc.pid), time.monotonic()
        assert board.cmd("name")  # still answers after the sleep
    share = (c1 - c0) / (t1 - t0)
    assert share <= MAX_SHARE, f"{env} idle used {100 * share:.1f} % of a core"
