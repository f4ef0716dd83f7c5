"""The measurement plan of one board and one model: :func:`run_bench`.

Every finished step is appended to ``OUT/journal.jsonl`` at once, so Ctrl-C or a crash loses
nothing, and ``resume=True`` continues after the last finished step (a line a crash cut is
set aside and reported, see ``reds.journal``). A board that resets mid-step (boot banner,
closed link, silence) is reconnected (an emulator is restarted), its model checked again
(CRC-32, re-uploaded if the reset dropped it), the subnet re-selected, and the step retried. Results are rebuilt from the journal, so a resumed run writes the same files.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from reds.journal import Journal

from reds_bench.measure import steps as measure, results
from reds_bench.board import protocol
from reds_bench.errors import (
    BenchError, BoardResetError, DeviceError, ExpectTimeout, ModelMismatchError)
from reds_bench.board.factory import Board, create_board, create_board_for_model
from reds_bench.board.firmware import artifact
from reds_bench.board.hwmap import load_hwmap, select

JOURNAL = "journal.jsonl"


class BenchJournal:
    """The bench's records in ``OUT/journal.jsonl`` (a :class:`reds.journal.Journal`: a line a
    crash cut is set aside in ``journal.jsonl.torn`` and reported, never appended onto)."""

    def __init__(self, path: Path, resume: bool):
        if path.exists() and not resume:  # keep the old run, never overwrite measurements
            path.rename(path.with_name(f"journal.{int(path.stat().st_mtime)}.jsonl"))
        self.journal = Journal(path)
        self.entries = self.journal.entries
        for text in self.journal.dropped:
            self.write(type="event", event="torn-line", step=None,
                       detail=f"set aside an incomplete journal line: {text[:200]!r}")

    def write(self, **entry) -> None:
        entry.setdefault("time", time.time())
        self.journal.append(results.json_safe(entry))

    def done_steps(self) -> dict[str, dict]:
        return {e["step"]: e["data"] for e in self.entries if e.get("type") == "step"}

    def start_entry(self) -> dict | None:
        return next((e for e in self.entries if e.get("type") == "start"), None)


class _Progress:
    """A progress bar on a terminal only: in a file or pipe its frames would be noise."""

    def __init__(self, enabled: bool, total: int, label: str):
        self.bar = None
        if enabled and sys.stderr.isatty():
            from rich.progress import Progress

            self.bar = Progress(transient=False)
            self.bar.start()
            self.task = self.bar.add_task(label, total=total)

    def step(self, name: str) -> None:
        if self.bar:
            self.bar.update(self.task, advance=1, description=name)

    def note(self, msg: str) -> None:
        if self.bar:
            self.bar.console.print(msg)

    def stop(self) -> None:
        if self.bar:
            self.bar.stop()


def _steps(k: int, dataset: bool) -> list[str]:
    s = ["adaptation"] + [f"latency/{i}" for i in range(k)] + [f"correctness/{i}" for i in range(k)]
    if dataset:
        s += [f"accuracy/{i}" for i in range(k)]
    return s + ["memory"]


def assemble(journal: BenchJournal, model_path: str) -> dict:
    """results.json content from the journal entries."""
    res = results.empty_results()
    done = journal.done_steps()
    info = done.get("info")
    if info:
        res["board"] = info["board"]
        res["model"] = {"path": model_path, "crc32": info["model_crc32"], "subnets": info["subnets"]}
    if "adaptation" in done:
        res["adaptation"] = done["adaptation"]
    for name, data in sorted(done.items(), key=lambda kv: (kv[0].split("/")[0],
                                                          int(kv[0].split("/")[1]) if "/" in kv[0] else 0)):
        kind = name.split("/")[0]
        if kind in ("latency", "correctness", "accuracy"):
            res[kind].append(data)
    if "memory" in done:
        res["memory"] = done["memory"]
    errors = [{"step": e["step"], "error": e["error"]} for e in journal.entries
              if e.get("type") == "error" and e["step"] not in done]
    if errors:
        res["errors"] = errors
    spread = [e for e in journal.entries if e.get("type") == "spread"]
    if spread:  # a run over several boards (measure.spread): which board measured what
        res["spread"] = spread[-1]["data"]
    resets = [e for e in journal.entries if e.get("type") == "event"]
    if resets:
        res["events"] = [{"step": e["step"], "event": e["event"], "detail": e.get("detail")}
                         for e in resets]
    return res


def run_bench(target: str | None = None, *, model: str | Path, out: str | Path,
              hwmap: str | Path | None = None, board_id: str | None = None,
              board: Board | None = None, firmware: str | Path | None = None, build: bool = True,
              runs: int = 50, warmup: int = 1, switch_runs: int = 200, inputs: int = 4,
              dataset: str | Path | None = None, max_samples: int | None = None,
              upload: bool = True, resume: bool = False, retries: int = 3, seed: int = 0,
              progress: bool = True, plots: bool = True, step_hook=None) -> dict:
    """Measure ``model`` on one board; write results into ``out``; return results.json's dict.

    The board is ``board`` (already created), or an emulated ``target`` env, or the entry
    ``board_id`` (or the first entry of ``target``'s env) of the hardware map ``hwmap``.
    ``step_hook(step_name, board)`` is called before each step (tests use it to inject resets).
    """
    model_path = Path(model)
    if not model_path.exists():
        raise BenchError(f"model {model_path} not found")
    model_bytes = model_path.read_bytes()
    crc = protocol.crc32(model_bytes)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    journal = BenchJournal(out / JOURNAL, resume)
    start = journal.start_entry()
    if start and start.get("model_crc32") != f"{crc:08x}":
        raise ModelMismatchError(f"cannot resume: {out / JOURNAL} measured model crc32="
                                 f"{start.get('model_crc32')}, {model_path} has {crc:08x}")
    own_board = board is None
    delivery = "upload" if upload else "compiled-in"
    if board is None:
        spec = None
        if hwmap:
            spec = select(load_hwmap(hwmap), board_id, target if not board_id else None)
        if spec is None and firmware is None and build and upload:
            # an emulated board: a model larger than its RAM slot is compiled in instead
            board, delivery = create_board_for_model(target, model_bytes, log_dir=out / "logs")
            if delivery != "upload":
                print(f"{board.id}: model larger than the RAM slot: compiled into the firmware",
                      file=sys.stderr)
        else:
            board = create_board(target, hw=spec, firmware=firmware, build=build, log_dir=out / "logs")
    if not start:
        journal.write(type="start", env=board.env, board_id=board.id, model=str(model_path),
                      model_crc32=f"{crc:08x}",
                      params={"runs": runs, "warmup": warmup, "switch_runs": switch_runs,
                              "inputs": inputs, "dataset": str(dataset) if dataset else None})
    state = {"subnet": None, "info": None}

    def prepare() -> dict:
        info = measure.ensure_model(board, model_bytes, upload=upload, path=str(model_path))
        state["info"] = info
        if state["subnet"] is not None:
            board.cmd(f"reds-select {state['subnet']}")
        return info

    def run_step(name: str, fn):
        done = journal.done_steps()
        if name in done:
            return done[name]
        last = None
        for attempt in range(retries + 1):
            try:
                if step_hook:
                    step_hook(name, board)
                data = fn()
                journal.write(type="step", step=name, data=data)
                return data
            except (BoardResetError, ExpectTimeout) as e:
                last = e
                kind = "reset" if isinstance(e, BoardResetError) else "timeout"
                journal.write(type="event", event=kind, step=name, detail=str(e), attempt=attempt)
                bar.note(f"[yellow]{board.id}: {kind} during {name} ({e}); recovering")
                if isinstance(e, ExpectTimeout) and board.emulated:
                    board.kill()  # a hung emulator: restart it
                board.recover()
                prepare()
        raise BoardResetError(f"step {name} failed after {retries + 1} attempts: {last}")

    bar = _Progress(progress, 1, f"{board.id}")
    try:
        info = prepare()
        k = int(info["info"].get("subnets", 0))

        def info_step():
            t = info["timer"]
            return {"board": {"env": board.env, "id": board.id, "clock_hz": t.get("hz"),
                              "timer_unit": t.get("unit"),
                              "instructions_per_tick":
                                  protocol.instructions_per_tick(t.get("instructions_per_tick")),
                              "model_delivery": delivery,
                              "target": info["info"].get("target"), "build": info["build"]},
                    "model_crc32": f"{crc:08x}", "subnets": info["subnets"]}

        steps = ["info"] + _steps(k, dataset is not None)
        if bar.bar:
            bar.bar.update(bar.task, total=len(steps))
        test_inputs = measure.random_inputs(model_bytes, inputs, seed) if inputs else []
        ds = measure.load_dataset(dataset) if dataset else None
        if ds is not None and max_samples:
            ds = (ds[0][:max_samples], ds[1][:max_samples])

        def select_then(subnet, fn):
            def wrapped():
                state["subnet"] = subnet
                return fn()
            return wrapped

        actions = {"info": info_step,
                   "adaptation": lambda: measure.adaptation(board, switch_runs),
                   "memory": lambda: measure.memory_from_elf(
                       board.firmware or (artifact(board.env) if board.env else None), state["info"])}
        for i in range(k):
            actions[f"latency/{i}"] = select_then(i, lambda i=i: measure.latency(board, i, runs, warmup))
            actions[f"correctness/{i}"] = select_then(
                i, lambda i=i: measure.correctness(board, model_bytes, i, test_inputs, state["info"]))
            if ds is not None:
                actions[f"accuracy/{i}"] = select_then(
                    i, lambda i=i: measure.accuracy(board, i, ds[0], ds[1]))
        for name in steps:
            try:
                run_step(name, actions[name])
            except DeviceError as e:  # this step cannot be measured; keep going
                journal.write(type="error", step=name, error=str(e))
                bar.note(f"[red]{name}: {e}")
            bar.step(name)
        journal.write(type="done")
    except KeyboardInterrupt:
        journal.write(type="interrupted")
        raise
    finally:
        bar.stop()
        res = assemble(journal, str(model_path))
        if res["board"]["env"] is not None:
            results.write_all(res, out, plots=plots)
        if own_board:
            board.close()
    return res
