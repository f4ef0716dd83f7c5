"""A run directory whose steps survive interruption.

Each finished step is appended to `steps.jsonl` with its one-line summary and result. A rerun
skips finished steps (resume); Ctrl-C or a failure leaves every earlier artifact in place.
Artifacts are written to a temporary name and renamed, so none is ever half-written.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.journal = self.path / "steps.jsonl"
        self.finished: dict[str, dict] = {}
        if self.journal.exists():
            for line in self.journal.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a crash: that step simply reruns
                self.finished[rec["step"]] = rec

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def done(self, step: str) -> bool:
        return step in self.finished

    def result(self, step: str) -> Any:
        return self.finished[step].get("result")

    def mark(self, step: str, summary: str, seconds: float, result: Any = None) -> None:
        rec = {"step": step, "summary": summary, "seconds": round(seconds, 3), "result": result}
        with self.journal.open("a") as f:
            f.write(json.dumps(rec, default=_jsonable) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.finished[step] = json.loads(json.dumps(rec, default=_jsonable))

    def forget_from(self, step: str, order: list[str]) -> None:
        """Invalidate `step` and every later step (e.g. after changing an input)."""
        drop = set(order[order.index(step):])
        keep = [r for s, r in self.finished.items() if s not in drop]
        self.finished = {r["step"]: r for r in keep}
        write_text(self.journal, "".join(json.dumps(r) + "\n" for r in keep))

    def write_json(self, name: str, data: Any) -> Path:
        return write_text(self.path / name, json.dumps(data, indent=2, default=_jsonable) + "\n")

    def read_json(self, name: str) -> Any:
        return json.loads((self.path / name).read_text())

    def run(self, step: str, fn: Callable[[], tuple[str, Any]], console=None) -> Any:
        """Run `fn` unless `step` already finished; fn returns (summary, result)."""
        if self.done(step):
            if console is not None:
                console.print(f"[dim]✓ {step:<10} (done earlier) {self.finished[step]['summary']}[/dim]")
            return self.result(step)
        t0 = time.perf_counter()
        summary, result = fn()
        seconds = time.perf_counter() - t0
        self.mark(step, summary, seconds, result)
        if console is not None:
            console.print(f"[green]✓[/green] {step:<10} {summary}  [dim]({seconds:.1f} s)[/dim]")
        return self.result(step)


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
