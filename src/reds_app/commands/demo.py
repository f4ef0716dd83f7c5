"""`reds demo`: the whole pipeline on a bundled dataset."""
from __future__ import annotations

from pathlib import Path

import click

from reds.errors import UserError
from reds_app.commands.common import TARGET_CHOICE, stderr_console


@click.command()
@click.option("--task", type=click.Choice(["digits", "kws"]), default="digits", show_default=True,
              help="digits: scikit-learn's 8x8 digits (fast); kws: synthesized keywords "
                   "(models/kws_synth, needs espeak-ng, about 10 minutes).")
@click.option("--out", type=click.Path(file_okay=False),
              help="Run directory (default runs/demo, runs/demo-kws for --task kws).")
@click.option("--target", type=TARGET_CHOICE, default="qemu_m4", show_default=True)
@click.option("--fast", is_flag=True, help="Smoke test: fewer epochs and samples (what the tests run).")
def demo(task: str, out: str | None, target: str, fast: bool) -> None:
    """The whole pipeline on a bundled dataset, ending in OUT/report.md."""
    from reds_app.demo import TASKS, run_demo

    run_dir = out or TASKS[task][1]
    if Path(run_dir).exists() and not Path(run_dir).is_dir():
        raise UserError(f"--out {run_dir} is a file; give a directory")
    report = run_demo(Path(run_dir).resolve(), target, fast, console=stderr_console(), task=task)
    click.echo(f"report: {Path(run_dir) / report.name}")
