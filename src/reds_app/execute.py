"""`reds exec`: run the C runtime on inputs, on the host or on an emulated board.

native: the runtime's host build through `reds.runtime.binding` (ctypes), timed in C with
clock_gettime. qemu_*: the firmware in QEMU with -icount; the model is uploaded over the serial
protocol, each input is sent with `db`, run with `infer` and read back with `results`; `--repeat`
times the subnet on the board (SysTick ticks, reported as instructions under icount). A model
larger than the board's upload slot is compiled into a firmware build of its own instead
(cached per model CRC); `ExecResult.model_path` and a line on stderr say which path was taken.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from reds.tflite import flatbuffer as tflite_io
from reds.errors import UserError


@dataclass
class ExecResult:
    outputs: np.ndarray  # leading batch axis, the model's output dtype and shape
    timing: dict | None  # {"per_inference", "unit", "runs", ...} when repeat > 0
    model_path: str = "host"  # how the model reached the target: host, upload, compiled-in


def _io_spec(model_bytes: bytes):
    m = tflite_io.load_model(model_bytes)
    tin, tout = m.tensors[m.inputs[0]], m.tensors[m.outputs[0]]
    return tin, tout


def quantize_batch(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    """Float inputs in the model's int8 input encoding (`reds exec --quantize`)."""
    from reds.export.convert import quantize_input

    tin, _ = _io_spec(model_bytes)
    if x.dtype.kind != "f":
        raise UserError(f"--quantize expects float inputs, got {x.dtype}; drop --quantize to pass "
                        "already quantized inputs")
    if tin.dtype != "INT8" or tin.quantization is None or not len(tin.quantization.scale):
        raise UserError(f"--quantize: the model's input is {tin.dtype} without int8 quantization "
                        "parameters; give inputs in its own type")
    return quantize_input(model_bytes, x)


def dequantize_output(model_bytes: bytes, y: np.ndarray) -> np.ndarray:
    """Outputs as float32: (q - zero_point) * scale with the output tensor's parameters."""
    _, tout = _io_spec(model_bytes)
    q = tout.quantization
    if q is None or not len(q.scale):
        return y.astype(np.float32)
    return ((y.astype(np.float32) - float(q.zero_point[0])) * float(q.scale[0])).astype(np.float32)


def input_batch(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    """`x` as a batch of the model's input samples, or one line saying what does not match."""
    tin, _ = _io_spec(model_bytes)
    want = tflite_io.NUMPY_DTYPES[tin.dtype]
    if x.dtype != want:
        hint = (" (or pass --quantize to quantize float inputs with the model's scale and zero "
                "point)" if x.dtype.kind == "f" and tin.dtype == "INT8" else "")
        raise UserError(f"input dtype {x.dtype} does not match the model's input {tin.dtype}; "
                        f"quantize inputs first (reds.export.convert.quantize_input){hint}")
    if x.size == 0:
        raise UserError(f"the input batch is empty (shape {x.shape}); give at least one sample")
    sample = tuple(tin.shape[1:])
    if x.shape == tuple(tin.shape):  # one sample with its batch axis of 1
        return x
    if x.shape == sample:
        return x[None]
    if x.shape[1:] == sample:
        return x
    raise UserError(f"input shape {x.shape} does not match the model input {list(tin.shape)} "
                    f"(a batch of samples of shape {list(sample)} is also accepted)")


def execute(model_bytes: bytes, x: np.ndarray, subnet: int = 0, target: str = "native",
            repeat: int = 0, place: dict | None = None) -> ExecResult:
    """``place``: a labgrid place to run on instead (``{"place": NAME, "coordinator": ...,
    "wait": bool}``, docs/lab.md); the board there must run a REDS firmware."""
    xs = input_batch(model_bytes, np.asarray(x))
    if target == "native" and not place:
        return _execute_native(model_bytes, xs, subnet, repeat)
    return _execute_board(model_bytes, xs, subnet, target, repeat, place)


def _execute_native(model_bytes, xs, subnet, repeat) -> ExecResult:
    from reds.runtime.binding import Runtime

    rt = Runtime(model_bytes)
    if not 0 <= subnet < rt.num_subnets:
        raise UserError(f"subnet {subnet} out of range: the model has {rt.num_subnets}")
    _, tout = _io_spec(model_bytes)
    out = rt.run_batch(xs, subnet=subnet).reshape((len(xs),) + tuple(tout.shape[1:]))
    timing = None
    if repeat > 0:
        rt.select(subnet)
        ns = rt.time_per_inference_ns(xs[0], repeat)
        timing = {"per_inference": ns, "unit": "ns", "runs": repeat}
    return ExecResult(out, timing)


def _execute_board(model_bytes, xs, subnet, target, repeat, place=None) -> ExecResult:
    from reds_bench.board.factory import BoardSpec, create_board, create_board_for_model
    from reds_bench.measure.steps import device_outputs, ensure_model, latency

    _, tout = _io_spec(model_bytes)
    out_dtype = tflite_io.NUMPY_DTYPES[tout.dtype]
    if place:
        board, path = create_board(hw=BoardSpec(env=target, id=place["place"],
                                                labgrid=place)), "upload"
        target = f"place {place['place']}"
    else:
        board, path = create_board_for_model(target, model_bytes)
    print(f"{target}: model ({len(model_bytes)} bytes) "
          + ("uploaded into the RAM slot" if path == "upload" else
             "compiled into the firmware (larger than the RAM slot)"), file=sys.stderr)
    with board:
        ensure_model(board, model_bytes)
        outs = []
        for x in xs:
            raw = device_outputs(board, subnet, np.ascontiguousarray(x).tobytes())
            outs.append(np.frombuffer(raw, dtype=out_dtype))
        timing = None
        if repeat > 0:
            lat = latency(board, subnet, repeat)
            timing = {"per_inference": lat["instructions"] if lat.get("instructions") is not None
                      else lat["median_ns"],
                      "unit": "instructions" if lat.get("instructions") is not None else "ns",
                      "runs": repeat, "median_ticks": lat["median_ticks"], "tick_unit": lat["unit"]}
    per_sample = tuple(tout.shape[1:])
    return ExecResult(np.stack(outs).reshape((len(xs),) + per_sample), timing, path)
