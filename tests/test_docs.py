"""The documented commands work as written.

Every fenced block of README.md and docs/*.md that holds a command line carries a mark on the
line above its fence:

- ``<!-- docs-test: run -->`` (or ``run in DIR``): run here, block after block in the order of the
  file, a shell block with ``bash -euo pipefail`` and a Python block with Python, in one temporary
  workspace (the repository's ``models/`` linked in, and a ``runs/demo`` made by
  ``reds demo --fast``, as ``make demo`` would make it), or in its folder DIR;
- ``<!-- docs-test: file PATH -->``: the block is a file the page asks you to write (a model
  builder, a recipe): written to PATH in the workspace before the next ``run`` block;
- ``<!-- docs-test: skip REASON -->``: not run, and the reason says why (hardware, a dataset
  download, hours of training, or another test that runs it);
- ``<!-- docs-test: output -->``: what a command prints, not commands.

A block without a mark fails the first test, so a new command cannot reach the docs untested.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from paths import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")
MARK = re.compile(r"<!--\s*docs-test:\s*(run|skip|output|file)\b\s*(.*?)\s*-->")
SHELL = ("", "sh", "bash", "shell", "console")
COMMAND = re.compile(r"^\s*(?:\$\s*)?(reds|make|python|pytest|\.venv/bin/\w+|labgrid-\w+|pio)\b")
BLOCK_SECONDS = 900


@dataclass
class Block:
    path: Path
    line: int          # of the opening fence, 1-based
    lang: str
    body: str
    mark: str | None   # run | skip | output | file
    reason: str        # skip: why; run: "in DIR" or ""; file: its path

    def __str__(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            i += 1
        body = "\n".join(lines[start + 1:i])
        above = lines[start - 1] if start > 0 else ""
        mark = MARK.search(above)
        out.append(Block(path, start + 1, m.group(1), body, mark.group(1) if mark else None,
                         mark.group(2) if mark else ""))
        i += 1
    return out


def command_blocks() -> list[Block]:
    """Shell blocks with a command line: each must say whether it runs."""
    return [b for p in DOCS for b in blocks(p)
            if b.lang in SHELL and any(COMMAND.match(x) for x in b.body.splitlines())]


def test_every_command_block_is_run_or_says_why_not():
    unmarked = [str(b) for b in command_blocks() if b.mark is None]
    assert unmarked == [], "mark these blocks (see this file's docstring)"
    no_reason = [str(b) for b in command_blocks() if b.mark == "skip" and len(b.reason) < 10]
    assert no_reason == []


def test_the_mark_check_sees_an_unmarked_block(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("text\n\n```sh\nreds plan --arch dnn_s\n```\n<!-- docs-test: run in d -->\n```\nreds inspect m\n"
                   "```\n```python\nimport reds\n```\n")
    found = blocks(doc)
    assert [(b.line, b.lang, b.mark, b.reason) for b in found] == [
        (3, "sh", None, ""), (7, "", "run", "in d"), (10, "python", None, "")]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder like a fresh checkout after `make demo`: models/ and a runs/demo to read."""
    ws = tmp_path_factory.mktemp("docs")
    (ws / "models").symlink_to(REPO / "models")
    env = _env()
    proc = subprocess.run(["reds", "demo", "--fast", "--out", "runs/demo"], cwd=ws, env=env,
                          capture_output=True, text=True, timeout=BLOCK_SECONDS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return ws


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


RUN_BLOCKS = [b for p in DOCS for b in blocks(p) if b.mark == "run"]


def write_files_before(block: Block, workspace: Path) -> None:
    """The page's `file` blocks above ``block``, as the reader would have written them."""
    for b in blocks(block.path):
        if b.line > block.line:
            break
        if b.mark == "file":
            target = workspace / b.reason
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(b.body + "\n")


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.parametrize("block", RUN_BLOCKS, ids=[str(b) for b in RUN_BLOCKS])
def test_documented_block_runs(block, workspace):
    write_files_before(block, workspace)
    where = workspace / block.reason[3:].strip() if block.reason.startswith("in ") else workspace
    where.mkdir(parents=True, exist_ok=True)
    cmd = ([sys.executable, "-c", block.body] if block.lang == "python"
           else ["bash", "-euo", "pipefail", "-c", block.body])
    proc = subprocess.run(cmd, cwd=where, env=_env(), capture_output=True, text=True,
                          timeout=BLOCK_SECONDS)
    assert proc.returncode == 0, (f"{block} failed (exit {proc.returncode}):\n{block.body}\n"
                                  f"--- stdout\n{proc.stdout[-2000:]}\n--- stderr\n{proc.stderr[-3000:]}")
