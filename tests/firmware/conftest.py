import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostbuild  # noqa: E402


@pytest.fixture(scope="session")
def host_fw(tmp_path_factory):
    """The plain host build of the firmware."""
    return hostbuild.build(tmp_path_factory.mktemp("fw"))


@pytest.fixture(scope="session")
def asan_fw(tmp_path_factory):
    """The host firmware built with -fsanitize=address,undefined (the fuzz target)."""
    return hostbuild.build(tmp_path_factory.mktemp("fw-asan"), sanitize=True)
