"""`reds` command line: a thin layer that parses options, calls library functions and prints.

Every command returns data from an importable function; `--json` prints it as JSON. The bench's
commands (`reds bench ...`) are `reds_app.commands.bench`'s click group, mounted here.

Error policy (one for every command, `reds bench ...` included): an expected failure (bad file or
argument, a model the runtime refuses, a board or bench error, a missing directory) prints one
line `reds: error: <problem>; <what to do>` on stderr and exits 2; arguments and output paths
are checked before long work starts. A check that fails (verify, bench run) exits 1, Ctrl-C 130.
Anything else is a bug and keeps its traceback; `--debug` or `REDS_DEBUG=1` also shows the
traceback of expected failures.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from reds.errors import RedsError, UserError
from reds_bench.board import targets
from reds_app.commands.bench import bench
from reds_app.commands.profile import calibrate_latency_cmd, host_cmd, profile_cmd
from reds_app.commands.sched import bench_sched_cmd, sched

TARGET_CHOICE = click.Choice(targets.names())


def _emit(data, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)


def quiet_tensorflow(verbose: bool = False) -> None:
    """Silence TensorFlow's native logging before it is imported (`-v` keeps it)."""
    from reds_app.quiet import set_env

    set_env(verbose)


_debug_flag = [False]  # --debug of the running invocation


def debug_enabled() -> bool:
    return _debug_flag[0] or os.environ.get("REDS_DEBUG", "") not in ("", "0")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="reds-toolkit")
@click.option("-v", "--verbose", is_flag=True, help="Show TensorFlow's own log lines.")
@click.option("--debug", is_flag=True, help="Tracebacks for every error (also REDS_DEBUG=1).")
def cli(verbose: bool, debug: bool) -> None:
    """REDS: nested int8 subnetworks for microcontrollers, switched at runtime in O(1)."""
    _debug_flag[0] = debug
    quiet_tensorflow(verbose)


def writable_file(path: str | Path, option: str) -> Path:
    """An output file's path, its directory created now so that no work is lost at the end."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{option} {p} is a directory; give a file name inside it")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{option} {p}: cannot create its directory {p.parent} "
                        f"({err.strerror or err}); choose another path") from None
    if not os.access(p.parent, os.W_OK):
        raise UserError(f"{option} {p}: directory {p.parent} is not writable; choose another path")
    return p


def load_array(path: str | Path, option: str):
    """A numeric array from a .npy file (a .npz's `x`), or one line saying what is wrong."""
    import numpy as np

    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as err:
        if "pickle" in str(err):
            raise UserError(f"{option} {path} holds Python objects, not a numeric array; "
                            "save it with numpy.save(path, array.astype(numpy.int8))") from None
        raise UserError(f"{option} {path} is not a .npy/.npz array file ({err})") from None
    except (OSError, EOFError) as err:
        raise UserError(f"{option} {path} cannot be read as a .npy/.npz file ({err})") from None
    if not isinstance(data, np.ndarray):  # .npz
        if "x" not in data.files:
            raise UserError(f"{option} {path} has arrays {', '.join(data.files) or 'none'} but no "
                            "'x'; save inputs as numpy.savez(path, x=inputs, y=labels)")
        data = data["x"]
    if data.dtype.kind not in "iuf":
        raise UserError(f"{option} {path} holds {data.dtype} values; expected int8 or float numbers")
    if data.size == 0:
        raise UserError(f"{option} {path} is empty (shape {data.shape}); give at least one sample")
    return data


@cli.command()
@click.option("--target", type=TARGET_CHOICE, default="qemu_m4", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the reply as JSON.")
def boot(target: str, as_json: bool) -> None:
    """Build the firmware for TARGET, boot it and print its `name%` reply."""
    from reds_bench.board.firmware import boot_and_ask

    lines = boot_and_ask(target, "name")
    _emit({"target": target, "reply": lines}, as_json, "\n".join(lines))


@cli.command()
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
    report = run_demo(run_dir, target, fast, console=_console(), task=task)
    click.echo(f"report: {report}")


cli.add_command(bench)
bench.add_command(profile_cmd)
bench.add_command(calibrate_latency_cmd)
bench.add_command(host_cmd)
cli.add_command(sched, "sched")
bench.add_command(bench_sched_cmd, "sched")


def _console():
    """Step lines on stderr: one line each, never wrapped when stderr is a file or pipe."""
    from rich.console import Console

    con = Console(stderr=True)
    return con if con.is_terminal else Console(stderr=True, width=200, soft_wrap=True)


@cli.command()
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
    pipe = Pipeline(cfg, out, console=_console())
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
@click.option("--int8/--no-int8", default=True, show_default=True,
              help="Also convert every method's subnets to int8 as deployed and measure them on the "
                   "C runtime.")
@click.option("--json", "as_json", is_flag=True, help="Print compare.json instead of the table.")
def compare_cmd(recipe_path: str, out: str, methods: str, fast: bool, pretrain_epochs: int | None,
                finetune_epochs: int | None, seed: int | None, int8: bool, as_json: bool) -> None:
    """REDS against uniform-width, magnitude, random and independently trained subnets."""
    import contextlib

    from reds_app.compare import compare, measured_int8, table_rows

    with contextlib.redirect_stdout(sys.stderr):  # TF's converter prints; keep stdout for results
        doc = compare(recipe_path, out, methods=methods, fast=fast, console=_console(),
                      progress=sys.stderr.isatty(),
                      pretrain_epochs=pretrain_epochs, finetune_epochs=finetune_epochs, seed=seed,
                      int8=int8)
    if as_json:
        _emit(doc, True, "")
        return
    from rich.console import Console
    from rich.table import Table

    header, rows = table_rows(doc)
    kind = "float / int8" if measured_int8(doc) else "float"
    table = Table(*header, title=f"{doc['arch']} on {doc['dataset'].get('name')}: {kind} test accuracy % "
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
    from reds.plan.problem import plan_architecture
    from reds.pipeline.rundir import write_text

    try:
        budget_list = [float(b) for b in budgets.split(",") if b.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {budgets!r}",
                                 param_hint="--budgets") from None
    if not budget_list or any(b <= 0 for b in budget_list):
        raise click.BadParameter("budgets must be > 0 (fractions <= 1 or absolute MACs)",
                                 param_hint="--budgets")
    shape = _ints(input_shape)
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

    table = Table("budget", "status", "MACs", "% MACs", f"% {doc['cost_unit']}", "arena bytes", "objective",
                  "widths", title=f"{arch}: solved in {doc['solve_seconds']:.2f} s")
    for s in doc["subnets"]:
        table.add_row(f"{s['budget']:g}", s["status"], f"{s['macs']:,}", f"{100 * s['macs_fraction']:.1f}",
                      f"{100 * s['cost_fraction']:.1f}",
                      f"{s['arena_bytes']:,}" if s.get("arena_bytes") is not None else "–",
                      f"{s['objective']:.4g}", " ".join(f"{g}={w}" for g, w in s["widths"].items()))
    _stdout_console().print(table)
    from reds.pipeline.steps import plan_warnings

    for line in plan_warnings(doc):
        click.echo(f"reds: warning: {line}", err=True)


@cli.command("export")
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
    pipe = Pipeline(Config(**run.read_json("config.json")), run_dir, console=_console())
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


@cli.command("inspect")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def inspect_cmd(model: str, as_json: bool) -> None:
    """Subnetworks of a model: widths, MACs, parameter and arena bytes, accuracy, ops."""
    from pathlib import Path

    from reds.runtime.inspect import inspect_model, load_card
    from reds.tflite.flatbuffer import read_model_file

    path = Path(model)
    info = inspect_model(read_model_file(path), load_card(path))
    if as_json:
        _emit(info, True, "")
        return
    from rich.table import Table

    con = _stdout_console()
    con.print(f"[bold]{path}[/bold]: {info['file_bytes']:,} bytes, crc32 {info['crc32']}, "
              f"{info['num_ops']} ops ({', '.join(f'{k}×{v}' for k, v in info['ops'].items())})")
    for role in ("input", "output"):
        t = info[role]
        quant = (f", scale {t['scale']:.6g}, zero point {t['zero_point']}" if t["scale"] is not None
                 else ", not quantized")
        con.print(f"{role}: {t['dtype']} {t['shape']}{quant}")
    if info.get("class_names"):
        con.print(f"classes ({len(info['class_names'])}, output order): {', '.join(info['class_names'])}")
    rt = info["runtime"]
    con.print("runtime: runs this model" if rt["runs"] else
              f"runtime: [bold]refuses[/bold] this model ({rt['reason']}); MACs and arena bytes "
              "below are unknown")
    if info["reds"]:
        con.print(f"REDS metadata: {len(info['groups'])} channel groups, "
                  f"{info['metadata_overhead_bytes']:,} bytes ({info['metadata_overhead_percent']:.2f} % of the file)")
        con.print("groups: " + ", ".join(f"{g['name']} = {'/'.join(g['layers']) or '?'}"
                                         for g in info["groups"]))
    else:
        con.print("no REDS metadata: one subnet (the whole model)")
    table = Table("subnet", "widths (layer=channels)", "MACs", "% MACs", "param bytes", "arena bytes",
                  "float acc", "int8 acc")
    for row in info["subnets"]:
        fmt = lambda v: "" if v is None else f"{100 * v:.1f} %"  # noqa: E731
        num = lambda v: "?" if v is None else f"{v:,}"  # noqa: E731
        table.add_row(str(row["subnet"]),
                      " ".join(f"{k}={w}" for k, w in row.get("layer_widths", {}).items()) or "full",
                      num(row.get("macs")), f"{100 * row.get('macs_fraction', 1):.1f}",
                      num(row["parameter_bytes"]), num(row.get("arena_bytes")),
                      fmt(row.get("float_accuracy")), fmt(row.get("int8_accuracy")))
    con.print(table)


def _stdout_console():
    """Rich console for results on stdout: never wraps lines when stdout is a file or pipe."""
    from rich.console import Console

    con = Console()
    return con if con.is_terminal else Console(width=200, soft_wrap=True)


@cli.command("inspect-keras")
@click.argument("model")
@click.option("--input-shape", help="For a builder module:function, e.g. 49,10,1.")
@click.option("--classes", type=int, help="For a builder module:function.")
@click.option("--json", "as_json", is_flag=True)
def inspect_keras_cmd(model: str, input_shape: str | None, classes: int | None, as_json: bool) -> None:
    """Channel groups, sliceable layers and MACs REDS finds in a Keras model (a .keras/.h5 file
    or a builder package.module:function), or why a layer cannot be sliced: check before training."""
    from pathlib import Path

    from reds.model.user import describe_model, load_arch, resolve_arch

    shape = _ints(input_shape) if input_shape else None
    spec = resolve_arch(model, Path.cwd())
    if spec.kind == "zoo":
        from reds.model.zoo import build_model

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
@click.option("-n", "--inputs", "n", type=click.IntRange(min=1), default=20, show_default=True,
              help="Random inputs per subnet.")
@click.option("--data", type=click.Path(exists=True, dir_okay=False),
              help=".npz with x (int8, model input encoding) and optionally y (labels), or a .npy of x.")
@click.option("--json", "as_json", is_flag=True)
def verify(model: str, n: int, data: str | None, as_json: bool) -> None:
    """C runtime on the nested file == TFLM on each sliced subnet, bit for bit."""
    import numpy as np

    from reds.tflite.flatbuffer import read_model_file
    from reds.runtime.verify import verify_model

    blob = read_model_file(model)
    _require_runtime(blob, model)
    xs = labels = None
    if data:
        xs = load_array(data, "--data")
        if str(data).endswith(".npz"):
            with np.load(data, allow_pickle=False) as arrays:
                labels = arrays["y"] if "y" in arrays.files else None
        from reds_app.execute import input_batch

        xs = input_batch(blob, xs)
        if labels is not None and len(labels) != len(xs):
            raise UserError(f"--data {data}: {len(xs)} inputs but {len(labels)} labels; "
                            "give one label per input")
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
@click.option("--quantize", is_flag=True,
              help="The input is float: quantize it with the model's input scale and zero point.")
@click.option("--dequantize", is_flag=True,
              help="Write float outputs (the model's output scale and zero point applied).")
@click.option("--subnet", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--target", type=TARGET_CHOICE, default="native", show_default=True)
@click.option("--repeat", type=click.IntRange(min=0), default=0,
              help="Also time N inferences on the target.")
@click.option("--json", "as_json", is_flag=True)
def exec_cmd(model: str, input_path: str, output_path: str, quantize: bool, dequantize: bool,
             subnet: int, target: str, repeat: int, as_json: bool) -> None:
    """Run the C runtime (host library or emulated board) on inputs from a .npy file."""
    import numpy as np

    from reds_app.execute import dequantize_output, execute, quantize_batch
    from reds.tflite.flatbuffer import read_model_file

    blob = read_model_file(model)
    _require_runtime(blob, model)
    out_path = writable_file(output_path, "--output")
    x = load_array(input_path, "--input")
    if quantize:
        x = quantize_batch(blob, x)
    res = execute(blob, x, subnet=subnet, target=target, repeat=repeat)
    outputs = dequantize_output(blob, res.outputs) if dequantize else res.outputs
    np.save(out_path, outputs)
    text = f"wrote {output_path}: {outputs.shape} {outputs.dtype} (subnet {subnet}, {target})"
    if res.timing:
        text += (f"\n{format_quantity(res.timing['per_inference'], res.timing['unit'])} per inference "
                 f"({repeat} runs)")
    _emit({"output": output_path, "shape": list(outputs.shape), "dtype": str(outputs.dtype),
           "timing": res.timing}, as_json, text)


def _require_runtime(blob: bytes, model: str) -> None:
    """Refuse early, in one line, a model the C runtime will not load (float ops, ...)."""
    from reds.runtime.inspect import runtime_support

    reason = runtime_support(blob)
    if reason:
        raise UserError(f"{model}: the REDS C runtime cannot run this model: {reason}; "
                        "`reds inspect` shows its ops and tensor types (the runtime runs "
                        "full-integer int8 models, e.g. from `reds export`)")


def format_quantity(value: float, unit: str) -> str:
    """`538.9 µs`, `1.62 ns`, `1,234 instructions`: a few significant digits and the unit."""
    if unit in ("instructions", "instr", "ticks", "bytes", "MACs"):
        return f"{value:,.0f} {unit}"
    if unit == "ns":
        for scale, name in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
            if abs(value) >= scale:
                return f"{value / scale:.4g} {name}"
        return f"{value:.3g} ns"
    return f"{value:.4g} {unit}"


def main(argv: list[str] | None = None) -> int:
    verbose = _wants_verbose(argv)
    quiet_tensorflow(verbose)  # before anything imports TensorFlow
    if verbose or sys.stderr is not sys.__stderr__:  # -v, or stderr already captured (tests)
        return _main(argv)
    from reds_app.quiet import NativeLogFilter

    try:
        sys.stderr.fileno()
    except (OSError, ValueError):  # no real stderr to filter
        return _main(argv)
    with NativeLogFilter():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    _debug_flag[0] = False
    try:
        cli.main(args=argv, prog_name="reds", standalone_mode=False)
    except (RedsError, OSError) as err:
        if isinstance(err, OSError) and not isinstance(err, (FileNotFoundError, PermissionError,
                                                             IsADirectoryError, NotADirectoryError)):
            raise
        if debug_enabled():
            import traceback

            traceback.print_exc()
        click.echo(f"reds: error: {_one_line(err)}", err=True)
        return 2
    except click.exceptions.Exit as ex:
        return ex.exit_code
    except click.ClickException as ex:  # usage errors too: one line, and where to look
        ctx = getattr(ex, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        click.echo(f"reds: error: {' '.join(ex.format_message().split())}{hint}", err=True)
        return ex.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("reds: interrupted; finished steps are kept, rerun the same command to resume "
                   "(`reds bench run`: with --resume)", err=True)
        return 130
    except SystemExit as ex:  # commands that report failure by exit code (verify, bench run)
        return ex.code if isinstance(ex.code, int) else 1
    return 0


def _wants_verbose(argv: list[str] | None) -> bool:
    args = sys.argv[1:] if argv is None else argv
    return bool({"-v", "--verbose"} & set(args[:1]))


def _one_line(err: Exception) -> str:
    if isinstance(err, OSError) and err.filename:
        return f"{err.filename}: {err.strerror}; check the path"
    text = " ".join(str(err).split())
    from reds.runtime.binding import RedsRuntimeError

    if isinstance(err, RedsRuntimeError):
        text += " (the REDS C runtime refused it; `reds inspect MODEL` shows why)"
    return text


if __name__ == "__main__":
    sys.exit(main())
