"""Hex payloads made only of digits must survive parsing unchanged (regression)."""
from reds_bench.board import protocol


def test_all_digit_hex_is_not_turned_into_a_number():
    tag, d = protocol.parse_kv("m-reds-output index=0 bytes=4 hex=00120034 crc32=00000012")
    assert tag == "reds-output"
    assert d["index"] == 0 and d["bytes"] == 4
    assert bytes.fromhex(d["hex"]) == b"\x00\x12\x00\x34"
    assert d["crc32"] == "00000012"
