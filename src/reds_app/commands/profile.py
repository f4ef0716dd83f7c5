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
@click.option("--runs", type=click.IntRange(min=1), default=8, show_default=True,
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
@click.option("--fit", "n_fit", type=click.IntRange(min=4), default=12, show_default=True,
              help="Width vectors the fit uses (at least 4: 4 coefficients per op).")
@click.option("--held-back", "n_test", type=click.IntRange(min=0), default=6, show_default=True,
              help="Extra random width vectors only used to measure the fit error.")
@click.option("--runs", type=click.IntRange(min=1), default=8, show_default=True,
              help="Profiled inferences per width vector.")
@click.option("--width-step", type=click.IntRange(min=1), default=4, show_default=True,
              help="Calibrate (and later plan) widths that are multiples of this: the DSP "
                   "kernels work in blocks of 4 channels, a partial block costs a whole one.")
@click.option("--seed", type=int, default=0, show_default=True)
def calibrate_latency_cmd(model, out, n_fit, n_test, runs, width_step, seed, **board) -> None:
    """Fit a per-op latency model (constant + linear + bilinear in the widths) on the board."""
    from reds_bench.measure.latency_fit import calibrate

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
@click.option("--repeat", type=click.IntRange(min=1), default=200, show_default=True,
              help="Timed invokes per model and round (their median is the round's time).")
@click.option("--rounds", type=click.IntRange(min=1), default=5, show_default=True,
              help="Interleaved rounds: the spread of their medians says what a ratio can show.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the results here.")
def host_cmd(model, repeat, rounds, threads, json_path) -> None:
    """LiteRT latency per subnet on this CPU: sliced model vs zero-masked full model."""
    import json

    from reds.plan.host_latency import host_bench, threads_warning
    from reds_app.commands.common import writable_file

    data = _read(model)
    out = writable_file(json_path, "--json") if json_path else None
    warning = threads_warning(threads)
    if warning:  # now, before the timing
        click.echo(f"reds: warning: {warning}", err=True)
    res = host_bench(data, repeat=repeat, threads=threads, rounds=rounds)
    if out:
        out.write_text(json.dumps(res, indent=1) + "\n")
    click.echo(host_text(res))


def host_text(res: dict) -> str:
    """The `reds bench host` table: median (min–max over rounds) and, where the difference to
    the full model is larger than the spread, the share of the full model's time."""
    def cell(r, kind):
        share = r[f"{kind}_share"]
        rel = f"{100 * share:5.1f} %" if share is not None else "not distinguishable from the full model"
        return (f"{r[f'{kind}_us']:8.1f} µs ({r[f'{kind}_min_us']:.1f}–{r[f'{kind}_max_us']:.1f}) "
                f"{rel}")

    lines = [f"{res['runtime']} on {res['cpu']}, {res['threads']} thread(s) on {res['cores']} core(s); "
             f"median of {res['rounds']} rounds × {res['repeat']} invokes (min–max over rounds)"]
    for r in res["subnets"]:
        lines.append(f"subnet {r['subnet']}: sliced {cell(r, 'sliced')}   zero-masked full-size "
                     f"{cell(r, 'masked')}")
    return "\n".join(lines)
