"""A run directory whose steps survive interruption.

Each finished step is appended to `steps.jsonl` (a `reds.journal.Journal`) with its one-line
summary and result. A rerun skips finished steps (resume); Ctrl-C or a failure leaves every
earlier artifact in place; a step whose line a crash cut is set aside and simply reruns.
Artifacts are written to a temporary name and renamed, so none is ever half-written.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable

from reds.journal import Journal


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(self.path / "steps.jsonl", default=_jsonable)
        self.finished: dict[str, dict] = {rec["step"]: rec for rec in self.journal.entries}

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def done(self, step: str) -> bool:
        return step in self.finished

    def result(self, step: str) -> Any:
        return self.finished[step].get("result")

    def mark(self, step: str, summary: str, seconds: float, result: Any = None,
             warnings: list[str] | None = None) -> None:
        rec = {"step": step, "summary": summary, "seconds": round(seconds, 3), "result": result}
        if warnings:
            rec["warnings"] = list(warnings)
        self.finished[step] = self.journal.append(rec)

    def write_json(self, name: str, data: Any) -> Path:
        return write_text(self.path / name, json.dumps(data, indent=2, default=_jsonable) + "\n")

    def read_json(self, name: str) -> Any:
        return json.loads((self.path / name).read_text())

    def warnings(self) -> list[tuple[str, str]]:
        """(step, line) of every quality-gate warning the finished steps recorded."""
        return [(step, w) for step, rec in self.finished.items() for w in rec.get("warnings", [])]

    def run(self, step: str, fn: Callable[[], tuple], console=None) -> Any:
        """Run `fn` unless `step` already finished; fn returns (summary, result) or
        (summary, result, warnings): each warning is printed as its own line and journaled."""
        if self.done(step):
            if console is not None:
                console.print(f"[dim]✓ {step:<10} (done earlier) {self.finished[step]['summary']}[/dim]")
                _print_warnings(console, step, self.finished[step].get("warnings", []))
            return self.result(step)
        t0 = time.perf_counter()
        summary, result, *rest = fn()
        warnings = rest[0] if rest else []
        seconds = time.perf_counter() - t0
        self.mark(step, summary, seconds, result, warnings)
        if console is not None:
            mark = "[yellow]![/yellow]" if warnings else "[green]✓[/green]"
            console.print(f"{mark} {step:<10} {summary}  [dim]({seconds:.1f} s)[/dim]")
            _print_warnings(console, step, warnings)
        return self.result(step)


def _print_warnings(console, step: str, warnings: list[str]) -> None:
    from rich.markup import escape

    for line in warnings:
        console.print(f"[yellow]  warning[/yellow] {step}: {escape(line)}", highlight=False)


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode())


def write_bytes(path: Path, data: bytes) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def _jsonable(obj):
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")
