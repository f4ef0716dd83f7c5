"""The folders are the architecture (docs/architecture.md), and this test keeps them honest.

- Layers point one way: the library ``reds`` imports neither the bench ``reds_bench`` nor the
  application ``reds_app``; the bench does not import the application.
- Inside the library, stages import only earlier stages (``STAGES`` below); inside the bench,
  ``board`` never imports ``measure``.
- No import circle between modules, imports inside functions included (a lazy import is still
  an arrow).
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from paths import REPO

PACKAGES = {name: REPO / "src" / name for name in ("reds", "reds_bench", "reds_app")}
LAYERS = ("reds", "reds_bench", "reds_app")  # each may import only those before it
# Library stages in dependency order; a stage imports only itself and the stages before it.
# The modules at the package's top (errors, journal, unionfind) come before every stage.
STAGES = ("tflite", "runtime", "data", "model", "train", "export", "plan", "sched", "pipeline")
BENCH_PARTS = ("board", "measure", "plugin")


def module_name(root: Path, package: str, path: Path) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, package: str, module: str) -> set[str]:
    """Every module of ours that a file imports, at any depth (inside functions too). For
    ``from a.b import c`` both ``a.b`` and ``a.b.c`` are named, whichever of them is a module."""
    names = set()
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[:len(anchor) - node.level + (1 if is_pkg else 0)]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return {n for n in names if n.split(".")[0] in LAYERS}


def import_graph(packages: dict[str, Path]) -> dict[str, set[str]]:
    files = {module_name(root, pkg, p): (pkg, p)
             for pkg, root in packages.items() for p in sorted(root.rglob("*.py"))}
    graph = {}
    for mod, (pkg, path) in files.items():
        graph[mod] = {n for n in imports(path, pkg, mod) if n in files and n != mod}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def rank(module: str) -> tuple[int, int]:
    """(layer, stage) of a module; package ``__init__`` files and top modules rank lowest."""
    parts = module.split(".")
    layer = LAYERS.index(parts[0])
    order = STAGES if parts[0] == "reds" else BENCH_PARTS if parts[0] == "reds_bench" else ()
    if len(parts) > 2 and parts[1] in order:
        return layer, order.index(parts[1]) + 1
    if len(parts) == 2 and parts[1] in order:  # the stage package itself
        return layer, order.index(parts[1]) + 1
    return layer, 0


def violations(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for mod, deps in sorted(graph.items()):
        for dep in sorted(deps):
            if mod.count(".") == 0 and dep.startswith(mod + "."):
                continue  # a package's __init__ re-exporting its own modules is not an arrow up
            if rank(dep) > rank(mod):
                bad.append(f"{mod} imports {dep}")
    return bad


def test_the_checks_see_a_back_import_inside_a_function(tmp_path):
    lib = tmp_path / "reds"
    (lib / "tflite").mkdir(parents=True)
    (lib / "pipeline").mkdir()
    (lib / "tflite" / "groups.py").write_text("def f():\n    from reds.pipeline import steps\n")
    (lib / "pipeline" / "steps.py").write_text("from reds.tflite.groups import f\n")
    graph = import_graph({"reds": lib})
    assert violations(graph) == ["reds.tflite.groups imports reds.pipeline.steps"]
    assert cycles(graph) == [["reds.pipeline.steps", "reds.tflite.groups"]]


def test_the_checks_see_a_relative_import_of_the_bench_from_the_library(tmp_path):
    lib, bench = tmp_path / "reds", tmp_path / "reds_bench"
    (lib / "plan").mkdir(parents=True)
    bench.mkdir()
    (lib / "plan" / "host.py").write_text("from reds_bench import targets\n")
    (bench / "targets.py").write_text("from reds.plan import host\n")
    graph = import_graph({"reds": lib, "reds_bench": bench})
    assert violations(graph) == ["reds.plan.host imports reds_bench.targets"]


def test_stages_and_layers_point_one_way():
    assert violations(import_graph(PACKAGES)) == []


def test_no_import_circle_between_modules():
    assert cycles(import_graph(PACKAGES)) == []


def test_every_library_module_sits_in_a_stage_or_at_the_top():
    root = PACKAGES["reds"]
    loose = sorted(p.name for p in root.glob("*.py"))
    assert loose == ["__init__.py", "errors.py", "journal.py", "unionfind.py"]
    assert sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(STAGES)


def test_importing_every_library_module_loads_no_layer_above():
    code = """
import importlib, json, pkgutil, sys
import reds
for m in pkgutil.walk_packages(reds.__path__, "reds."):
    importlib.import_module(m.name)
print(json.dumps(sorted(n for n in sys.modules if n.split(".")[0] in ("reds_bench", "reds_app"))))
"""
    env_path = str(REPO / "src")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin",
                               "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.splitlines()[-1]) == []


@pytest.mark.parametrize("folder", ["boards"])
def test_c_folders_import_no_python_layer(folder):
    offenders = [f"{p.relative_to(REPO)} imports {n}" for p in sorted((REPO / folder).rglob("*.py"))
                 if ".pio" not in p.parts
                 for n in sorted(imports(p, "", "x")) if n.split(".")[0] in LAYERS]
    assert offenders == []


def test_src_holds_exactly_the_three_layers_so_an_editable_install_is_a_plain_path():
    """One folder holding every package (and nothing else importable) is what lets setuptools'
    editable install add a single path entry instead of a finder that warns about same-named
    folders in the working directory (`make bootstrap` printed that warning before)."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["packages"]["find"]["where"] == ["src"]
    tops = sorted(p.name for p in (REPO / "src").iterdir()
                  if (p / "__init__.py").exists() or p.suffix == ".py")
    assert tops == sorted(PACKAGES)
    assert not [p for p in REPO.iterdir() if p.name in PACKAGES]  # no same-named folder at the top
