"""Dut over pyserial's loop:// (everything written is read back)."""

import pytest

from reds_bench.board.dut import Dut
from reds_bench.errors import BoardResetError, DeviceError, ExpectTimeout
from reds_bench.board.link import Link
from reds_bench.board import protocol


@pytest.fixture
def dut(tmp_path):
    d = Dut(Link("loop://", log_path=tmp_path / "serial.log"), default_timeout=0.5)
    yield d
    d.close()


def test_expect_and_expect_exact(dut):
    dut.write("m-name-reds-native\r\nm-ready\r\n")
    m = dut.expect(r"m-name-reds-(\w+)")
    assert m.group(1) == "native"
    dut.expect_exact("m-ready")


def test_expect_list_returns_earliest(dut):
    dut.write("m-b\r\nm-a\r\n")
    m = dut.expect([r"m-a", r"m-b"])
    assert m.group(0) == "m-b"


def test_expect_timeout_names_pattern_tail_and_log(dut, tmp_path):
    dut.write("m-something-else\r\n")
    with pytest.raises(ExpectTimeout) as e:
        dut.expect("m-never", timeout=0.2)
    msg = str(e.value)
    assert "m-never" in msg and "m-something-else" in msg and str(tmp_path / "serial.log") in msg


def test_cmd_collects_lines_until_ready(dut):
    assert dut.cmd("m-reds-select subnet=2\r\nm-ready\r\n") == ["m-reds-select subnet=2"]


def test_cmd_raises_device_error(dut):
    with pytest.raises(DeviceError, match=r"subnet out of range"):
        dut.cmd("e-[subnet out of range subnet=9 subnets=4]\r\nm-ready\r\n")


def test_cmd_detects_boot_banner(dut):
    with pytest.raises(BoardResetError, match="rebooted"):
        dut.cmd("m-boot-reds target=native protocol=1\r\nm-ready\r\n")


def test_cmd_timeout(dut):
    with pytest.raises(ExpectTimeout, match="m-ready after"):
        dut.cmd("no-ready-here", timeout=0.2)


def test_parse_kv_and_lists():
    tag, d = protocol.parse_kv("m-reds-bench subnet=2 runs=50 median=1234 unit=systick x=1.5")
    assert tag == "reds-bench" and d == {"subnet": 2, "runs": 50, "median": 1234,
                                         "unit": "systick", "x": 1.5}
    assert protocol.parse_list("1.000,2.500,3") == [1.0, 2.5, 3]
    assert protocol.parse_error("e-[bad hex]") == "bad hex"
    assert protocol.parse_error("m-ready") is None


class _Replies:
    """Anything with ``cmd``: what measurements talk to."""

    def __init__(self, lines):
        self.lines = lines

    def cmd(self, line, timeout=None):
        return self.lines


def test_board_of_another_protocol_version_is_refused():
    from reds_bench.errors import BenchError
    from reds_bench.board.info import board_info

    ok = f"m-reds-info protocol={protocol.PROTOCOL_VERSION} target=native model_ok=1"
    assert board_info(_Replies([ok]))["info"]["target"] == "native"
    other = protocol.PROTOCOL_VERSION + 1
    with pytest.raises(BenchError, match=f"board speaks protocol {other}, this bench protocol "
                                         f"{protocol.PROTOCOL_VERSION}"):
        board_info(_Replies([f"m-reds-info protocol={other} target=native model_ok=1"]))
