"""`reds export`: one int8 .tflite of a trained run (and C source, standalone subnets, also
from a .tflite exported before)."""
from __future__ import annotations

import click

from reds.errors import UserError
from reds_app.commands.common import stderr_console, writable_file


@click.command("export")
@click.argument("source", metavar="RUN_DIR|MODEL.tflite", type=click.Path(exists=True))
@click.option("--out", type=click.Path(dir_okay=False),
              help="Output .tflite (default RUN_DIR/model.tflite; elsewhere leaves RUN_DIR as it is "
                   "and writes the model card beside it).")
@click.option("--c-array", "c_array", type=click.Path(dir_okay=False),
              help="Also write a C source/header pair for firmware embedding (e.g. model_data.c).")
@click.option("--symbol", default="reds_default_model", show_default=True,
              help="C symbol of the --c-array (also NAME_len and NAME_CRC32).")
@click.option("--standalone", type=click.Path(file_okay=False),
              help="Also write one plain sliced .tflite per subnet here, subnet<k>.tflite with its "
                   "subnet<k>.card.json (class names, accuracy), e.g. for LiteRT on a phone.")
def export_cmd(source: str, out: str | None, c_array: str | None, symbol: str,
               standalone: str | None) -> None:
    """One int8 .tflite with every subnetwork of a trained run, plus REDS metadata.

    Give a trained run folder (exported now), or a nested .tflite exported before: then
    --standalone and --c-array write from that file as it is, without Keras or a re-export."""
    import re
    from pathlib import Path

    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", symbol):
        raise UserError(f"--symbol {symbol!r} is not a C identifier; use letters, digits and _")
    src = Path(source)
    c_path = writable_file(c_array, "--c-array") if c_array else None
    if src.is_file():
        if out:
            raise UserError(f"--out re-exports a run folder, but {source} is an exported model; "
                            "give the run folder, or drop --out")
        if not (standalone or c_path):
            raise UserError(f"{source} is already exported; give --standalone DIR (one plain .tflite "
                            "per subnet) or --c-array FILE, or the run folder to export it again")
        target = src
    else:
        target = _export_run(src, writable_file(out, "--out") if out else None)
    if c_path:
        from reds.export.c_array import write_c_array

        c, h = write_c_array(target.read_bytes(), c_path, symbol=symbol, source=target.name)
        click.echo(f"wrote {c} and {h} (symbol {symbol})")
    if standalone:
        from reds.export.nested import write_standalone
        from reds.runtime.inspect import load_card
        from reds.tflite.flatbuffer import read_model_file

        paths = write_standalone(read_model_file(target), standalone, card=load_card(target) or {},
                                 source=target.name)
        click.echo(f"wrote {len(paths)} standalone subnets to {standalone} "
                   f"({', '.join(f'{p.name} {p.stat().st_size:,} B' for p in paths)}), "
                   "each with its .card.json")


def _export_run(run_dir, out_path):
    """Export a trained run (to `out_path`, default the run's model.tflite); the exported path.
    An export elsewhere gets a card beside it: the run's class names, group names and
    accuracies, with this export's int8 accuracies."""
    from reds.pipeline.rundir import RunDir
    from reds.pipeline.steps import Config, Pipeline
    from reds.runtime.inspect import load_card, write_card
    from reds_app.quiet import working

    run = RunDir(run_dir)
    for need in ("config.json", "plan.json", "model.keras"):
        if not (run / need).exists():
            raise UserError(f"{run_dir} has no {need}: run `reds train` first")
    pipe = Pipeline(Config(**run.read_json("config.json")), run_dir, console=stderr_console())
    with working(f"exporting {run_dir}: int8 conversion, calibration over every subnet, accuracy"):
        summary, result = pipe.step_export(out_path)
    click.echo(summary)
    for line in pipe.warnings:
        click.echo(f"reds: warning: {line}", err=True)
    own = run / "model.tflite"
    if out_path is None or out_path.resolve() == own.resolve():
        return own
    card = load_card(own) or {}
    for k, acc in enumerate(result["int8_accuracy"]):
        rows = card.setdefault("subnets", [])
        while len(rows) <= k:
            rows.append({"subnet": len(rows)})
        rows[k].pop("device_accuracy", None)  # measured on the run's own export, not this one
        rows[k]["int8_accuracy"] = acc
    write_card(out_path, card)
    return out_path
