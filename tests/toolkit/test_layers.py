"""The layers point one way (docs/architecture.md): the library `reds` imports neither the
bench `reds_bench` nor the application `reds_app`; the bench does not import the application."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "toolkit" / "reds"
BENCH = ROOT / "bench" / "reds_bench"


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name a file imports, at any depth (inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def offenders(package: Path, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{package.name}/{p.relative_to(package)} imports {name}"
            for p in sorted(package.rglob("*.py")) for name in sorted(imported_modules(p))
            if name.split(".")[0] in forbidden]


def test_the_check_sees_imports_inside_functions(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    from reds_bench.factory import create_dut\n")
    assert offenders(tmp_path, ("reds_bench",)) != []


@pytest.mark.parametrize("package, forbidden", [(LIBRARY, ("reds_bench", "reds_app")),
                                                (BENCH, ("reds_app",))])
def test_no_module_imports_a_layer_above(package, forbidden):
    assert offenders(package, forbidden) == []


def test_importing_every_library_module_loads_no_layer_above():
    code = """
import importlib, json, pkgutil, sys
import reds
for m in pkgutil.walk_packages(reds.__path__, "reds."):
    importlib.import_module(m.name)
print(json.dumps(sorted(n for n in sys.modules if n.split(".")[0] in ("reds_bench", "reds_app"))))
"""
    env_path = f"{ROOT / 'toolkit'}:{ROOT / 'bench'}"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin",
                               "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.splitlines()[-1]) == []
