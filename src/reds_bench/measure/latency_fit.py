"""Calibrate a latency model on a board (``reds bench calibrate-latency``).

The model is re-nested with calibration width vectors (its own channel groups, each drawn
independently, plus full and minimum widths) so every op is seen at many input and output
widths; the board profiles each of them (``reds-profile``) and ``reds.plan.latency_model.fit``
fits every op on the first ``n_fit`` and reports the error on the held-back rest (fresh random
widths and the model's own subnets).
"""
from __future__ import annotations

from reds.plan import latency_model as lm_
from reds.tflite.metadata import read_metadata
from reds.tflite.slicing import nest

from reds_bench.measure.steps import ensure_model
from reds_bench.measure.profile import cost_unit, op_costs, profile_subnet


def _profile_chain(dut, model: bytes, groups, chain, upload: bool, runs: int) -> tuple:
    """Upload ``model`` nested with the width vectors of ``chain`` and profile each of them."""
    calib = nest(model, groups, chain) if chain else model
    info = ensure_model(dut, calib, upload=upload, path="calibration model")
    costs, unit = [], None
    for k in range(len(info["subnets"])):
        prof = profile_subnet(dut, k, runs)
        unit = unit or cost_unit(prof)
        costs.append(op_costs(prof))
    return costs, unit, info


def calibrate(dut, model: bytes, target: str, n_fit: int = 12, n_test: int = 6, seed: int = 0,
              upload: bool = True, runs: int = 8, width_step: int = 4,
              progress=None) -> lm_.LatencyModel:
    """Profile ``n_fit`` + ``n_test`` calibration widths and the model's own subnets; fit on
    the first, report the error on the others."""
    model = bytes(model)
    groups = lm_.model_groups(model)
    full = list(groups.full_widths)
    fit_chains = lm_.calibration_widths(full, n_fit, seed, step=width_step)
    test_chains = (lm_.calibration_widths(full, n_test, seed + 1, ends=False, step=width_step)
                   if n_test else [])
    meta = read_metadata(model)
    jobs = [(c, True) for c in fit_chains] + [(c, False) for c in test_chains]
    if meta is not None:
        steps = lm_.group_steps(full, width_step)
        own = [list(s.widths) for s in meta.subnets]
        if all(w % st == 0 for ws in own for w, st in zip(ws, steps)):  # only where the model is valid
            jobs.append((own, False))
    fit_w, fit_c, test_w, test_c, unit, info = [], [], [], [], None, {}
    for i, (chain, for_fit) in enumerate(jobs):
        if progress:
            progress(i, len(jobs))
        costs, unit, info = _profile_chain(dut, model, groups, chain, upload, runs)
        (fit_w if for_fit else test_w).extend(chain)
        (fit_c if for_fit else test_c).extend(costs)
    build = dict(info.get("build", {}))
    build["firmware_flags"] = "REDS_PROFILE"
    return lm_.fit(model, groups, target, unit, fit_w, fit_c, test_w, test_c, build, width_step)


def planned_vs_measured(lm: lm_.LatencyModel, model: bytes, measured: list[dict],
                        target: str | None = None, path: str = "latency model") -> list[dict]:
    """Per subnet: the latency model's prediction beside the measurement (``measured``: dicts
    with ``subnet``, ``widths`` and ``instructions`` or ``ticks``, e.g. the profile's subnets or
    results.json's latency rows joined with reds-info widths). Shares are of subnet 0."""
    lm.check(model, target=target, path=path)
    steps = lm_.group_steps(lm.full_widths, lm.width_step)
    rows = []
    for m in measured:
        got = m.get("instructions", m.get("total_instructions"))
        if got is None:
            got = m.get("total_ticks", m.get("ticks"))
        rows.append({"subnet": m["subnet"], "widths": m["widths"], "predicted": lm.predict(m["widths"]),
                     "measured": float(got),
                     # the model holds at multiples of its width step (a partial DSP block costs a whole one)
                     "on_grid": all(w % st == 0 for w, st in zip(m["widths"], steps))})
    if rows:
        p0, m0 = rows[0]["predicted"], rows[0]["measured"]
        for r in rows:
            r["predicted_share"] = r["predicted"] / p0 if p0 else None
            r["measured_share"] = r["measured"] / m0 if m0 else None
            r["error"] = (r["predicted"] - r["measured"]) / r["measured"] if r["measured"] else None
    return rows


def planned_vs_measured_markdown(rows: list[dict], unit: str) -> str:
    lines = [f"| subnet | predicted {unit} | measured {unit} | predicted % | measured % | error | widths on the model's step |",
             "|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['subnet']} | {r['predicted']:,.0f} | {r['measured']:,.0f} | "
                     f"{100 * r['predicted_share']:.1f} | {100 * r['measured_share']:.1f} | "
                     f"{100 * r['error']:+.2f} % | {'yes' if r['on_grid'] else 'no'} |")
    return "\n".join(lines) + "\n"
