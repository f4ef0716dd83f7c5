"""Shared fixtures: firmware builds are made once per test session and reused."""
from __future__ import annotations

import pytest

from reds_bench import firmware


@pytest.fixture(scope="session")
def firmware_program():
    """`firmware_program(env)` builds (once) and returns the default firmware for env."""
    built: dict[str, object] = {}

    def get(env: str):
        if env not in built:
            built[env] = firmware.build(env)
        return built[env]

    return get
