"""`reds export`: one int8 .tflite of a trained run (and C source, standalone subnets)."""
from __future__ import annotations


import click

from reds.errors import UserError
from reds_app.commands.common import stderr_console, writable_file


@click.command("export")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False),
              help="Output .tflite (default RUN_DIR/model.tflite; elsewhere leaves RUN_DIR as it is).")
@click.option("--c-array", "c_array", type=click.Path(dir_okay=False),
              help="Also write a C source/header pair for firmware embedding (e.g. model_data.c).")
@click.option("--symbol", default="reds_default_model", show_default=True,
              help="C symbol of the --c-array (also NAME_len and NAME_CRC32).")
@click.option("--standalone", type=click.Path(file_okay=False),
              help="Also write one plain sliced .tflite per subnet here (for LiteRT on phones).")
def export_cmd(run_dir: str, out: str | None, c_array: str | None, symbol: str,
               standalone: str | None) -> None:
    """One int8 .tflite with every subnetwork of a trained run, plus REDS metadata."""
    import re

    from reds.export.c_array import write_c_array
    from reds.pipeline.steps import Config, Pipeline
    from reds.pipeline.rundir import RunDir

    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", symbol):
        raise UserError(f"--symbol {symbol!r} is not a C identifier; use letters, digits and _")
    run = RunDir(run_dir)
    for need in ("config.json", "plan.json", "model.keras"):
        if not (run / need).exists():
            raise UserError(f"{run_dir} has no {need}: run `reds train` first")
    out_path = writable_file(out, "--out") if out else None
    c_path = writable_file(c_array, "--c-array") if c_array else None
    pipe = Pipeline(Config(**run.read_json("config.json")), run_dir, console=stderr_console())
    summary, _ = pipe.step_export(out_path)
    click.echo(summary)
    for line in pipe.warnings:
        click.echo(f"reds: warning: {line}", err=True)
    if c_path:
        target = out_path or run / "model.tflite"
        c, h = write_c_array(target.read_bytes(), c_path, symbol=symbol, source=target.name)
        click.echo(f"wrote {c} and {h} (symbol {symbol})")
    if standalone:
        from reds.export.nested import write_standalone

        paths = write_standalone((out_path or run / "model.tflite").read_bytes(), standalone)
        click.echo(f"wrote {len(paths)} standalone subnets to {standalone} "
                   f"({', '.join(f'{p.name} {p.stat().st_size:,} B' for p in paths)})")
