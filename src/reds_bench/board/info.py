"""What a board says about itself (``reds-info``): model CRC, timer, build, subnets."""
from __future__ import annotations

from reds_bench.board import protocol
from reds_bench.errors import BenchError


def board_info(dut) -> dict:
    """``reds-info`` parsed: {"info": {...}, "timer": {...}, "build": {...}, "subnets": [...]}."""
    out = {"info": {}, "timer": {}, "build": {}, "subnets": []}
    for line in dut.cmd("reds-info"):
        tag, d = protocol.parse_kv(line)
        if tag == "reds-info":
            if "full_widths" in d:
                d["full_widths"] = protocol.parse_list(d["full_widths"])
            out["info"] = d
        elif tag == "reds-timer":
            out["timer"] = d
        elif tag == "reds-build":
            out["build"] = d
        elif tag == "reds-subnet":
            d["widths"] = protocol.parse_list(d.get("widths", ""))
            out["subnets"].append(d)
    if not out["info"]:
        raise BenchError("reds-info gave no m-reds-info line: is this REDS firmware?")
    version = out["info"].get("protocol")
    if version != protocol.PROTOCOL_VERSION:
        raise BenchError(f"the board speaks protocol {version}, this bench protocol "
                         f"{protocol.PROTOCOL_VERSION}: update the firmware or the bench")
    return out


def board_crc(info: dict) -> int | None:
    crc = info["info"].get("model_crc32")
    return int(str(crc), 16) if info["info"].get("model_ok") else None
