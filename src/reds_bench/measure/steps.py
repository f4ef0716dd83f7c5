"""Measurements on a connected board (anything with ``cmd``/``kv``: a Dut or a Board).

Each function returns plain dicts shaped like the corresponding part of results.json
(docs/bench.md), so the runner only journals and assembles them.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from reds.tflite import slicing

from reds_bench.board import protocol
from reds_bench.board.info import board_crc, board_info
from reds_bench.errors import BenchError, DeviceError, ModelMismatchError
from reds.runtime import golden

NS_PER_S = 1_000_000_000


# ---------------------------------------------------------------------------- board state


def upload_model(dut, data: bytes, chunk: int = 256, crc: int | None = None) -> dict:
    """model-load / model-data chunks / model-commit. ``crc`` overrides the CRC sent (tests)."""
    data = bytes(data)
    dut.cmd(f"model-load {len(data)}")
    for h in protocol.hex_chunks(data, chunk):
        dut.cmd(f"model-data {h}")
    crc = protocol.crc32(data) if crc is None else crc
    _, d = protocol.parse_kv(dut.cmd(f"model-commit {crc:08x}")[0])
    return d


def ensure_model(dut, model: bytes, upload: bool = True, path: str = "model") -> dict:
    """Make sure the board runs ``model`` (CRC-32 of the whole file); upload it into the RAM
    slot when it does not and ``upload`` is set. Returns fresh ``board_info``."""
    want = protocol.crc32(model)
    info = board_info(dut)
    have = board_crc(info)
    if have == want:
        return info
    if not upload:
        raise ModelMismatchError(
            f"board runs model crc32={have:08x} but {path} has crc32={want:08x}; "
            "rebuild the firmware with this model or allow uploading" if have is not None else
            f"board has no working model; {path} has crc32={want:08x}")
    line_max = int(info["build"].get("line_max", 600))
    chunk = max(16, min(256, (line_max - 16) // 2))
    try:
        upload_model(dut, model, chunk)
    except DeviceError as e:
        raise ModelMismatchError(f"uploading {path} ({len(model)} bytes) failed: {e.message}. "
                                 "A model larger than the RAM slot must be compiled in "
                                 "(reds export --c-array, then build with REDS_MODEL_SOURCE)") from e
    info = board_info(dut)
    if board_crc(info) != want:
        raise ModelMismatchError(f"after upload the board reports crc32="
                                 f"{info['info'].get('model_crc32')}, expected {want:08x}")
    return info


# ---------------------------------------------------------------------------- timing


def ticks_to_ns(ticks: float, hz: int) -> float:
    return float(ticks) * NS_PER_S / hz if hz else float("nan")


def adaptation(dut, runs: int, timeout: float = 600.0) -> dict:
    """Switch matrix: mean ticks per ``reds_select`` for every i -> j, timer overhead removed."""
    header, rows = {}, {}
    for line in dut.cmd(f"reds-switch {runs}", timeout=timeout):
        tag, d = protocol.parse_kv(line)
        if tag == "reds-switch":
            header = d
        elif tag == "reds-switch-row":
            rows[int(d["from"])] = [float(v) for v in protocol.parse_list(d["ticks"])]
    k = int(header.get("subnets", 0))
    if k == 0 or sorted(rows) != list(range(k)):
        raise BenchError(f"incomplete reds-switch reply: header={header} rows={sorted(rows)}")
    hz = int(header["hz"])
    ipt = protocol.instructions_per_tick(header.get("instructions_per_tick"))
    ticks = [rows[i] for i in range(k)]
    ns = [[ticks_to_ns(t, hz) for t in row] for row in ticks]
    off = [ns[i][j] for i in range(k) for j in range(k) if i != j] or [ns[0][0]]
    off_ticks = [ticks[i][j] for i in range(k) for j in range(k) if i != j] or [ticks[0][0]]
    return {
        "matrix_ns": ns,
        "matrix_ticks": ticks,
        "mean_ns": float(np.mean(off)),
        "max_ns": float(np.max(off)),
        "instructions_per_switch": float(np.mean(off_ticks)) * ipt if ipt else None,
        "runs": runs,
        "overhead_ticks": header.get("overhead_ticks"),
        "unit": header.get("unit"),
        "hz": hz,
    }


def latency(dut, subnet: int, runs: int, warmup: int = 1, timeout: float = 600.0) -> dict:
    """Median, min and max of ``runs`` timed inferences of ``subnet``, each key named by its
    unit: ``*_instructions`` where the timer counts instructions (QEMU ``-icount``: no time is
    measured there), else ``*_ns``; ``cost_unit`` says which. ``*_ticks`` are the raw timer
    readings, ``unit`` the timer's own (e.g. ``systick``)."""
    d = dut.kv(f"reds-bench {subnet} {runs} {warmup}", "reds-bench", timeout=timeout)
    hz = int(d["hz"])
    res = {"subnet": subnet, "macs": d.get("macs"), "runs": runs, "unit": d.get("unit"), "hz": hz,
           "median_ticks": d["median"], "min_ticks": d["min"], "max_ticks": d["max"]}
    if d.get("instr_median") is not None:  # instructions per tick = instr_median / median
        ipt = d["instr_median"] / d["median"] if d["median"] else NS_PER_S / hz
        res.update({"cost_unit": "instructions", "instructions": d["instr_median"],
                    "median_instructions": float(d["instr_median"]),
                    "min_instructions": float(d["min"] * ipt),
                    "max_instructions": float(d["max"] * ipt)})
    else:
        res.update({"cost_unit": "ns", "instructions": None,
                    "median_ns": ticks_to_ns(d["median"], hz), "min_ns": ticks_to_ns(d["min"], hz),
                    "max_ns": ticks_to_ns(d["max"], hz)})
    return res


# ---------------------------------------------------------------------------- outputs


def device_outputs(dut, subnet: int, x: bytes) -> bytes:
    """Load input ``x``, select ``subnet``, infer once, return output 0's bytes."""
    x = bytes(x)
    dut.cmd(f"db load {len(x)}")
    for h in protocol.hex_chunks(x, 200):
        dut.cmd(f"db {h}")
    dut.cmd(f"reds-select {subnet}")
    dut.cmd("infer 1 0")
    for line in dut.cmd("results"):
        tag, d = protocol.parse_kv(line)
        if tag == "reds-output" and d.get("index") == 0:
            return bytes.fromhex(str(d.get("hex", "")))
    raise BenchError("results gave no m-reds-output index=0 line")


def golden_model(model: bytes, subnet: int, info: dict | None) -> tuple[bytes, str]:
    """The model TFLM should run for ``subnet`` and where it comes from: the file itself for a
    full-width subnet, else the physically sliced model (``reds.tflite.slicing.slice_model``, which
    raises when it cannot slice)."""
    full = info and info["info"].get("full_widths")
    widths = info and subnet < len(info["subnets"]) and info["subnets"][subnet]["widths"]
    if (full and widths == full) or (not full and subnet == 0):
        return model, "tflm-full"
    return bytes(slicing.slice_model(model, subnet)), "tflm-sliced"


def golden_output(model: bytes, x: bytes) -> bytes:
    """Output 0 of TFLM's reference interpreter for the raw input ``x`` (``reds.runtime.verify``)."""
    return np.ascontiguousarray(golden.tflm_run(model, x)).tobytes()


def random_inputs(model: bytes, n: int, seed: int = 0) -> list[bytes]:
    """``n`` random inputs as raw bytes (``reds.runtime.golden.random_inputs``)."""
    return [x.tobytes() for x in golden.random_inputs(model, n, seed)]


def correctness(dut, model: bytes, subnet: int, inputs: list[bytes], info: dict | None = None) -> dict:
    res = {"subnet": subnet, "inputs": len(inputs), "bit_exact": None, "golden": None,
           "mismatches": 0, "max_abs_diff": None}
    try:
        gm, res["golden"] = golden_model(model, subnet, info)
    except Exception as e:  # a model the slicer rejects must not lose the other measurements
        res["golden"] = f"unavailable: reds.tflite.slicing.slice_model failed: {type(e).__name__}: {e}"
        return res
    worst = 0
    for x in inputs:
        got = device_outputs(dut, subnet, x)
        want = golden_output(gm, x)
        if got != want:
            res["mismatches"] += 1
            if len(got) == len(want):
                d = np.abs(np.frombuffer(got, np.int8).astype(int) - np.frombuffer(want, np.int8))
                worst = max(worst, int(d.max()))
            else:
                worst = max(worst, 256)
    res["bit_exact"] = res["mismatches"] == 0
    res["max_abs_diff"] = worst
    return res


def load_dataset(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """An ``.npz`` with ``x`` (already quantized model inputs, [N, ...]) and ``y`` (labels)."""
    path = Path(path)
    if not path.exists():
        raise BenchError(f"dataset {path} not found")
    try:
        d = np.load(path)
    except (ValueError, OSError, EOFError) as err:  # not an array file, or a pickle
        raise BenchError(f"dataset {path} is not an .npz with arrays x and y ({err})") from None
    if "x" not in d or "y" not in d:
        raise BenchError(f"dataset {path} needs arrays 'x' (quantized inputs) and 'y' (labels)")
    check_quantized(d["x"], f"dataset {path}: x")
    return d["x"], d["y"]


def check_quantized(x, what: str = "x") -> None:
    """Refuse float inputs in one line, before the board does with a byte count: the models a
    board runs take quantized integer inputs (``reds exec`` gives the same hint)."""
    dtype = np.asarray(x).dtype
    if dtype.kind == "f":
        raise BenchError(f"{what} holds {dtype} values but the board's model takes quantized int8 "
                         "inputs; quantize them first with reds.export.convert.quantize_input("
                         "model_bytes, x) (on the command line: `reds exec --quantize`)")


def accuracy(dut, subnet: int, x: np.ndarray, y: np.ndarray) -> dict:
    """int8 accuracy of ``subnet`` on the board: ``x`` quantized inputs [N, ...], ``y`` labels."""
    check_quantized(x)
    correct = 0
    for xi, yi in zip(x, y):
        out = np.frombuffer(device_outputs(dut, subnet, xi.tobytes()), dtype=np.int8)
        correct += int(int(np.argmax(out)) == int(yi))
    return {"subnet": subnet, "int8_accuracy": correct / max(len(y), 1), "samples": int(len(y))}


# ---------------------------------------------------------------------------- memory


def _is_arm_elf(path: Path) -> bool:
    head = path.read_bytes()[:20]
    return head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == 40


def memory_from_elf(path: str | Path | None, info: dict | None = None) -> dict:
    """flash = text + data, ram = data + bss (Berkeley ``size``); arena = the largest subnet's."""
    arena = max((s.get("arena_bytes", 0) for s in (info or {}).get("subnets", [])), default=None)
    res = {"arena_bytes": arena, "flash_bytes": None, "ram_bytes": None,
           "arena_capacity": (info or {}).get("build", {}).get("arena_capacity")}
    if not path or not Path(path).exists():
        res["note"] = "no ELF/program available"
        return res
    path = Path(path)
    tool = "arm-none-eabi-size" if _is_arm_elf(path) else "size"
    if shutil.which(tool) is None:
        res["note"] = f"{tool} not found"
        return res
    out = subprocess.run([tool, "-B", str(path)], capture_output=True, text=True)
    try:
        text, data, bss = (int(v) for v in out.stdout.splitlines()[1].split()[:3])
    except (IndexError, ValueError):
        res["note"] = f"{tool} failed: {out.stderr.strip()}"
        return res
    res.update(flash_bytes=text + data, ram_bytes=data + bss, elf=str(path))
    return res
