import pytest

from reds_bench.board.factory import create_board


@pytest.fixture
def native_board(host_program, tmp_path):
    """A connected board running the host firmware (a child process on a pty)."""
    b = create_board("native", firmware=host_program, log_dir=tmp_path / "logs", timeout=20)
    yield b
    b.close()
