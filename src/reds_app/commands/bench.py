"""``reds bench``: the bench's commands, a thin click group over the package (the ``reds``
command mounts it; see ``reds_app.cli``).

    reds bench run --target native --model m.tflite --out out/bench [--resume]
    reds bench run --hardware-map boards.yaml --board nano-1 --model m.tflite --out out/nano
    reds bench discover [--json] [--write-map boards.yaml]
    reds bench info --target qemu_m4            (or --port /dev/ttyACM0 / --url socket://...)
    reds bench send --port /dev/ttyACM0 "reds-select 2"

Errors the user can fix (``BenchError``) print one line and exit 2; a run whose outputs differ
from TFLM exits 1.
"""
from __future__ import annotations

import json
import sys

import click

from reds_bench.board import targets
from reds_bench.errors import BenchError
from reds_app.quiet import progress_wanted


def _board_options(fn):
    """Options that say which board to talk to."""
    opts = [
        click.option("--target", type=click.Choice(targets.names()),
                     help="Emulated env started by the bench."),
        click.option("--hardware-map", type=click.Path(dir_okay=False),
                     help="Hardware map YAML (docs/boards.md)."),
        click.option("--board", "board_id", help="Id of the hardware-map entry (default: first)."),
        click.option("--port", help="Serial port or pyserial URL of an already flashed board."),
        click.option("--env", default="nano33ble", show_default=True, help="Env of --port's board."),
        click.option("--firmware", type=click.Path(dir_okay=False),
                     help="Prebuilt program/ELF for an emulated target (skips the build)."),
        click.option("--no-build", is_flag=True, help="Use the last build of the target."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _open(target, hardware_map, board_id, port, env, firmware, no_build):
    from reds_bench.board.factory import BoardSpec, create_board
    from reds_bench.board.hwmap import load_hwmap, select

    if port:
        return create_board(hw=BoardSpec(env=env, id=env, port=port))
    spec = select(load_hwmap(hardware_map), board_id) if hardware_map else None
    if spec is None and not target:
        raise BenchError("give --target, --hardware-map or --port")
    return create_board(target, hw=spec, firmware=firmware, build=not no_build)


@click.group("bench", context_settings={"help_option_names": ["-h", "--help"]})
def bench() -> None:
    """Hardware-in-the-loop bench: measure a model on an emulated or attached board."""


@bench.command()
@_board_options
@click.option("--model", required=True, type=click.Path(dir_okay=False),
              help=".tflite with REDS metadata.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Output folder (results.json, report.md, ...).")
@click.option("--runs", type=click.IntRange(min=1), default=50, show_default=True,
              help="Timed inferences per subnet.")
@click.option("--warmup", type=click.IntRange(min=0), default=1, show_default=True,
              help="Untimed warm-up runs.")
@click.option("--switch-runs", type=click.IntRange(min=1), default=200, show_default=True,
              help="Switches per pair for the adaptation matrix.")
@click.option("--inputs", type=click.IntRange(min=0), default=4, show_default=True,
              help="Random inputs compared bit for bit with TFLM.")
@click.option("--dataset", type=click.Path(dir_okay=False),
              help=".npz with x (quantized inputs) and y (labels) for accuracy.")
@click.option("--max-samples", type=click.IntRange(min=1), help="Use only the first N dataset samples.")
@click.option("--no-upload", is_flag=True,
              help="Fail instead of uploading when the board runs another model.")
@click.option("--resume", is_flag=True, help="Continue the journal in --out.")
@click.option("--no-plots", is_flag=True)
@click.option("--json", "as_json", is_flag=True, help="Print results.json to stdout.")
def run(target, hardware_map, board_id, port, env, firmware, no_build, model, out, runs, warmup,
        switch_runs, inputs, dataset, max_samples, no_upload, resume, no_plots, as_json) -> None:
    """Measure a model: adaptation, latency, correctness, memory."""
    from reds_bench.measure.runner import run_bench

    if not (target or hardware_map):
        raise BenchError("give --target or --hardware-map (see docs/bench.md)")
    res = run_bench(target, model=model, out=out, hwmap=hardware_map, board_id=board_id,
                    firmware=firmware, build=not no_build, runs=runs, warmup=warmup,
                    switch_runs=switch_runs, inputs=inputs, dataset=dataset,
                    max_samples=max_samples, upload=not no_upload, resume=resume,
                    plots=not no_plots, progress=progress_wanted())
    if as_json:
        click.echo(json.dumps(res, indent=2))
    else:
        ad = res["adaptation"]
        cost = (f"{ad['mean_instructions']:,.0f} instructions" if ad.get("mean_instructions") is not None
                else f"{ad['mean_ns']:.3g} ns" if ad.get("mean_ns") is not None else "not measured")
        click.echo(f"wrote {out}/results.json, report.md; mean switch {cost} over "
                   f"{len(res['latency'])} subnets")
    failed = [c for c in res["correctness"] if c.get("bit_exact") is False]
    if failed or res.get("errors"):  # a check that ran and failed: exit 1, not 2 (reds_app.cli)
        what = ([f"subnet {c['subnet']} differs from TFLM" for c in failed]
                + [f"step {e['step']} failed" for e in res.get("errors", [])])
        click.echo(f"reds: check failed: {'; '.join(what)} (see {out}/report.md)", err=True)
        sys.exit(1)


@bench.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--all", "include_all", is_flag=True, help="Include ports of unknown devices.")
@click.option("--write-map", type=click.Path(dir_okay=False),
              help="Write a hardware map of the recognised boards.")
def discover(as_json, include_all, write_map) -> None:
    """List serial ports and recognised boards."""
    from reds_bench.board.discover import discover as find_boards
    from reds_bench.board.hwmap import dump_hwmap, entries_from_discovery

    found = find_boards(include_unknown=include_all or as_json)
    if write_map:
        with open(write_map, "w") as f:
            f.write(dump_hwmap(entries_from_discovery(found)))
    if as_json:
        click.echo(json.dumps(found, indent=2))
    elif not found:
        click.echo("no serial ports found")
    else:
        for d in found:
            click.echo(f"{d['port']:<16} {d['vid_pid'] or '-':<10} {d['board'] or '?':<32} "
                       f"env={d['env'] or '-'}  {d['description'] or ''}")


@bench.command()
@_board_options
@click.option("--json", "as_json", is_flag=True)
def info(as_json, **board) -> None:
    """Connect and print reds-info."""
    from reds_bench.board.info import board_info

    with _open(**board) as dut:
        if as_json:
            click.echo(json.dumps(board_info(dut), indent=2))
        else:
            for line in dut.cmd("reds-info"):
                click.echo(line)


@bench.command()
@_board_options
@click.argument("line")
def send(line, **board) -> None:
    """Send one protocol command (without the trailing %) and print the reply."""
    with _open(**board) as dut:
        for got in dut.cmd(line):
            click.echo(got)
