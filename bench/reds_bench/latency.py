"""Calibrate a latency model on a board (``reds bench calibrate-latency``).

The model is re-nested with calibration width vectors (its own channel groups, each drawn
independently, plus full and minimum widths) so every op is seen at many input and output
widths; the board profiles each of them (``reds-profile``) and ``reds.latency_model.fit``
fits every op on the first ``n_fit`` and reports the error on the held-back rest (fresh random
widths and the model's own subnets).
"""
from __future__ import annotations

from reds import latency_model as lm_
from reds.metadata import read_metadata
from reds.slicing import nest

from .measure import ensure_model
from .profile import cost_unit, op_costs, profile_subnet


def calibrate(dut, model: bytes, target: str, n_fit: int = 12, n_test: int = 6, seed: int = 0,
              upload: bool = True, progress=None) -> lm_.LatencyModel:
    model = bytes(model)
    groups = lm_.model_groups(model)
    full = list(groups.full_widths)
    fit_w = lm_.calibration_widths(full, n_fit, seed)
    test_w = lm_.calibration_widths(full, n_test + 2, seed + 1)[2:]
    meta = read_metadata(model)
    own = [list(s.widths) for s in meta.subnets] if meta is not None else []
    test_w += [w for w in own if w not in fit_w and w not in test_w]
    widths = fit_w + test_w
    calib = nest(model, groups, widths)
    info = ensure_model(dut, calib, upload=upload, path="calibration model")
    costs, unit = [], None
    for k in range(len(widths)):
        if progress:
            progress(k, len(widths))
        prof = profile_subnet(dut, k)
        unit = unit or cost_unit(prof)
        costs.append(op_costs(prof))
    build = dict(info.get("build", {}))
    build["firmware_flags"] = "REDS_PROFILE"
    return lm_.fit(model, groups, target, unit, fit_w, costs[:n_fit], test_w, costs[n_fit:], build)
