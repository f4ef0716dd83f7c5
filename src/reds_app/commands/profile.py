"""``reds bench profile`` and ``reds bench calibrate-latency`` (mounted into the ``reds bench``
group by ``reds_app.cli``): thin click commands over ``profile`` and ``latency``.

    reds bench profile model.tflite --target qemu_m4 --out out/profile
    reds bench calibrate-latency model.tflite --target qemu_m4 [--out latency_model.json]
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from reds_app.commands.bench import _board_options, _open
from reds_bench.errors import BenchError


def _read(model: str) -> bytes:
    try:
        return Path(model).read_bytes()
    except OSError as e:
        raise BenchError(f"cannot read model {model}: {e.strerror}") from None


@click.command("profile")
@click.argument("model", type=click.Path(dir_okay=False))
@_board_options
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder for profile.json/.csv/.md/.png.")
@click.option("--runs", type=int, default=8, show_default=True,
              help="Profiled inferences per subnet (their mean resolves below one timer tick).")
@click.option("--latency-model", type=click.Path(dir_okay=False),
              help="latency_model.json: add its prediction beside each measured subnet.")
@click.option("--no-upload", is_flag=True, help="Fail instead of uploading another model.")
@click.option("--no-plots", is_flag=True)
def profile_cmd(model, out, runs, latency_model, no_upload, no_plots, **board) -> None:
    """Per-op profile of every subnet: op, shapes, MACs, ticks/instructions, share."""
    from reds_bench.measure.profile import markdown, profile_model, write_profile

    data = _read(model)
    lm = None
    if latency_model:
        from reds.plan.latency_model import load

        lm = load(latency_model)
        lm.check(data, target=board.get("target"), path=latency_model)  # before the board work
    with _open(**board) as dut:
        res = profile_model(dut, data, upload=not no_upload, path=model, runs=runs)
    if lm is not None:
        from reds_bench.measure.latency_fit import planned_vs_measured, planned_vs_measured_markdown

        res["planned_vs_measured"] = planned_vs_measured(lm, data, res["subnets"], path=latency_model)
    write_profile(res, out, plot=not no_plots)
    if lm is not None:
        with open(Path(out) / "profile.md", "a") as f:
            f.write("\n## Latency model vs measured\n\n"
                    + planned_vs_measured_markdown(res["planned_vs_measured"], res["unit"]))
    if sys.stdout.isatty():
        click.echo(markdown(res))
    click.echo(f"wrote {out}/profile.json, profile.csv, profile.md")


@click.command("calibrate-latency")
@click.argument("model", type=click.Path(dir_okay=False))
@_board_options
@click.option("--out", type=click.Path(dir_okay=False),
              help="Where to write it (default: latency_model.json beside MODEL).")
@click.option("--fit", "n_fit", type=int, default=12, show_default=True,
              help="Width vectors the fit uses.")
@click.option("--held-back", "n_test", type=int, default=6, show_default=True,
              help="Extra random width vectors only used to measure the fit error.")
@click.option("--runs", type=int, default=8, show_default=True,
              help="Profiled inferences per width vector.")
@click.option("--width-step", type=int, default=4, show_default=True,
              help="Calibrate (and later plan) widths that are multiples of this: the DSP "
                   "kernels work in blocks of 4 channels, a partial block costs a whole one.")
@click.option("--seed", type=int, default=0, show_default=True)
def calibrate_latency_cmd(model, out, n_fit, n_test, runs, width_step, seed, **board) -> None:
    """Fit a per-op latency model (constant + linear + bilinear in the widths) on the board."""
    from reds_bench.measure.latency_fit import calibrate

    if n_fit < 4:
        raise BenchError("--fit needs at least 4 width vectors (4 coefficients per op)")
    data = _read(model)
    target = board.get("target") or board.get("env")
    with _open(**board) as dut:
        lm = calibrate(dut, data, target, n_fit=n_fit, n_test=n_test, seed=seed, runs=runs,
                       width_step=width_step)
    path = lm.save(out or Path(model).with_name("latency_model.json"))
    err = lm.fit_error.get("held_back", {})
    click.echo(f"wrote {path}: {len(lm.ops)} ops, unit {lm.unit}; held-back error "
               f"max {100 * (err.get('max') or 0):.2f} %, mean {100 * (err.get('mean') or 0):.2f} %")


@click.command("host")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--repeat", type=int, default=200, show_default=True, help="Timed invokes per model.")
@click.option("--threads", type=int, default=1, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the results here.")
def host_cmd(model, repeat, threads, json_path) -> None:
    """LiteRT latency per subnet on this CPU: sliced model vs zero-masked full model."""
    import json

    from reds.plan.host_latency import host_bench

    res = host_bench(_read(model), repeat=repeat, threads=threads)
    if json_path:
        Path(json_path).write_text(json.dumps(res, indent=1) + "\n")
    click.echo(f"{res['runtime']} on {res['cpu']}, {threads} thread(s), median of {repeat}")
    for r in res["subnets"]:
        click.echo(f"subnet {r['subnet']}: sliced {r['sliced_us']:8.1f} µs ({100 * r['sliced_share']:5.1f} %)"
                   f"   zero-masked full-size {r['masked_us']:8.1f} µs ({100 * r['masked_share']:5.1f} %)")
