"""Benchmark (not a test): host CPU an idle emulated board costs, per CI target.

    .venv/bin/python docs/benchmarks/bench_idle_cpu.py [--seconds 10] [--envs qemu_m4,...]

Each board is launched exactly as the bench launches it (reds_bench.board.factory.create_board:
QEMU with -icount shift=0,sleep=off, or the host program), synchronised, answered one
`reds-info`, then left waiting for input. Its process's user + system CPU time
(/proc/PID/stat utime + stime) over the next `--seconds` wall seconds, divided by them, is the
share of one host core it burns while idle. Firmware that waits in WFI for the UART receive
interrupt costs ~0; one that polls the UART keeps a core busy. Writes idle_cpu.json and
idle_cpu.md next to this script.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (fields 14 and 15 of /proc/PID/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_share(env: str, seconds: float) -> dict:
    from reds_bench.board import firmware
    from reds_bench.board.factory import create_board

    firmware.build(env)
    with create_board(env) as board:
        board.cmd("reds-info")
        pid = board.proc.pid
        c0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(pid), time.monotonic()
    return {"env": env, "seconds": round(t1 - t0, 2), "cpu_seconds": round(c1 - c0, 3),
            "core_share_percent": round(100.0 * (c1 - c0) / (t1 - t0), 2)}


def markdown(rows: list[dict], before: dict, seconds: float) -> str:
    lines = ["# Idle host CPU of an emulated board", "",
             "Share of one host core that a board costs while it waits for a command, measured "
             f"over {seconds:g} s after one `reds-info`, launched as the bench launches it. "
             "Reproduce:", "",
             "<!-- docs-test: skip takes a minute and measures the host -->",
             "```sh", ".venv/bin/python docs/benchmarks/bench_idle_cpu.py", "```", "",
             "Before: the firmware polled its UART (Cortex-M targets); `native` has always "
             "blocked in a socket read. After: Cortex-M firmware sleeps in WFI until the UART "
             "receive interrupt, with SysTick stopped while it waits.", "",
             "| target | before | after |",
             "|---|---:|---:|"]
    for r in rows:
        b = before.get(r["env"])
        lines.append(f"| {r['env']} | {'not measured' if b is None else f'{b:.1f} %'} | "
                     f"{r['core_share_percent']:.1f} % |")
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    from reds_bench.board import targets

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--envs", default=",".join(targets.names()))
    args = ap.parse_args(argv)
    # The firmware before the boards slept (busy-polling its UART), measured the same way on
    # the same machine: 2 cores, 10 s.
    before = {"native": 0.0, "qemu_m4": 99.9, "qemu_m33": 99.9}
    rows = [idle_share(env, args.seconds) for env in args.envs.split(",") if env]
    for r in rows:
        print(f"{r['env']:12s} {r['core_share_percent']:6.2f} % of a core "
              f"({r['cpu_seconds']} s CPU in {r['seconds']} s)")
    (HERE / "idle_cpu.json").write_text(json.dumps(
        {"seconds": args.seconds, "before_percent": before, "after": rows}, indent=2) + "\n")
    (HERE / "idle_cpu.md").write_text(markdown(rows, before, args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
