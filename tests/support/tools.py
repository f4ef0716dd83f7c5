"""Tests that need an installed tool (gdb-multiarch, openocd, pyOCD, labgrid, ser2net).

On a developer's machine a missing tool skips the test with the reason. In CI (``CI`` set, as
``.ci/run`` does) ``make bootstrap`` has installed every tool, so a missing one is a broken
bootstrap and the test fails instead of quietly skipping.
"""
from __future__ import annotations

import os

import pytest

IN_CI = bool(os.environ.get("CI"))


def needs(available: bool, reason: str):
    """Marker: skip when ``available`` is false, except in CI (the test then runs and fails)."""
    return pytest.mark.skipif(not available and not IN_CI, reason=reason)


def skip_or_fail(reason: str) -> None:
    """Stop a test (or fixture) whose tool is missing: skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"{reason} (`make bootstrap` installs it)", pytrace=False)
    pytest.skip(reason)
