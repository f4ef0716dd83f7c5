"""`reds verify`: the C runtime on the nested file equals TFLM on each physically sliced model.

For every subnet k, the runtime (host build, through `reds.runtime.binding`) runs the nested model at
subnet k, and TFLM's reference interpreter (the `tflite-micro` package) runs the standalone
model `slicing.slice_model(model, k)`. Outputs must be equal bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reds.runtime.golden import random_inputs, tflm_outputs
from reds.tflite import metadata as _metadata
from reds.tflite import slicing


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


def verify_model(model_bytes: bytes, xs: np.ndarray | None = None, n: int = 20,
                 labels: np.ndarray | None = None, progress=None) -> VerifyReport:
    """Compare the runtime with TFLM for every subnet; with labels also report int8 accuracy."""
    from reds.runtime.binding import Runtime

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
