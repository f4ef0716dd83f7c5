"""Many boards, one run: :func:`spread_bench` measures one model over several boards (labgrid
places, or hardware-map entries of one env) and writes ONE results.json.

The on-device accuracy over the dataset is independent per sample, so it is cut into one
contiguous shard per board and measured by one thread per board at once (serial I/O bound:
the threads wait on their links, not on the CPU). The per-subnet accuracy is the sum of the
shards' correct answers over the whole split, so it equals a one-board run's exactly. The
other steps (switch matrix, latency, correctness, memory) stay on the first board: they are
per-board properties, not work to split. Then :func:`reds_bench.measure.runner.run_bench`
runs on the first board with the accuracy steps already in its journal, so the files, the
resume logic and the report are the usual ones, plus a ``spread`` section naming which board
(place) measured which samples (docs/results.md).
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np

from reds_bench.board import protocol
from reds_bench.board.factory import Board, BoardSpec, create_board
from reds_bench.errors import BenchError, ConfigError
from reds_bench.measure import steps as measure
from reds_bench.measure.runner import JOURNAL, BenchJournal, run_bench


def shards(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous [start, stop) ranges covering ``range(n)``, sizes differing by ≤ 1."""
    base, extra = divmod(n, parts)
    out, start = [], 0
    for i in range(parts):
        stop = start + base + (1 if i < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def _board_row(board: Board) -> dict:
    lg = board.spec.labgrid or {}
    return {"id": board.id, "env": board.env, "place": lg.get("place"),
            "coordinator": board.place.coordinator if board.place else None, "url": board.url}


def _in_threads(fn, items: list) -> list:
    """``fn(item)`` for every item, one thread each; the first error is raised after all end."""
    results, errors = [None] * len(items), [None] * len(items)

    def work(i):
        try:
            results[i] = fn(items[i])
        except BaseException as e:  # noqa: BLE001 - handed to the caller below
            errors[i] = e

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)  # short joins keep the main thread responsive to Ctrl-C and SIGTERM
    for e in errors:
        if e is not None:
            raise e
    return results


def open_boards(specs: list[BoardSpec], log_dir: Path, timeout: float = 30.0) -> list[Board]:
    """Start every board at once (acquiring places in parallel); on any failure close those
    that started, so no place stays held."""
    boards: list[Board | None] = [None] * len(specs)

    def start(i):
        boards[i] = create_board(hw=specs[i], log_dir=log_dir, timeout=timeout, build=True)
        return boards[i]

    try:
        return _in_threads(start, list(range(len(specs))))
    except BaseException:
        close_boards([b for b in boards if b is not None])
        raise


def close_boards(boards: list[Board]) -> None:
    for b in boards:
        try:
            b.close()
        except Exception as e:  # one board failing to close must not keep the others' places
            print(f"{b.id}: close failed: {e}", file=sys.stderr)


def accuracy_shards(boards: list[Board], model: bytes, x: np.ndarray, y: np.ndarray,
                    subnets: int) -> tuple[list[dict], list[dict], float]:
    """Accuracy of every subnet over (x, y), the samples split over ``boards``.

    Returns the merged per-subnet rows (results.json's ``accuracy`` plus ``boards``), the
    per-board rows and the wall time of the whole step."""
    cuts = shards(len(y), len(boards))

    def measure_on(i):
        board, (a, b) = boards[i], cuts[i]
        t0 = time.monotonic()
        measure.ensure_model(board, model)
        correct = []
        for k in range(subnets):
            r = measure.accuracy(board, k, x[a:b], y[a:b]) if b > a else {"int8_accuracy": 0.0}
            correct.append(round(r["int8_accuracy"] * (b - a)))
        return {"correct": correct, "seconds": time.monotonic() - t0}

    t0 = time.monotonic()
    got = _in_threads(measure_on, list(range(len(boards))))
    wall = time.monotonic() - t0
    n = max(len(y), 1)
    merged = [{"subnet": k, "int8_accuracy": sum(g["correct"][k] for g in got) / n,
               "samples": int(len(y)),
               "boards": [{"id": boards[i].id, "samples": cuts[i][1] - cuts[i][0],
                           "correct": got[i]["correct"][k]} for i in range(len(boards))]}
              for k in range(subnets)]
    rows = [dict(_board_row(boards[i]), work={"accuracy": {"samples": list(cuts[i]),
                                                           "subnets": list(range(subnets))}},
                 seconds=got[i]["seconds"]) for i in range(len(boards))]
    return merged, rows, wall


def spread_bench(specs: list[BoardSpec], *, model: str | Path, out: str | Path,
                 dataset: str | Path | None = None, max_samples: int | None = None,
                 baseline: bool = False, resume: bool = False, timeout: float = 30.0,
                 **bench_args) -> dict:
    """Measure ``model`` over the boards of ``specs``; return results.json's dict.

    ``baseline``: also time the accuracy step on the first board alone over the whole split,
    in the same run, and record both times (``spread.single_board_seconds``) and that the
    one-board accuracies equal the merged ones. ``bench_args`` go to ``run_bench``."""
    if len(specs) < 1:
        raise ConfigError("spreading a run needs at least one board")
    envs = {s.env for s in specs}
    if len(envs) > 1:
        raise ConfigError(f"a spread run needs boards of one env, got {sorted(envs)}")
    ids = [s.id for s in specs]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"a board appears twice in the spread: {ids}")
    model_path = Path(model)
    if not model_path.exists():
        raise BenchError(f"model {model_path} not found")
    model_bytes = model_path.read_bytes()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    boards = open_boards(specs, out / "logs", timeout)
    try:
        journal = BenchJournal(out / JOURNAL, resume)
        spread = {"boards": [_board_row(b) for b in boards], "steps_on": boards[0].id,
                  "accuracy_seconds": None, "single_board_seconds": None, "speedup": None}
        if dataset is not None and not any(e.get("type") == "step" and
                                           e["step"].startswith("accuracy/")
                                           for e in journal.entries):
            x, y = measure.load_dataset(dataset)
            if max_samples:
                x, y = x[:max_samples], y[:max_samples]
            info = measure.ensure_model(boards[0], model_bytes)
            k = int(info["info"].get("subnets", 0))
            merged, rows, wall = accuracy_shards(boards, model_bytes, x, y, k)
            spread.update(boards=rows, accuracy_seconds=wall)
            if baseline and len(boards) > 1:
                single, _, single_wall = accuracy_shards(boards[:1], model_bytes, x, y, k)
                spread.update(single_board_seconds=single_wall, speedup=single_wall / wall,
                              single_board_equal=all(
                                  s["int8_accuracy"] == m["int8_accuracy"]
                                  for s, m in zip(single, merged)))
            if not journal.start_entry():
                journal.write(type="start", env=boards[0].env, board_id=boards[0].id,
                              model=str(model_path),
                              model_crc32=f"{protocol.crc32(model_bytes):08x}",
                              params={"dataset": str(dataset), "spread": ids})
            for row in merged:
                journal.write(type="step", step=f"accuracy/{row['subnet']}", data=row)
        earlier = [e["data"] for e in journal.entries if e.get("type") == "spread"]
        if earlier and spread["accuracy_seconds"] is None:
            spread = earlier[-1]  # resumed after the split step: keep what measured it
        journal.write(type="spread", data=spread)
        return run_bench(board=boards[0], model=model_path, out=out, dataset=dataset,
                         max_samples=max_samples, resume=True, **bench_args)
    finally:
        close_boards(boards)
