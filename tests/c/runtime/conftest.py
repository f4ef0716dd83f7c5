"""Fixtures for the C runtime tests: converted models (cached on disk) and the sanitizer harness."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

import modelgen

from paths import REPO
from reds.runtime.sources import WARNINGS, include_flags, portable_sources

HERE = Path(__file__).resolve().parent
CACHE = REPO / "build" / "test_models"


def _model_key(name: str, seed: int) -> str:
    import tensorflow as tf

    h = hashlib.sha256(Path(modelgen.__file__).read_bytes())
    h.update(f"{name}:{seed}:{tf.__version__}".encode())
    return h.hexdigest()[:16]


@pytest.fixture(scope="session")
def tflite_model():
    """`tflite_model(name, seed=0)` -> .tflite bytes, converted once and cached in build/."""
    def get(name: str, seed: int = 0) -> bytes:
        CACHE.mkdir(parents=True, exist_ok=True)
        path = CACHE / f"{name}_{seed}_{_model_key(name, seed)}.tflite"
        if not path.exists():
            if name == "random":
                data = modelgen.convert(modelgen.random_model(seed), seed=seed)
            else:
                data = modelgen.build(name, seed)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return path.read_bytes()

    return get


@pytest.fixture(scope="session")
def harness(tmp_path_factory) -> Path:
    """The C harness (tests/c/runtime/c/harness.c) built with ASan + UBSan."""
    out = tmp_path_factory.mktemp("harness") / "harness"
    cmd = [
        "gcc", *WARNINGS, "-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
        "-fno-omit-frame-pointer", *include_flags(),
        *map(str, portable_sources()), str(HERE / "c" / "harness.c"), "-o", str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out
