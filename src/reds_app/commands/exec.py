"""`reds exec`: run a model on the host runtime or an emulated board."""
from __future__ import annotations


import click

from reds_app.commands.common import TARGET_CHOICE, emit, format_quantity, load_array, require_runtime, writable_file


@click.command("exec")
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
@click.option("--labgrid-place", help="Run on this labgrid place's board instead (docs/lab.md).")
@click.option("--labgrid-coordinator", metavar="HOST:PORT",
              help="labgrid coordinator (default: $LG_COORDINATOR).")
@click.option("--wait", is_flag=True, help="Queue until the place is free.")
@click.option("--json", "as_json", is_flag=True)
def exec_cmd(model: str, input_path: str, output_path: str, quantize: bool, dequantize: bool,
             subnet: int, target: str, repeat: int, labgrid_place: str | None,
             labgrid_coordinator: str | None, wait: bool, as_json: bool) -> None:
    """Run the C runtime (host library or emulated board) on inputs from a .npy file."""
    import numpy as np

    from reds_app.execute import dequantize_output, execute, quantize_batch
    from reds_app.quiet import working
    from reds_bench.board.place import sigterm_raises
    from reds.tflite.flatbuffer import read_model_file

    blob = read_model_file(model)
    require_runtime(blob, model)
    out_path = writable_file(output_path, "--output")
    x = load_array(input_path, "--input")
    if quantize:
        x = quantize_batch(blob, x)
    # on a board: a firmware build, a boot and an upload, half a minute without a line
    place = ({"place": labgrid_place, "coordinator": labgrid_coordinator, "wait": wait}
             if labgrid_place else None)
    with sigterm_raises(), working(
            f"{labgrid_place or target}: building the firmware, booting the board, running the model",
            enabled=False if target == "native" and not place else None):
        res = execute(blob, x, subnet=subnet, target=target, repeat=repeat,
                      **({"place": place} if place else {}))
    outputs = dequantize_output(blob, res.outputs) if dequantize else res.outputs
    np.save(out_path, outputs)
    text = f"wrote {output_path}: {outputs.shape} {outputs.dtype} (subnet {subnet}, {target})"
    if res.timing:
        text += (f"\n{format_quantity(res.timing['per_inference'], res.timing['unit'])} per inference "
                 f"({repeat} runs)")
    emit({"output": output_path, "shape": list(outputs.shape), "dtype": str(outputs.dtype),
           "timing": res.timing}, as_json, text)
