"""`reds plan`: exact nested widths for an architecture of the zoo."""
from __future__ import annotations

import json

import click

from reds.errors import UserError
from reds_app.commands.common import ints, writable_file, stdout_console


@click.command()
@click.option("--arch", required=True, help="Zoo architecture, e.g. ds_cnn_l, dnn_s, resnet8.")
@click.option("--input-shape", required=True, help="e.g. 49,10,1")
@click.option("--classes", type=int, required=True)
@click.option("--budgets", default="0.75,0.5,0.25", show_default=True,
              help="Per --budget-kind: macs: fractions of the full model's MACs (<= 1) or "
                   "absolute MACs; latency: fractions of the full model's latency (<= 1) or "
                   "absolute counts in the latency model's unit (instructions under QEMU). "
                   "1.0 is always added.")
@click.option("--peak-memory", type=click.IntRange(min=1), help="Arena byte cap for every subnet.")
@click.option("--scores", type=click.Choice(["magnitude", "taylor", "random"]), default="magnitude",
              show_default=True)
@click.option("--dataset", help="Dataset for Taylor scores (e.g. digits).")
@click.option("--min-width", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=60.0,
              show_default=True, help="Seconds per subnet.")
@click.option("--budget-kind", type=click.Choice(["macs", "latency"]), default="macs", show_default=True,
              help="What --budgets cap: MACs, or latency predicted by --latency-model.")
@click.option("--latency-model", type=click.Path(dir_okay=False),
              help="latency_model.json from reds bench calibrate-latency.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the plan here.")
def plan(arch, input_shape, classes, budgets, peak_memory, scores, dataset, min_width, time_limit,
         budget_kind, latency_model, json_path) -> None:
    """Exact nested widths for MAC or latency (and arena) budgets of a zoo architecture."""
    from reds.plan.problem import plan_architecture
    from reds.pipeline.rundir import write_text

    try:
        budget_list = [float(b) for b in budgets.split(",") if b.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {budgets!r}",
                                 param_hint="--budgets") from None
    if not budget_list or any(b <= 0 for b in budget_list):
        absolute = "MACs" if budget_kind == "macs" else "counts in the latency model's unit"
        raise click.BadParameter(f"budgets must be > 0 (fractions <= 1 or absolute {absolute})",
                                 param_hint="--budgets")
    shape = ints(input_shape)
    if any(d < 1 for d in shape):
        raise UserError(f"--input-shape {input_shape}: every dimension must be >= 1")
    if classes < 2:
        raise UserError(f"--classes {classes}: a classifier needs at least 2 classes")
    out_path = writable_file(json_path, "--json") if json_path else None
    doc = plan_architecture(arch, shape, classes, budget_list, peak_memory, scores,
                            dataset, min_width=min_width, time_limit=time_limit,
                            latency_model=latency_model, budget_kind=budget_kind)
    if out_path:
        write_text(out_path, json.dumps(doc, indent=2) + "\n")
    from rich.table import Table

    other_cost = doc["cost_unit"] != "MACs"  # a latency plan: its own unit beside the MACs
    columns = ["budget", "status", "MACs", "% MACs"] + ([f"% {doc['cost_unit']}"] if other_cost else [])
    table = Table(*columns, "arena bytes", "objective", "widths",
                  title=f"{arch}: solved in {doc['solve_seconds']:.2f} s")
    for s in doc["subnets"]:
        cost = [f"{100 * s['cost_fraction']:.1f}"] if other_cost else []
        table.add_row(f"{s['budget']:g}", s["status"], f"{s['macs']:,}", f"{100 * s['macs_fraction']:.1f}",
                      *cost, f"{s['arena_bytes']:,}" if s.get("arena_bytes") is not None else "–",
                      f"{s['objective']:.4g}", " ".join(f"{g}={w}" for g, w in s["widths"].items()))
    stdout_console().print(table)
    from reds.pipeline.steps import plan_warnings

    for line in plan_warnings(doc):
        click.echo(f"reds: warning: {line}", err=True)
