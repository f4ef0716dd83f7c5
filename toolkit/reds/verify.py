"""`reds verify`: the C runtime on the nested file equals TFLM on each physically sliced model.

For every subnet k, the runtime (host build, through `reds.runtime`) runs the nested model at
subnet k, and TFLM's reference interpreter (the `tflite-micro` package) runs the standalone
model `slicing.slice_model(model, k)`. Outputs must be equal bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import metadata as _metadata
from . import slicing, tflite_io


@dataclass
class Mismatch:
    subnet: int
    sample: int
    index: int
    runtime_value: int
    tflm_value: int

    def __str__(self) -> str:
        return (f"subnet {self.subnet}, input {self.sample}, output index {self.index}: "
                f"runtime {self.runtime_value} != TFLM {self.tflm_value}")


@dataclass
class VerifyReport:
    subnets: list[dict] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def to_dict(self) -> dict:
        return {"ok": self.ok, "subnets": self.subnets,
                "mismatches": [m.__dict__ for m in self.mismatches[:50]]}


def tflm_run(model_bytes: bytes, x) -> np.ndarray:
    """One inference on TFLM's reference interpreter (the bit-exact golden): output 0 in its
    shape. ``x``: the input array (with its batch axis), or its raw bytes."""
    from tflite_micro.python.tflite_micro import runtime as tflm

    interp = tflm.Interpreter.from_bytes(bytes(model_bytes))
    if isinstance(x, (bytes, bytearray, memoryview)):
        det = interp.get_input_details(0)
        x = np.frombuffer(bytes(x), dtype=det["dtype"]).reshape(det["shape"])
    return _invoke(interp, x)


def tflm_outputs(model_bytes: bytes, xs: np.ndarray) -> np.ndarray:
    """Run TFLM's reference interpreter on each sample of xs (leading batch axis); one
    flattened output row per sample."""
    from tflite_micro.python.tflite_micro import runtime as tflm

    interp = tflm.Interpreter.from_bytes(bytes(model_bytes))
    return np.stack([_invoke(interp, x[None]).reshape(-1) for x in xs])


def _invoke(interp, x: np.ndarray) -> np.ndarray:
    interp.set_input(x, 0)
    interp.invoke()
    return np.array(interp.get_output(0))


def input_spec(model_bytes: bytes) -> tuple[tuple, np.dtype]:
    """Shape (with the batch axis) and NumPy dtype of the model's input 0."""
    m = tflite_io.load_model(model_bytes)
    t = m.tensors[m.inputs[0]]
    return tuple(int(d) for d in t.shape), np.dtype(tflite_io.NUMPY_DTYPES[t.dtype])


def random_inputs(model_bytes: bytes, n: int, seed: int = 0) -> np.ndarray:
    """n random inputs (leading batch axis): integer inputs cover their type's whole range,
    float inputs are standard normal."""
    full, dtype = input_spec(model_bytes)
    rng = np.random.default_rng(seed)
    shape = (n,) + full[1:]
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max + 1, size=shape, dtype=dtype)
    return rng.standard_normal(shape).astype(dtype)


def verify_model(model_bytes: bytes, xs: np.ndarray | None = None, n: int = 20,
                 labels: np.ndarray | None = None, progress=None) -> VerifyReport:
    """Compare the runtime with TFLM for every subnet; with labels also report int8 accuracy."""
    from .runtime import Runtime

    if xs is None:
        xs = random_inputs(model_bytes, n)
    meta = _metadata.read_metadata(model_bytes)
    k_count = meta.num_subnets if meta else 1
    report = VerifyReport()
    rt = Runtime(model_bytes)
    for k in range(k_count):
        golden_model = slicing.slice_model(model_bytes, k) if meta else model_bytes
        ours = rt.run_batch(xs, subnet=k).reshape(len(xs), -1)
        ref = tflm_outputs(golden_model, xs)
        diff = np.argwhere(ours != ref)
        for s, i in diff[:10]:
            report.mismatches.append(Mismatch(k, int(s), int(i), int(ours[s, i]), int(ref[s, i])))
        row = {"subnet": k, "inputs": int(len(xs)), "bit_exact": bool(len(diff) == 0),
               "mismatching_values": int(len(diff))}
        if labels is not None:
            row["int8_accuracy"] = float(np.mean(np.argmax(ours, axis=1) == labels))
        report.subnets.append(row)
        if progress is not None:
            progress(k)
    return report
