"""An append-only JSON-lines journal that survives a crash at any byte.

Every entry is one line of JSON, written and flushed (and fsynced) at once, so a crash, a
power loss or a full disk can only cut the *last* line. The one rule for such a torn line:

    Opening a journal keeps every complete line (ending in a newline) that parses as JSON. Any
    other text (a torn last line, or a line an older version wrote onto one) is moved to
    ``<journal>.torn``, named in ``Journal.dropped``, and cut from the journal, so new entries
    always start on a fresh line and the next open reads every entry written since.

Both run directories (``reds.pipeline.rundir.RunDir``: the pipeline's ``steps.jsonl``) and the bench
(``reds_bench.measure.runner``: ``journal.jsonl``) keep their records here.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable


class Journal:
    """``entries``: the records read at open plus those appended since; ``dropped``: the text
    of every line set aside at open (see the module doc), for the caller to report."""

    def __init__(self, path: str | Path, default: Callable[[Any], Any] | None = None):
        self.path = Path(path)
        self.default = default  # json.dumps(default=...) for values JSON does not know
        self.entries: list[dict] = []
        self.dropped: list[str] = []
        if self.path.exists():
            self._read_and_repair()

    def _read_and_repair(self) -> None:
        raw = self.path.read_bytes()
        *complete, tail = raw.split(b"\n")  # tail: text after the last newline ("" if none)
        kept: list[bytes] = []
        for line in complete:
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                self.dropped.append(line.decode("utf-8", "replace"))
                continue
            self.entries.append(entry)
            kept.append(line)
        if tail.strip():
            self.dropped.append(tail.decode("utf-8", "replace"))
        if self.dropped or tail:
            with open(self.path.with_name(self.path.name + ".torn"), "a") as f:
                f.write("".join(d + "\n" for d in self.dropped))
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_bytes(b"".join(line + b"\n" for line in kept))
            os.replace(tmp, self.path)

    def append(self, entry: dict) -> dict:
        """Write ``entry`` as one line and return it as it reads back (plain JSON types)."""
        line = json.dumps(entry, default=self.default)
        with open(self.path, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        entry = json.loads(line)
        self.entries.append(entry)
        return entry
