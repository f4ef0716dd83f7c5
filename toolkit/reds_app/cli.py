"""`reds` command line: a thin layer that parses options, calls library functions and prints.

Every command returns data from an importable function; `--json` prints it as JSON. The bench's
commands (`reds bench ...`) are `reds_bench.cli`'s click group, mounted here. Errors the user
can fix (`reds.errors.UserError`, the bench's `BenchError` included) print one line and exit 2;
a check that fails (verify, bench run) exits 1; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import json
import os
import sys

import click

from reds.errors import UserError
from reds_bench import targets
from reds_bench.cli import bench
from reds_bench.profile_cli import calibrate_latency_cmd, host_cmd, profile_cmd

TARGET_CHOICE = click.Choice(targets.names())


def _emit(data, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="reds-toolkit")
def cli() -> None:
    """REDS: nested int8 subnetworks for microcontrollers, switched at runtime in O(1)."""


@cli.command()
@click.option("--target", type=TARGET_CHOICE, default="qemu_m4", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the reply as JSON.")
def boot(target: str, as_json: bool) -> None:
    """Build the firmware for TARGET, boot it and print its `name%` reply."""
    from reds_bench.firmware import boot_and_ask

    lines = boot_and_ask(target, "name")
    _emit({"target": target, "reply": lines}, as_json, "\n".join(lines))


@cli.command()
@click.option("--out", type=click.Path(file_okay=False), default="runs/demo", show_default=True)
@click.option("--target", type=TARGET_CHOICE, default="qemu_m4", show_default=True)
@click.option("--fast", is_flag=True, help="Fewer epochs and samples (what the tests run).")
def demo(out: str, target: str, fast: bool) -> None:
    """The whole pipeline on the bundled digits dataset, ending in OUT/report.md."""
    from .demo import run_demo

    report = run_demo(out, target, fast, console=_console())
    click.echo(f"report: {report}")


cli.add_command(bench)
bench.add_command(profile_cmd)
bench.add_command(calibrate_latency_cmd)
bench.add_command(host_cmd)


def _console():
    from rich.console import Console

    return Console(stderr=True)


@cli.command()
@click.option("--recipe", "recipe_path", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Run directory.")
def train(recipe_path: str, out: str) -> None:
    """Pretrain → importance → plan → permute → joint fine-tune (resumes an interrupted run)."""
    from reds.pipeline import Config, Pipeline
    from reds.recipe import load_recipe

    pipe = Pipeline(Config.from_recipe(load_recipe(recipe_path)), out, console=_console())
    pipe.train()
    click.echo(f"run directory: {out} (model.keras, plan.json, metrics.json)")


@cli.command("compare")
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
@click.option("--json", "as_json", is_flag=True, help="Print compare.json instead of the table.")
def compare_cmd(recipe_path: str, out: str, methods: str, fast: bool, pretrain_epochs: int | None,
                finetune_epochs: int | None, seed: int | None, as_json: bool) -> None:
    """REDS against uniform-width, magnitude, random and independently trained subnets."""
    import contextlib

    from .compare import compare, table_rows

    with contextlib.redirect_stdout(sys.stderr):  # TF's converter prints; keep stdout for results
        doc = compare(recipe_path, out, methods=methods, fast=fast, console=_console(),
                      pretrain_epochs=pretrain_epochs, finetune_epochs=finetune_epochs, seed=seed)
    if as_json:
        _emit(doc, True, "")
        return
    from rich.console import Console
    from rich.table import Table

    header, rows = table_rows(doc)
    table = Table(*header, title=f"{doc['arch']} on {doc['dataset'].get('name')}: float test accuracy % "
                                 "(MACs % of full)")
    for row in rows:
        table.add_row(*row)
    con = Console()
    if not con.is_terminal:
        con = Console(width=120)
    con.print(table)
    con.print("seconds: " + ", ".join(f"{m} {r['seconds']:.0f}" for m, r in doc["methods"].items())
              + f" (+ {doc['shared']['pretrain_seconds']:.0f} shared pretrain)")
    con.print(f"wrote {out}/compare.json and {out}/compare.md")


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None


@cli.command()
@click.option("--arch", required=True, help="Zoo architecture, e.g. ds_cnn_l, dnn_s, resnet8.")
@click.option("--input-shape", required=True, help="e.g. 49,10,1")
@click.option("--classes", type=int, required=True)
@click.option("--budgets", default="0.75,0.5,0.25", show_default=True,
              help="Fractions of the full MACs (<= 1) or absolute MACs; 1.0 is always added.")
@click.option("--peak-memory", type=int, help="Arena byte cap for every subnet.")
@click.option("--scores", type=click.Choice(["magnitude", "taylor", "random"]), default="magnitude",
              show_default=True)
@click.option("--dataset", help="Dataset for Taylor scores (e.g. digits).")
@click.option("--min-width", type=int, default=1, show_default=True)
@click.option("--time-limit", type=float, default=60.0, show_default=True, help="Seconds per subnet.")
@click.option("--budget-kind", type=click.Choice(["macs", "latency"]), default="macs", show_default=True,
              help="latency: budgets are fractions of the full latency (or absolute instructions).")
@click.option("--latency-model", type=click.Path(dir_okay=False),
              help="latency_model.json from reds bench calibrate-latency.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the plan here.")
def plan(arch, input_shape, classes, budgets, peak_memory, scores, dataset, min_width, time_limit,
         budget_kind, latency_model, json_path) -> None:
    """Exact nested widths for MAC (and arena) budgets of a zoo architecture."""
    from reds.pipeline import plan_architecture
    from reds.rundir import write_text

    budget_list = [float(b) for b in budgets.split(",") if b.strip()]
    doc = plan_architecture(arch, _ints(input_shape), classes, budget_list, peak_memory, scores,
                            dataset, min_width=min_width, time_limit=time_limit,
                            latency_model=latency_model, budget_kind=budget_kind)
    if json_path:
        from pathlib import Path

        write_text(Path(json_path), json.dumps(doc, indent=2) + "\n")
    from rich.console import Console
    from rich.table import Table

    table = Table("budget", "status", "MACs", "% MACs", f"% {doc['cost_unit']}", "arena bytes", "objective",
                  "widths", title=f"{arch}: solved in {doc['solve_seconds']:.2f} s")
    for s in doc["subnets"]:
        table.add_row(f"{s['budget']:g}", s["status"], f"{s['macs']:,}", f"{100 * s['macs_fraction']:.1f}",
                      f"{100 * s['cost_fraction']:.1f}",
                      f"{s['arena_bytes']:,}" if s.get("arena_bytes") is not None else "–",
                      f"{s['objective']:.4g}", " ".join(str(w) for w in s["widths"].values()))
    Console().print(table)


@cli.command("export")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="Output .tflite (default RUN_DIR/model.tflite).")
@click.option("--c-array", "c_array", type=click.Path(dir_okay=False),
              help="Also write a C source/header pair for firmware embedding (e.g. model_data.c).")
def export_cmd(run_dir: str, out: str | None, c_array: str | None) -> None:
    """One int8 .tflite with every subnetwork of a trained run, plus REDS metadata."""
    from pathlib import Path

    from reds.export import write_c_array
    from reds.pipeline import Config, Pipeline
    from reds.rundir import RunDir

    run = RunDir(run_dir)
    for need in ("config.json", "plan.json", "model.keras"):
        if not (run / need).exists():
            raise UserError(f"{run_dir} has no {need}: run `reds train` first")
    pipe = Pipeline(Config(**run.read_json("config.json")), run_dir, console=_console())
    summary, _ = pipe.step_export(Path(out) if out else None)
    click.echo(summary)
    if c_array:
        target = Path(out) if out else run / "model.tflite"
        c, h = write_c_array(target.read_bytes(), Path(c_array), source=target.name)
        click.echo(f"wrote {c} and {h}")


@cli.command("inspect")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def inspect_cmd(model: str, as_json: bool) -> None:
    """Subnetworks of a model: widths, MACs, parameter and arena bytes, accuracy, ops."""
    from pathlib import Path

    from reds.inspection import inspect_model, load_card
    from reds.tflite_io import read_model_file

    path = Path(model)
    info = inspect_model(read_model_file(path), load_card(path))
    if as_json:
        _emit(info, True, "")
        return
    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(f"[bold]{path}[/bold]: {info['file_bytes']:,} bytes, crc32 {info['crc32']}, "
              f"{info['num_ops']} ops ({', '.join(f'{k}×{v}' for k, v in info['ops'].items())})")
    if info["reds"]:
        con.print(f"REDS metadata: {len(info['groups'])} channel groups, "
                  f"{info['metadata_overhead_bytes']} bytes ({info['metadata_overhead_percent']:.2f} % of the file)")
    table = Table("subnet", "widths", "MACs", "% MACs", "param bytes", "arena bytes",
                  "float acc", "int8 acc")
    for row in info["subnets"]:
        fmt = lambda v: "" if v is None else f"{100 * v:.1f} %"  # noqa: E731
        table.add_row(str(row["subnet"]), " ".join(str(w) for w in row["widths"].values()),
                      f"{row.get('macs', 0):,}", f"{100 * row.get('macs_fraction', 1):.1f}",
                      f"{row['parameter_bytes']:,}", f"{row.get('arena_bytes', 0):,}",
                      fmt(row.get("float_accuracy")), fmt(row.get("int8_accuracy")))
    con.print(table)


@cli.command("inspect-keras")
@click.argument("model")
@click.option("--input-shape", help="For a builder module:function, e.g. 49,10,1.")
@click.option("--classes", type=int, help="For a builder module:function.")
@click.option("--json", "as_json", is_flag=True)
def inspect_keras_cmd(model: str, input_shape: str | None, classes: int | None, as_json: bool) -> None:
    """Channel groups, sliceable layers and MACs REDS finds in a Keras model (a .keras/.h5 file
    or a builder package.module:function), or why a layer cannot be sliced: check before training."""
    from pathlib import Path

    from reds.user_model import describe_model, load_arch, resolve_arch

    shape = _ints(input_shape) if input_shape else None
    spec = resolve_arch(model, Path.cwd())
    if spec.kind == "zoo":
        from reds.zoo import build_model

        info = describe_model(build_model(model, input_shape=shape, num_classes=classes or 12))
    else:
        info = describe_model(load_arch(spec, shape, classes, Path.cwd()))
    if as_json:
        _emit(info, True, "")
        return
    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(f"[bold]{info['name']}[/bold]: input {info['input_shape']}, {info['outputs']} outputs, "
              f"{info['parameters']:,} parameters, {info['macs']:,} MACs at full width")
    groups = Table("group", "units", "producers", "depthwise", "consumers")
    for g in info["groups"]:
        groups.add_row(g["name"], str(g["units"]), ", ".join(g["producers"]), ", ".join(g["depthwise"]),
                       ", ".join(c["layer"] for c in g["consumers"]))
    con.print(groups)
    layers = Table("layer", "type", "output group", "input group", "MACs")
    for r in info["layers"]:
        layers.add_row(r["name"], r["type"], r["group"] or "fixed", r["in_group"] or "fixed", f"{r['macs']:,}")
    con.print(layers)


@cli.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("-n", "--inputs", "n", default=20, show_default=True, help="Random inputs per subnet.")
@click.option("--data", type=click.Path(exists=True, dir_okay=False),
              help=".npz with x (int8, model input encoding) and optionally y (labels).")
@click.option("--json", "as_json", is_flag=True)
def verify(model: str, n: int, data: str | None, as_json: bool) -> None:
    """C runtime on the nested file == TFLM on each sliced subnet, bit for bit."""
    import numpy as np

    from reds.tflite_io import read_model_file
    from reds.verify import verify_model

    blob = read_model_file(model)
    xs = labels = None
    if data:
        arrays = np.load(data)
        xs, labels = arrays["x"], arrays["y"] if "y" in arrays else None
    rep = verify_model(blob, xs=xs, n=n, labels=labels)
    text = "\n".join(
        f"subnet {r['subnet']}: {'bit-exact' if r['bit_exact'] else 'MISMATCH'} on {r['inputs']} inputs"
        + (f", int8 accuracy {100 * r['int8_accuracy']:.1f} %" if "int8_accuracy" in r else "")
        for r in rep.subnets)
    if not rep.ok:
        text += "\n" + "\n".join(f"  {m}" for m in rep.mismatches[:20])
    _emit(rep.to_dict(), as_json, text)
    if not rep.ok:
        raise SystemExit(1)


@cli.command("exec")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False), required=True,
              help=".npy input; a leading batch axis runs every sample.")
@click.option("--output", "output_path", type=click.Path(dir_okay=False), required=True)
@click.option("--subnet", type=int, default=0, show_default=True)
@click.option("--target", type=TARGET_CHOICE, default="native", show_default=True)
@click.option("--repeat", type=int, default=0, help="Also time N inferences on the target.")
@click.option("--json", "as_json", is_flag=True)
def exec_cmd(model: str, input_path: str, output_path: str, subnet: int, target: str,
             repeat: int, as_json: bool) -> None:
    """Run the C runtime (host library or emulated board) on inputs from a .npy file."""
    import numpy as np

    from .execute import execute
    from reds.tflite_io import read_model_file

    res = execute(read_model_file(model), np.load(input_path), subnet=subnet, target=target,
                  repeat=repeat)
    np.save(output_path, res.outputs)
    text = f"wrote {output_path}: {res.outputs.shape} {res.outputs.dtype} (subnet {subnet}, {target})"
    if res.timing:
        text += f"\n{res.timing['per_inference']:.0f} {res.timing['unit']} per inference ({repeat} runs)"
    _emit({"output": output_path, "shape": list(res.outputs.shape), "timing": res.timing}, as_json, text)


def main(argv: list[str] | None = None) -> int:
    # TensorFlow's C++ start-up chatter hides the one-line step results.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        cli.main(args=argv, prog_name="reds", standalone_mode=False)
    except UserError as err:
        click.echo(f"reds: error: {err}", err=True)
        return 2
    except click.exceptions.Exit as ex:
        return ex.exit_code
    except click.ClickException as ex:
        ex.show()
        return ex.exit_code
    except click.exceptions.Abort:
        click.echo("reds: aborted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("reds: interrupted; finished steps are kept, rerun to resume "
                   "(`reds bench run`: with --resume)", err=True)
        return 130
    except SystemExit as ex:  # commands that report failure by exit code (verify, bench run)
        return ex.code if isinstance(ex.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
