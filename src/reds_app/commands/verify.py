"""`reds verify`: the C runtime equals TFLM on every subnet, bit for bit."""
from __future__ import annotations


import click

from reds.errors import UserError
from reds_app.commands.common import emit, load_array, require_runtime


@click.command()
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
    require_runtime(blob, model)
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
    emit(rep.to_dict(), as_json, text)
    if not rep.ok:
        raise SystemExit(1)
