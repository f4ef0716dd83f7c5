"""`reds train`: a recipe through pretrain, importance, plan, permute and fine-tune."""
from __future__ import annotations

from pathlib import Path

import click

from reds_app.commands.common import stderr_console


@click.command()
@click.option("--recipe", "recipe_path", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Run directory.")
@click.option("--data-dir", type=click.Path(exists=True, file_okay=False),
              help="Dataset folder (the recipe's dataset.data_dir), e.g. the Speech Commands root.")
def train(recipe_path: str, out: str, data_dir: str | None) -> None:
    """Pretrain → importance → plan → permute → joint fine-tune (resumes an interrupted run)."""
    from reds.pipeline.steps import Config, Pipeline
    from reds.pipeline.recipe import load_recipe

    cfg = Config.from_recipe(load_recipe(recipe_path))
    if data_dir:
        cfg.dataset = {**cfg.dataset, "data_dir": str(Path(data_dir).resolve())}
    pipe = Pipeline(cfg, Path(out).resolve(), console=stderr_console())  # resolved once, here
    pipe.train()
    click.echo(f"run directory: {out} (model.keras, plan.json, metrics.json)")
