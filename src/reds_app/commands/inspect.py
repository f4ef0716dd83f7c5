"""`reds inspect` (a .tflite) and `reds inspect-keras` (a Keras model before training)."""
from __future__ import annotations

import click

from reds.errors import UserError
from reds_app.commands.common import emit, ints, stdout_console


def _table(*headers: str):
    from rich.table import Table

    table = Table()
    for h in headers:
        table.add_column(h, overflow="fold")
    return table


@click.command("inspect")
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
        emit(info, True, "")
        return
    con = stdout_console()
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
        con.print("channel groups (named by their first Conv2D/Dense layer"
                  + (", as the converter spelled it" if info["group_names_from"] == "converter" else "")
                  + "): " + ", ".join(f"{g['name']} ({g['full_width']})" for g in info["groups"]))
    else:
        con.print("no REDS metadata: one subnet (the whole model)")
    table = _table("subnet", "widths (group=channels)", "MACs", "% MACs", "param bytes", "arena bytes",
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


@click.command("inspect-keras")
@click.argument("model")
@click.option("--input-shape", help="For a builder module:function, e.g. 49,10,1.")
@click.option("--classes", type=int, help="For a builder module:function.")
@click.option("--json", "as_json", is_flag=True)
def inspect_keras_cmd(model: str, input_shape: str | None, classes: int | None, as_json: bool) -> None:
    """Channel groups, sliceable layers and MACs REDS finds in a Keras model (a .keras/.h5 file
    or a builder package.module:function), or why a layer cannot be sliced: check before training."""
    from pathlib import Path

    from reds_app.quiet import working

    shape = ints(input_shape) if input_shape else None
    with working(f"loading {model} and finding its channel groups"):
        from reds.model.user import describe_model, load_arch, resolve_arch

        spec = resolve_arch(model, Path.cwd())
        if spec.kind == "zoo":
            from reds.model.zoo import build_model

            info = describe_model(build_model(model, input_shape=shape, num_classes=classes or 12))
        else:
            if spec.kind == "builder":
                missing = [flag for flag, value in (("--input-shape", shape), ("--classes", classes))
                           if value is None]
                if missing:
                    raise UserError(f"{model} is a model builder, called with the input shape and the "
                                    f"number of classes: give {' and '.join(missing)} "
                                    "(e.g. --input-shape 49,10,1 --classes 12)")
            info = describe_model(load_arch(spec, shape, classes, Path.cwd()))
    if as_json:
        emit(info, True, "")
        return
    con = stdout_console()
    con.print(f"[bold]{info['name']}[/bold]: input {info['input_shape']}, {info['outputs']} outputs, "
              f"{info['parameters']:,} parameters, {info['macs']:,} MACs at full width")
    groups = _table("group", "units", "producers", "depthwise", "consumers")
    for g in info["groups"]:
        groups.add_row(g["name"], str(g["units"]), ", ".join(g["producers"]), ", ".join(g["depthwise"]),
                       ", ".join(c["layer"] for c in g["consumers"]))
    con.print(groups)
    layers = _table("layer", "type", "output group", "input group", "MACs")
    for r in info["layers"]:
        layers.add_row(r["name"], r["type"], r["group"] or "fixed", r["in_group"] or "fixed", f"{r['macs']:,}")
    con.print(layers)
