"""`reds sched ...`: command group over the scheduler simulator (thin: parse, call, print).

    reds sched simulate --latency results.json --accuracy metrics.json --trace bursty --out DIR
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from reds.errors import UserError
from reds.sched import report as sched_report, traces as sched_traces
from reds.sched.model import ONE, POLICIES, SchedulerError, Task, choose_timing, simulate

from reds_app.commands.common import TARGET_CHOICE


def _us_to_ticks(us: float | None, hz: int) -> int | None:
    return None if us is None else max(1, round(us * hz / 1_000_000))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def sched() -> None:
    """Subnetwork scheduler: simulate policies on interference traces."""


@sched.command()
@click.option("--latency", required=True,
              help="Per-subnet latency in timer ticks: bench results.json or '13000,10500,...'.")
@click.option("--accuracy", required=True,
              help="Per-subnet accuracy: metrics.json or '0.99,0.97,...'.")
@click.option("--accuracy-key", default=None,
              help="metrics.json field (Default: device_accuracy, else int8_, else float_).")
@click.option("--target", default="qemu_m4", show_default=True,
              help="Timer rate and energy profile of this target.")
@click.option("--hz", type=int, default=None, help="Timer ticks per second (Default: by target).")
@click.option("--trace", default="bursty", show_default=True,
              help=f"{', '.join(sched_traces.KINDS)} or a CSV file (docs/scheduler.md).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bursty trace.")
@click.option("--windows", type=int, default=sched_traces.MAX_WINDOWS, show_default=True,
              help="Windows of a generated trace.")
@click.option("--jobs", type=int, default=600, show_default=True)
@click.option("--period-us", type=float, default=None,
              help="Task period (Default: chosen so that always-full misses under load).")
@click.option("--deadline-us", type=float, default=None, help="Relative deadline (Default: period).")
@click.option("--window-us", type=float, default=None,
              help="Interference window (Default: a quarter of the period).")
@click.option("--margin", type=float, default=0.1, show_default=True,
              help="Safety margin on predicted latency (0.1 = +10 %).")
@click.option("--up-after", type=int, default=4, show_default=True,
              help="Jobs with slack before stepping up to a wider subnet.")
@click.option("--ewma-shift", type=int, default=3, show_default=True,
              help="Slowdown estimate decays with weight 2^-shift.")
@click.option("--policy", "policies", multiple=True, type=click.Choice(POLICIES),
              help="Policies to run (repeatable; Default: all).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Write sched.json, sched.csv, sched.png, sched.md here.")
@click.option("--no-plot", is_flag=True, help="Skip the PNG.")
@click.option("--json", "as_json", is_flag=True, help="Print sched.json to stdout.")
def simulate_cmd(latency, accuracy, accuracy_key, target, hz, trace, seed, windows, jobs,
                 period_us, deadline_us, window_us, margin, up_after, ewma_shift, policies, out,
                 no_plot, as_json) -> None:
    """Run the scheduler's rules on a trace, from measured latencies and accuracies."""
    # SchedulerError is a UserError: the root command prints it on one line and exits 2
    doc = run_simulation(latency, accuracy, accuracy_key, target, hz, trace, seed, windows,
                         jobs, period_us, deadline_us, window_us, margin, up_after,
                         ewma_shift, policies)
    paths = sched_report.write_all(doc, Path(out), plot=not no_plot) if out else {}
    note = sched_report.trace_note(doc)
    if note:
        click.echo(f"note: {note}", err=True)
    if as_json:
        click.echo(json.dumps({k: v for k, v in doc.items() if not k.endswith("timelines")},
                              indent=2))
        return
    for p in doc["policies"]:
        click.echo(f"{p['policy']:>16}: misses {p['deadline_misses']:4d}/{p['jobs']} "
                   f"({100 * p['simulated_miss_rate']:.1f} %), accuracy "
                   f"{100 * p['simulated_accuracy']:.2f} %, mean subnet {p['mean_subnet']:.2f}, "
                   f"switches {p['switches']}")
    for kind, path in paths.items():
        click.echo(f"wrote {path}")


simulate_cmd.name = "simulate"


def run_simulation(latency, accuracy, accuracy_key=None, target="qemu_m4", hz=None,
                   trace="bursty", seed=0, windows=sched_traces.MAX_WINDOWS, jobs=600,
                   period_us=None, deadline_us=None, window_us=None, margin=0.1, up_after=4,
                   ewma_shift=3, policies=()) -> dict:
    """The `simulate` command as a function (returns the sched.json document)."""
    lat = sched_report.load_latency(latency)
    acc = sched_report.load_accuracy(accuracy, accuracy_key)
    if len(acc) != len(lat):
        raise SchedulerError(f"{len(lat)} latencies but {len(acc)} accuracies: latency and "
                             "accuracy must come from the same model")
    hz = hz or sched_report.TIMER_HZ.get(target)
    if not hz or hz <= 0:
        raise SchedulerError(f"no timer rate known for target {target!r}: pass --hz")
    if not 0.0 <= margin <= 4.0:
        raise SchedulerError(f"margin {margin} outside 0..4")
    if up_after < 0:
        raise SchedulerError(f"up-after {up_after} must be >= 0")
    loads = sched_traces.make_trace(trace, windows, seed)
    margin_q16 = round(margin * ONE)
    period, deadline, window = choose_timing(lat, loads)
    period = _us_to_ticks(period_us, hz) or period
    deadline = _us_to_ticks(deadline_us, hz) or (period if period_us else deadline)
    window = _us_to_ticks(window_us, hz) or max(1, period // 4)
    task = Task(period=period, deadline=deadline, window=window, jobs=jobs, hz=hz)
    return simulate(lat, acc, loads, task, policies=policies or POLICIES, target=target,
                    margin_q16=margin_q16, ewma_shift=ewma_shift, up_after=up_after,
                    model=str(accuracy) if accuracy.endswith(".json") else "",
                    trace=trace if trace in sched_traces.KINDS else Path(trace).name)


@click.command("sched")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--target", default="qemu_m4", show_default=True,
              type=TARGET_CHOICE)
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder for sched.json, sched.csv, sched.png, sched.md.")
@click.option("--dataset", type=click.Path(exists=True, dir_okay=False),
              help=".npz with x (quantized inputs) and y (labels): on-device accuracy "
                   "(Default: holdout.npz beside the model, as `reds demo` writes it).")
@click.option("--accuracy", default=None,
              help="Accuracy source of the simulation: metrics.json, '0.99,0.97,...' or "
                   "'board' (each subnet on the loaded samples; the default with --dataset). "
                   "Default without either: metrics.json beside the model.")
@click.option("--trace", default="bursty", show_default=True,
              help=f"{', '.join(sched_traces.KINDS)} or a CSV file (docs/scheduler.md).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--jobs", type=int, default=600, show_default=True)
@click.option("--period-us", type=float, default=None)
@click.option("--deadline-us", type=float, default=None)
@click.option("--margin", type=float, default=0.1, show_default=True)
@click.option("--up-after", type=int, default=4, show_default=True)
@click.option("--policy", "policies", multiple=True, type=click.Choice(POLICIES),
              help="Policies to run (repeatable; Default: all).")
def bench_sched_cmd(model, target, out, dataset, accuracy, trace, seed, jobs, period_us,
                    deadline_us, margin, up_after, policies) -> None:
    """Run every scheduler policy and baseline on a board under a trace (`reds bench sched`).

    Without --accuracy and --dataset it takes the run's files beside the model (metrics.json,
    holdout.npz: what `reds demo` writes) and says which."""
    from reds_bench.measure import sched as measure_sched

    # expected failures (bad trace, no accuracy source, board errors) are UserErrors: the root
    # command prints one line and exits 2; all of these are checked before a board starts
    sched_traces.make_trace(trace, sched_traces.MAX_WINDOWS, seed)
    src = measure_sched.run_sources(model, dataset, accuracy)
    for line in src.notes:
        click.echo(f"note: {line}", err=True)
    try:
        Path(out).mkdir(parents=True, exist_ok=True)   # before the run, so no result is lost
    except OSError as err:
        raise UserError(f"--out {out}: cannot create it ({err.strerror or err}); choose "
                        "another folder") from None
    doc = measure_sched.bench_sched(target, model=model, out=out, dataset=src.dataset,
                                    accuracy=src.accuracy, trace=trace, seed=seed, jobs=jobs,
                                    period_us=period_us, deadline_us=deadline_us,
                                    margin=margin, up_after=up_after,
                                    policies=policies or POLICIES)
    click.echo(Path(out, "sched.md").read_text())
    bad = [p["policy"] for p in doc["policies"] if p.get("replay_matches") is False]
    if bad:  # a check that ran and failed: exit 1, not 2 (reds_app.cli), as `reds bench run`
        click.echo(f"reds: check failed: board decisions differ from the model for {bad} (see "
                   f"{Path(out, 'sched.md')}, `replay_matches` in sched.json)", err=True)
        raise SystemExit(1)

