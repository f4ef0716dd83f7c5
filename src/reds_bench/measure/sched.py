"""`reds bench sched`: every scheduler policy and baseline on a board, under an interference
trace, with the simulator's prediction beside each measurement.

    from reds_bench.measure.sched import bench_sched
    doc = bench_sched("qemu_m4", model="run/model.tflite", out="out/sched",
                      dataset="run/holdout.npz", accuracy="run/metrics.json", trace="bursty")

On the board (fw_sched.c): the cost table is self-calibrated (`reds-sched-cal`), the trace and a
set of samples are uploaded, then `reds-sched-run N` runs each policy; every job reports its
subnet, timeline, the ticks its inference took and its prediction. The host scores the
predictions against the labels, simulates the same task from the calibrated table, and replays
the board's own per-job inference ticks through the Python model to check that the board took
exactly the decisions the rules prescribe (`replay_matches`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reds_bench.board import protocol
from reds.sched import report as sched_report, traces as sched_traces
from reds_bench.errors import BenchError, DeviceError
from reds.sched.model import (
    ONE, POLICIES, Budget, SchedulerError, Task, choose_timing, oracle_scores, run_jobs, simulate)

# policy name on the host -> settings of `reds-sched-set`
_BOARD_POLICY = {"deadline": "deadline", "energy": "energy", "deadline+energy": "deadline+energy",
                 "oracle": "oracle", "always-full": "fixed", "always-smallest": "fixed",
                 "static-best": "fixed"}


# what a run directory holds beside its model.tflite (`reds demo`, reds.pipeline): per-subnet
# accuracies, and the quantized test set the bench measured them on
RUN_ACCURACY, RUN_DATASET = "metrics.json", "holdout.npz"


@dataclass
class Sources:
    """Where `bench_sched` takes its samples (`dataset`) and per-subnet accuracies
    (`accuracy`: a metrics.json path, a list, or "board"), and a line per default taken."""
    dataset: str | None
    accuracy: str
    notes: list[str] = field(default_factory=list)


def run_sources(model: str | Path | None, dataset: str | Path | None = None,
                accuracy: str | None = None) -> Sources:
    """The accuracy source and samples of a scheduler run: what is given, else the run's files
    beside the model (metrics.json, holdout.npz). A given --dataset without --accuracy measures
    the accuracy on the board, as before. Raises SchedulerError naming the flags when there is
    no source."""
    notes = []
    run = Path(model).parent if model else None

    def beside(name: str) -> Path | None:
        return run / name if run is not None and (run / name).is_file() else None

    if dataset is not None and accuracy is None:
        accuracy = "board"                      # documented default with --dataset
    if dataset is None and beside(RUN_DATASET):
        dataset = beside(RUN_DATASET)
        notes.append(f"samples for on-device accuracy: {dataset} (beside the model; "
                     "--dataset chooses others)")
    if accuracy is None:                         # neither given
        if beside(RUN_ACCURACY):
            accuracy = str(beside(RUN_ACCURACY))
            notes.append(f"per-subnet accuracy of the simulation: {accuracy} (beside the "
                         "model; --accuracy chooses another source)")
        elif dataset is not None:
            accuracy = "board"
            notes.append("per-subnet accuracy of the simulation: measured on the board over "
                         f"those samples (no {RUN_ACCURACY} beside the model)")
        else:
            where = f", and no {RUN_ACCURACY} or {RUN_DATASET} beside {model}" if model else ""
            raise SchedulerError(f"no accuracy source: no --accuracy or --dataset given{where}; "
                                 "give --accuracy (metrics.json or '0.99,0.97,...') or --dataset "
                                 "(an .npz with x and y) to measure it on the board")
    if accuracy == "board" and dataset is None:
        raise SchedulerError("--accuracy board measures each subnet on the loaded samples: "
                             f"give --dataset (an .npz with x and y; none is beside {model})"
                             if model else "--accuracy board needs --dataset (an .npz with x "
                             "and y)")
    return Sources(None if dataset is None else str(dataset), accuracy, notes)


def _kv(line: str) -> dict:
    return protocol.parse_kv(line)[1]


def upload_trace(board, loads: list[int], chunk: int = 250) -> None:
    board.cmd("reds-sched-trace clear")
    hexed = sched_traces.to_hex(loads)
    for i in range(0, len(hexed), 2 * chunk):
        board.cmd(f"reds-sched-trace add {hexed[i:i + 2 * chunk]}")


def upload_samples(board, x: np.ndarray, input_max: int) -> int:
    """Loads as many samples as the board's `db` buffer holds; returns the count."""
    per = int(np.asarray(x[0]).nbytes)
    n = min(len(x), input_max // per)
    if n == 0:
        raise BenchError(f"one sample ({per} bytes) is larger than the board's input buffer "
                         f"({input_max} bytes)")
    data = b"".join(np.asarray(x[i]).tobytes() for i in range(n))
    board.cmd(f"db load {len(data)}")
    for h in protocol.hex_chunks(data, 250):
        board.cmd(f"db {h}")
    return n


def upload_accuracy(board, accuracy: list[float]) -> None:
    """The per-subnet accuracies the board's oracle picks by, as integer ranks (oracle_scores)."""
    board.cmd(f"reds-sched-acc {','.join(map(str, oracle_scores(accuracy)))}")


def calibrate(board, runs: int = 3) -> tuple[list[int], list[int], int]:
    """Self-calibration on the board: (latency ticks, energy nJ, timer Hz) per subnet."""
    d = _kv(board.cmd(f"reds-sched-cal {runs}", timeout=600)[0])
    return ([int(v) for v in protocol.parse_list(d["latency"])],
            [int(v) for v in protocol.parse_list(d["energy_nj"])], int(d["hz"]))


def board_run(board, policy: str, jobs: int, task: Task, *, fixed: int, margin_q16: int,
              up_after: int, ewma_shift: int, budget: Budget,
              table_work: bool, measure_cost: bool = True) -> tuple[list[dict], dict, dict]:
    """One policy on the board: (per-job rows, summary, decision cost)."""
    board.cmd(f"reds-sched-set policy={_BOARD_POLICY[policy]} fixed={fixed} "
              f"period={task.period} deadline={task.deadline} window={task.window}")
    board.cmd(f"reds-sched-set margin={margin_q16} up={up_after} shift={ewma_shift} quiet=0 "
              f"tablework={int(table_work)}")
    board.cmd(f"reds-sched-set rate={budget.rate_uj_per_s} cap={budget.capacity_nj} "
              f"reserve={budget.reserve_nj}")
    rows, summary = [], {}
    for line in board.cmd(f"reds-sched-run {jobs}", timeout=3600):
        tag, d = protocol.parse_kv(line)
        if tag == "reds-sched-job":
            j = int(d["j"])
            rows.append({"job": j, "subnet": int(d["subnet"]), "release": j * task.period,
                         "start": int(d["start"]), "latency": int(d["latency"]),
                         "work": int(d["work"]), "met": bool(int(d["met"])),
                         "prediction": int(d["pred"])})
        elif tag == "reds-sched-summary":
            summary = d
    if len(rows) != jobs or not summary:
        raise BenchError(f"reds-sched-run {jobs} ({policy}) returned {len(rows)} job lines"
                         f"{'' if summary else ' and no summary'}")
    cost = {}
    if measure_cost and policy != "oracle":
        cost = _kv(board.cmd("reds-sched-cost 20000", timeout=600)[0])
    return rows, summary, cost


def board_subnet_accuracy(board, n: int, samples: int, y: np.ndarray, task: Task) -> list[float]:
    """Per-subnet accuracy on the samples loaded on the board: one fixed-subnet run over the
    whole set per subnet (the `--accuracy board` source)."""
    quiet = Task(period=task.period, deadline=task.deadline, window=task.window, jobs=samples,
                 hz=task.hz)
    out = []
    for k in range(n):
        rows, _, _ = board_run(board, "always-full", samples, quiet, fixed=k, margin_q16=0,
                               up_after=1, ewma_shift=0, budget=Budget(0, 0, 0),
                               table_work=True, measure_cost=False)
        out.append(sum(r["prediction"] == int(y[r["job"]]) for r in rows) / samples)
    return out


def bench_sched(target: str = "qemu_m4", *, model: str | Path | None = None,
                out: str | Path | None = None, dataset: str | Path | None = None,
                accuracy: str | None = None, accuracy_key: str | None = None,
                trace: str = "bursty", seed: int = 0, windows: int = sched_traces.MAX_WINDOWS,
                jobs: int = 600, period_us: float | None = None,
                deadline_us: float | None = None, window_us: float | None = None,
                margin: float = 0.1, up_after: int = 4, ewma_shift: int = 3,
                policies=POLICIES, cal_runs: int = 3, board=None, plot: bool = True,
                table: list[int] | None = None, table_energy: list[int] | None = None,
                table_work: bool | None = None,
                firmware: str | Path | None = None) -> dict:
    """Runs every policy on the board (started here unless `board` is given) and returns the
    sched.json document; writes sched.json/csv/png/md into `out` when given.

    `firmware`: prebuilt program/ELF for `target` (default: build it).
    `table`: latency ticks per subnet to load instead of calibrating on the board;
    `table_energy`: its energies (nJ; default: this board's calibration, which follows the
    phase of its tick-quantized measurement, so a repeat run passes both).
    `table_work`: the job timeline takes each job's work from the table rather than from the
    ticks measured around its inference (default: on for QEMU, whose tick-quantized
    measurements depend on the phase of the run; see fw_sched.c)."""
    from reds_bench.board.factory import create_board
    from reds_bench.measure.steps import ensure_model, load_dataset

    loads = sched_traces.make_trace(trace, windows, seed)
    src = run_sources(model, dataset, accuracy)     # before a board starts
    if not 0 < jobs <= 100_000:
        raise SchedulerError(f"jobs {jobs} outside 1..100000")
    if not 0.0 <= margin <= 4.0:
        raise SchedulerError(f"margin {margin} outside 0..4")
    if up_after < 0:
        raise SchedulerError(f"up-after {up_after} must be >= 0")
    dataset, accuracy = src.dataset, src.accuracy
    given_acc = (None if accuracy == "board"
                 else sched_report.load_accuracy(accuracy, accuracy_key))
    x = y = None
    if dataset is not None:
        x, y = load_dataset(dataset)
    own = board is None
    board = board or create_board(target, firmware=firmware)
    try:
        info = ensure_model(board, Path(model).read_bytes(), path=str(model)) if model \
            else None
        input_max = int(((info or {}).get("build") or {}).get("input_max", 16384))
        samples = upload_samples(board, x, input_max) if x is not None else 0
        latency, energy, hz = calibrate(board, cal_runs)
        if table is not None:
            energy = list(table_energy) if table_energy is not None else energy
            d = _kv(board.cmd(f"reds-sched-table {','.join(map(str, table))} "
                              f"{','.join(map(str, energy))}")[0])
            latency = [int(v) for v in protocol.parse_list(d["latency"])]
        if table_work is None:
            table_work = target.startswith("qemu")
        margin_q16 = round(margin * ONE)
        period, deadline, window = choose_timing(latency, loads)
        us = lambda v: max(1, round(v * hz / 1_000_000))  # noqa: E731
        if period_us:
            period = us(period_us)
            deadline = us(deadline_us) if deadline_us else period
            window = max(1, period // 4)
        elif deadline_us:
            deadline = us(deadline_us)
        if window_us:
            window = us(window_us)
        task = Task(period=period, deadline=deadline, window=window, jobs=jobs, hz=hz)
        task.check()
        upload_trace(board, loads)
        if accuracy == "board":
            acc = board_subnet_accuracy(board, len(latency), samples, y, task)
        else:
            acc = given_acc
        if len(acc) != len(latency):
            raise SchedulerError(f"{len(acc)} accuracies for the board's {len(latency)} subnets")
        upload_accuracy(board, acc)
        doc = simulate(latency, acc, loads, task, policies=policies, target=target,
                       margin_q16=margin_q16, ewma_shift=ewma_shift, up_after=up_after,
                       energy=energy, model=str(model or "compiled-in"),
                       trace=trace if trace in sched_traces.KINDS else Path(trace).name)
        doc["source"] = "board"
        doc["timing"] = "table" if table_work else "measured"
        doc["samples"] = samples
        doc["accuracy_source"] = str(accuracy)
        doc["dataset"] = dataset
        doc["measured_timelines"] = {}
        budget = Budget(**doc["budget"])
        fixed = {"always-full": 0, "always-smallest": len(latency) - 1,
                 "static-best": doc["static_best_subnet"]}
        for entry in doc["policies"]:
            p = entry["policy"]
            rows, summary, cost = board_run(board, p, jobs, task, fixed=fixed.get(p, 0),
                                            margin_q16=margin_q16, up_after=up_after,
                                            ewma_shift=ewma_shift, budget=budget,
                                            table_work=table_work)
            for r in rows:
                if samples:
                    r["label"] = int(y[r["job"] % samples])
            misses = sum(not r["met"] for r in rows)
            subnets = [r["subnet"] for r in rows]
            entry.update({
                "deadline_misses": misses, "miss_rate": misses / jobs,
                "accuracy": (sum(r["prediction"] == r["label"] for r in rows) / jobs
                             if samples else None),
                "mean_subnet": sum(subnets) / jobs,
                "switches": sum(a != b for a, b in zip(subnets, subnets[1:])),
                "decision_instructions": float(cost["decide_instr"]) if cost else None,
                "decision_instructions_worst": (float(cost["decide_worst_instr"]) if cost
                                                else None),
                "observe_instructions": float(cost["observe_instr"]) if cost else None,
                "replay_matches": _replay(p, rows, latency, acc, loads, task, fixed, margin_q16,
                                          ewma_shift, up_after, budget, energy, table_work),
                "work_minus_table_ticks": [min(r["work"] - latency[r["subnet"]] for r in rows),
                                           max(r["work"] - latency[r["subnet"]] for r in rows)],
            })
            doc["measured_timelines"][p] = rows
            doc["run_windows"] = max(doc["run_windows"],
                                     -(-(rows[-1]["start"] + rows[-1]["latency"]) // window))
    except DeviceError as e:
        raise BenchError(f"board rejected {e.command!r}: {e.message}") from None
    finally:
        if own:
            board.close()
    if out is not None:
        sched_report.write_all(doc, Path(out), plot=plot)
    return doc


def _replay(policy, rows, latency, acc, loads, task, fixed, margin_q16, ewma_shift, up_after,
            budget, energy, table_work) -> bool:
    """Does the Python model, fed the work the board's timeline used (its own inference ticks,
    or the table), take the board's decisions and reach the same timeline?"""
    work = {r["job"]: latency[r["subnet"]] if table_work else r["work"] for r in rows}
    sim = run_jobs(policy, latency, acc, loads, task, fixed=fixed.get(policy, 0),
                   margin_q16=margin_q16, ewma_shift=ewma_shift, up_after=up_after,
                   budget=budget, energy=energy, work=lambda k, j: work[j])
    keys = ("subnet", "start", "latency", "met")
    return all(all(a[k] == b[k] for k in keys) for a, b in zip(sim["rows"], rows))


def demo_step(run_dir: str | Path, target: str = "qemu_m4", trace: str = "bursty",
              firmware: str | Path | None = None) -> dict:
    """The scheduler step of a demo run directory (model.tflite, holdout.npz, metrics.json):
    every policy on the board under `trace`; writes RUN/sched/sched.{json,csv,png,md}."""
    run = Path(run_dir)
    return bench_sched(target, model=run / "model.tflite", out=run / "sched",
                       dataset=run / "holdout.npz", accuracy=str(run / "metrics.json"),
                       trace=trace, firmware=firmware)
