"""The planner's problem of a Keras model: its channel groups with importance scores, and the
exact cost of the converted int8 graph (MACs, arena bytes, or a latency model's unit)."""
from __future__ import annotations

import time

import numpy as np

from reds.data.registry import load_dataset
from reds.errors import UserError
from reds.export.convert import match_groups, to_int8_tflite
from reds.model.groups import channel_groups
from reds.model.zoo import build_model, with_batch
from reds.plan import latency_model as lm_
from reds.plan import planner
from reds.tflite.arena import ArenaModel
from reds.tflite.groups import mac_terms
from reds.train.importance import compute_scores


def plan_problem(model, scores: dict, calibration_x: np.ndarray, min_width=1, latency_model=None):
    """The planner's problem for a Keras model: its channel groups with importance scores, and
    the cost model of the converted int8 graph itself (MACs and arena bytes exactly as the
    runtime counts them). With ``latency_model`` (a latency_model.json path) the budgets are in
    its unit (reds.plan.latency_model). Returns (problem, converted model bytes)."""
    kgroups = channel_groups(model, min_width=min_width)
    tfl = to_int8_tflite(with_batch(model, 1), calibration_x, max_samples=20)
    match = match_groups(kgroups, tfl)
    order = [g.name for g in kgroups]  # planner group i <-> converted group match.index[name]
    pos = {match.index[n]: i for i, n in enumerate(order)}
    terms = [(c, None if a is None else pos[a], None if b is None else pos[b])
             for c, a, b in mac_terms(tfl, match.groups)]
    arena = ArenaModel(tfl, match.groups)

    def arena_fn(widths):
        w = widths if isinstance(widths, dict) else dict(zip(order, widths))
        return arena.bytes(match.widths(w))

    specs = [planner.GroupSpec(name=g.name, full_width=g.width, min_width=g.min_width,
                               scores=np.asarray(scores[g.name], dtype=np.float64))
             for g in kgroups]
    problem = planner.PlanProblem(specs, terms, arena_fn)
    if latency_model is not None:
        lm = lm_.load(latency_model)
        lm.check(tfl, match.groups, path=str(latency_model))
        problem.cost_terms = [(c, None if a is None else pos[a], None if b is None else pos[b])
                              for c, a, b in lm.terms()]
        problem.cost_unit = lm.unit
        for spec in specs:  # the model holds at the widths it was calibrated at
            if not spec.fixed and spec.full_width % lm.width_step == 0:
                spec.step = lm.width_step
    return problem, tfl


def plan_architecture(arch: str, input_shape, classes: int, budgets, peak_memory=None,
                      scores: str = "magnitude", dataset: str | None = None, seed: int = 0,
                      min_width: int = 1, time_limit: float = 60.0, latency_model=None,
                      budget_kind: str = "macs") -> dict:
    """`reds plan`: plan an architecture of the zoo on its own (untrained weights unless a
    dataset is given for Taylor scores). Returns the plan JSON document."""
    try:
        model = build_model(arch, input_shape=tuple(input_shape), num_classes=classes, seed=seed)
    except ValueError as err:  # Keras' own words on a shape the architecture cannot take
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"{arch} cannot take --input-shape {','.join(map(str, input_shape))} "
                        f"({first[:200]}); give height,width,channels, e.g. 49,10,1") from None
    data = None
    if scores == "taylor":
        if dataset is None:
            raise UserError("--scores taylor needs --dataset (gradients need data); "
                            "use --scores magnitude to plan an untrained model")
        d = load_dataset(dataset, seed=seed)
        data = (d.x_train, d.y_train)
        calib = d.x_train
    else:
        calib = np.random.default_rng(seed).standard_normal((20,) + tuple(input_shape)).astype(np.float32)
    s = compute_scores(model, scores, data=data, seed=seed)
    if budget_kind == "latency" and latency_model is None:
        raise UserError("--budget-kind latency needs --latency-model FILE (reds bench calibrate-latency)")
    problem, _ = plan_problem(model, s, calib, min_width,
                              latency_model if budget_kind == "latency" else None)
    budgets = sorted((float(b) for b in budgets), reverse=True)
    if 1.0 not in budgets:
        budgets = [1.0] + budgets
    t0 = time.perf_counter()
    plan = planner.solve(problem, budgets, peak_memory=peak_memory, time_limit=time_limit,
                         budget_kind="latency" if budget_kind == "latency" else "auto")
    return planner.plan_to_json(plan, arch, budgets, time.perf_counter() - t0)
