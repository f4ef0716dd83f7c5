"""Fixtures every test folder shares. Helpers that are not fixtures live in tests/support/
(on pytest's pythonpath): paths, model factories, the host firmware build, fault injection."""
from __future__ import annotations

import pytest

# Import the TFLM binding once up front: pytester's in-process runs drop modules imported
# during a run, and a pybind11 module cannot be imported twice in one process.
from tflite_micro.python.tflite_micro import runtime as _tflm_runtime  # noqa: F401

import hostbuild
from paths import DEFAULT_MODEL
from reds_bench.board import firmware


@pytest.fixture(scope="session")
def firmware_program():
    """`firmware_program(env)` builds (once per session) and returns the firmware for env."""
    built: dict[str, object] = {}

    def get(env: str):
        if env not in built:
            built[env] = firmware.build(env)
        return built[env]

    return get


@pytest.fixture(scope="session")
def host_program(tmp_path_factory):
    """The firmware built for the host with plain gcc (once per session)."""
    return hostbuild.build(tmp_path_factory.mktemp("host-fw"))


@pytest.fixture(scope="session")
def asan_program(tmp_path_factory):
    """The host firmware built with -fsanitize=address,undefined (the fuzz target)."""
    return hostbuild.build(tmp_path_factory.mktemp("host-fw-asan"), sanitize=True)


@pytest.fixture(scope="session")
def model_path():
    """The tiny nested model compiled into every firmware by default."""
    return DEFAULT_MODEL
