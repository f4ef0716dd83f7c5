"""``reds bench``: the bench's commands, a thin click group over the package (the ``reds``
command mounts it; see ``reds_app.cli``).

    reds bench run --target native --model m.tflite --out out/bench [--resume]
    reds bench run --hardware-map boards.yaml --board nano-1 --model m.tflite --out out/nano
    reds bench flash --hardware-map boards.yaml --board stm32-1 [--firmware fw.elf] [--json]
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
    ] + _labgrid_options
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


# a labgrid place instead of a port (docs/lab.md); its env is --target's, else --env's
_labgrid_options = [
    click.option("--labgrid-place", help="labgrid place to acquire and use as the board."),
    click.option("--labgrid-coordinator", metavar="HOST:PORT",
                 help="labgrid coordinator (default: $LG_COORDINATOR)."),
    click.option("--wait", is_flag=True,
                 help="Queue until the place is free (default: fail when someone holds it)."),
]


def _place_spec(place, coordinator, wait, env):
    from reds_bench.board.factory import BoardSpec

    return BoardSpec(env=env, id=place, labgrid={"place": place, "coordinator": coordinator,
                                                 "wait": wait})


def _open(target, hardware_map, board_id, port, env, firmware, no_build, labgrid_place=None,
          labgrid_coordinator=None, wait=False):
    from reds_bench.board.factory import BoardSpec, create_board
    from reds_bench.board.hwmap import load_hwmap, select

    if labgrid_place:
        return create_board(hw=_place_spec(labgrid_place, labgrid_coordinator, wait, target or env))
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
@click.option("--labgrid-places", metavar="A,B|KEY=VALUE",
              help="Spread the run over these labgrid places (names, or tags to match).")
@click.option("--spread-baseline", is_flag=True,
              help="Also time the accuracy step on the first board alone (the speed-up).")
def run(target, hardware_map, board_id, port, env, firmware, no_build, labgrid_place,
        labgrid_coordinator, wait, model, out, runs, warmup, switch_runs, inputs, dataset,
        max_samples, no_upload, resume, no_plots, as_json, labgrid_places,
        spread_baseline) -> None:
    """Measure a model: adaptation, latency, correctness, memory; over one board, a labgrid
    place, or several (--labgrid-places, or --board A,B of a hardware map)."""
    from pathlib import Path

    from reds_bench.board.place import places_matching, sigterm_raises
    from reds_bench.measure.runner import run_bench

    if not (target or hardware_map or labgrid_place or labgrid_places):
        raise BenchError("give --target, --hardware-map or --labgrid-place (see docs/bench.md)")
    common = dict(model=model, out=out, runs=runs, warmup=warmup, switch_runs=switch_runs,
                  inputs=inputs, dataset=dataset, max_samples=max_samples,
                  upload=not no_upload, resume=resume, plots=not no_plots,
                  progress=progress_wanted())
    with sigterm_raises():  # a killed bench still releases its places (finally blocks run)
        specs = []
        if labgrid_places:
            specs = [_place_spec(n, labgrid_coordinator, wait, target or env)
                     for n in places_matching(labgrid_places, labgrid_coordinator)]
        elif hardware_map and board_id and "," in board_id:
            from reds_bench.board.hwmap import load_hwmap, select

            entries = load_hwmap(hardware_map)
            specs = [select(entries, b.strip()) for b in board_id.split(",") if b.strip()]
        if specs:
            from reds_bench.measure.spread import spread_bench

            common.pop("upload")
            res = spread_bench(specs, baseline=spread_baseline, **common)
        elif labgrid_place:
            from reds_bench.board.factory import create_board

            board = create_board(hw=_place_spec(labgrid_place, labgrid_coordinator, wait,
                                                target or env), log_dir=Path(out) / "logs")
            try:
                res = run_bench(board=board, **common)
            finally:
                board.close()
        else:
            res = run_bench(target, hwmap=hardware_map, board_id=board_id, firmware=firmware,
                            build=not no_build, **common)
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
@click.option("--hardware-map", required=True, type=click.Path(dir_okay=False),
              help="Hardware map YAML (docs/boards.md).")
@click.option("--board", "board_id", help="Id of the hardware-map entry (default: first).")
@click.option("--firmware", type=click.Path(dir_okay=False),
              help="ELF to flash (default: build the entry's env).")
@click.option("--no-build", is_flag=True, help="Flash the last build of the env.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@_labgrid_options[0]
@_labgrid_options[1]
@_labgrid_options[2]
def flash(hardware_map, board_id, firmware, no_build, as_json, labgrid_place,
          labgrid_coordinator, wait) -> None:
    """Flash a board of the hardware map with its flash: method (gdb, openocd, pyocd, pio).
    An entry naming a labgrid place (or --labgrid-place) is flashed while the place is held."""
    from reds_bench.board import firmware as fw
    from reds_bench.board.flash import NEEDS_ELF, flash as flash_board
    from reds_bench.board.hwmap import load_hwmap, select
    from reds_bench.board.place import Place, sigterm_raises

    spec = select(load_hwmap(hardware_map), board_id)
    if labgrid_place:
        spec.labgrid = {"place": labgrid_place, "coordinator": labgrid_coordinator, "wait": wait}
    elf = firmware
    if elf is None and spec.flash in NEEDS_ELF:
        elf = fw.artifact(spec.env) if no_build else fw.build(spec.env)
    with sigterm_raises():
        if spec.labgrid:  # nobody else may use the board while it is flashed
            with Place.of(spec.labgrid):
                done = flash_board(spec, elf)
        else:
            done = flash_board(spec, elf)
    click.echo(json.dumps(done.to_dict(), indent=2) if as_json else done.summary())


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
    from reds_bench.board.place import sigterm_raises

    with sigterm_raises(), _open(**board) as dut:
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
    from reds_bench.board.place import sigterm_raises

    with sigterm_raises(), _open(**board) as dut:
        for got in dut.cmd(line):
            click.echo(got)
