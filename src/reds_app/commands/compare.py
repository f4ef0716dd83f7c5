"""`reds compare`: REDS against its baselines at the same budgets."""
from __future__ import annotations

import sys

import click

from reds_app.commands.common import emit, stderr_console, stdout_console
from reds_app.quiet import progress_wanted


@click.command("compare")
@click.option("--recipe", "recipe_path", type=click.Path(exists=True), required=True,
              help="Recipe YAML (or its directory).")
@click.option("--out", type=click.Path(file_okay=False), default="runs/compare", show_default=True,
              help="Comparison directory (resumes an interrupted run).")
@click.option("--methods", default="reds,uniform,magnitude,random,independent", show_default=True,
              help="Comma-separated methods to run.")
@click.option("--fast", is_flag=True,
              help="4 pretrain / 3 fine-tune epochs, 10 importance batches, 100 calibration samples.")
@click.option("--pretrain-epochs", type=int, help="Override the recipe's pretrain epochs.")
@click.option("--finetune-epochs", type=int, help="Override the recipe's fine-tune epochs.")
@click.option("--seed", type=int, help="Override the recipe's seed (data split, init, batch order).")
@click.option("--int8/--no-int8", default=True, show_default=True,
              help="Also convert every method's subnets to int8 as deployed and measure them on the "
                   "C runtime.")
@click.option("--json", "as_json", is_flag=True, help="Print compare.json instead of the table.")
def compare_cmd(recipe_path: str, out: str, methods: str, fast: bool, pretrain_epochs: int | None,
                finetune_epochs: int | None, seed: int | None, int8: bool, as_json: bool) -> None:
    """REDS against uniform-width, magnitude, random and independently trained subnets."""
    import contextlib
    from pathlib import Path

    from reds_app.compare import compare, measured_int8, table_rows

    out_dir = Path(out).resolve()  # resolved once, here
    with contextlib.redirect_stdout(sys.stderr):  # TF's converter prints; keep stdout for results
        doc = compare(recipe_path, out_dir, methods=methods, fast=fast, console=stderr_console(),
                      progress=progress_wanted(),
                      pretrain_epochs=pretrain_epochs, finetune_epochs=finetune_epochs, seed=seed,
                      int8=int8)
    if as_json:
        emit(doc, True, "")
        return
    from rich.table import Table

    header, rows = table_rows(doc)
    kind = "float / int8" if measured_int8(doc) else "float"
    table = Table(*header, title=f"{doc['arch']} on {doc['dataset'].get('name')}: {kind} test accuracy % "
                                 "(MACs % of full)")
    for row in rows:
        table.add_row(*row)
    con = stdout_console()
    con.print(table)
    con.print("seconds: " + ", ".join(f"{m} {r['seconds']:.0f}" for m, r in doc["methods"].items())
              + f" (+ {doc['shared']['pretrain_seconds']:.0f} shared pretrain)")
    con.print(f"wrote {out}/compare.json and {out}/compare.md")
