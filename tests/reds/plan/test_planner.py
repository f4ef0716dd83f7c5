"""Exact width planner (reds.plan.planner) against brute force on small random instances."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from reds.plan import dp as plan_dp
from reds.errors import InfeasibleBudgetError, PlanError, UserError
from reds.plan.planner import (
    GroupSpec, PlanProblem, full_macs, min_macs, plan_to_json, problem_macs, problem_objective,
    solve, uniform_widths)

# --------------------------------------------------------------------------------------
# random instances


def random_problem(seed: int, arena: str | None = None) -> PlanProblem:
    """3-4 groups of width <= 7: a chain of bilinear terms, a residual tie, a fixed group,
    min widths, a depthwise-like linear term, a square term and a constant term."""
    rng = np.random.default_rng(seed)
    G = int(rng.integers(3, 5))
    groups = []
    fixed = int(rng.integers(0, G)) if rng.random() < 0.5 else -1
    for g in range(G):
        full = int(rng.integers(2, 8))
        kind = rng.integers(0, 3)
        if kind == 0:  # near-uniform (magnitude of an untrained net)
            s = 1.0 + 0.05 * rng.standard_normal(full)
        elif kind == 1:  # skewed (trained Taylor scores)
            s = rng.exponential(1.0, full)
        else:  # ties
            s = rng.integers(0, 3, full).astype(float)
        groups.append(
            GroupSpec(
                f"g{g}", full,
                min_width=int(rng.integers(1, full + 1)) if rng.random() < 0.4 else 1,
                fixed=(g == fixed), scores=np.abs(s),
            )
        )
    names = [g.name for g in groups]
    terms = [(int(rng.integers(1, 50)), names[0], None)]
    for g in range(1, G):
        terms.append((int(rng.integers(1, 20)), names[g - 1], names[g]))  # pointwise
        terms.append((int(rng.integers(0, 30)), names[g], None))  # depthwise
    # residual tie: first group also feeds the last one
    terms.append((int(rng.integers(1, 10)), names[0], names[G - 1]))
    if rng.random() < 0.5:
        terms.append((int(rng.integers(1, 5)), names[1], names[1]))  # square term
    terms.append((int(rng.integers(0, 100)), None, None))
    fn = None
    monotone = True
    if arena == "monotone":
        k = rng.integers(1, 30, G)

        def fn(w, k=k):  # largest pair of neighbouring activations, 16-byte rounded
            sizes = [(-(-int(w[n]) * int(kk) // 16)) * 16 for n, kk in zip(names, k)]
            return max(a + b for a, b in zip(sizes, sizes[1:] + [16]))

    elif arena == "nonmonotone":
        k = rng.integers(1, 30, G)
        monotone = False

        def fn(w, k=k):
            tot = sum(int(w[n]) * int(kk) for n, kk in zip(names, k))
            return tot + 40 * ((int(w[names[0]]) + int(w[names[-1]])) % 3)

    return PlanProblem(groups, terms, arena_fn=fn, arena_monotone=monotone)


def all_widths(problem, upper=None):
    ranges = []
    for g in problem.groups:
        lo = g.full_width if g.fixed else g.min_width
        hi = g.full_width if upper is None else upper[g.name]
        ranges.append(range(lo, hi + 1))
    for combo in itertools.product(*ranges):
        yield {g.name: w for g, w in zip(problem.groups, combo)}


def brute_force(problem, cap, mem=None, upper=None):
    best = None
    for w in all_widths(problem, upper):
        if problem_macs(problem, w) > cap:
            continue
        if mem is not None and problem.arena_fn(w) > mem:
            continue
        v = problem_objective(problem, w)
        if best is None or v > best[0]:
            best = (v, w)
    return best


def check_plan(problem, plan, mem_for=lambda s: None):
    """Each subnet: optimal given the bigger subnet's widths (brute force), within budgets."""
    upper = None
    for s in plan.subnets:
        assert s.status == "optimal"
        assert s.macs <= s.budget_macs
        assert s.macs == problem_macs(problem, s.widths)
        mem = mem_for(s)
        if mem is not None:
            assert s.arena_bytes <= mem
        bf = brute_force(problem, s.budget_macs, mem, upper)
        assert bf is not None
        assert s.objective == pytest.approx(bf[0], rel=1e-9, abs=1e-9)
        assert s.bound == pytest.approx(s.objective)
        if upper is not None:
            assert all(s.widths[n] <= upper[n] for n in upper)
        for g in problem.groups:
            lo = g.full_width if g.fixed else g.min_width
            assert lo <= s.widths[g.name] <= g.full_width
        upper = s.widths


def budgets_for(problem, rng, n=3):
    lo, hi = min_macs(problem), full_macs(problem)
    return sorted({int(x) for x in rng.integers(lo, hi + 1, n)} | {hi}, reverse=True)


# --------------------------------------------------------------------------------------
# the engine alone


@pytest.mark.parametrize("seed", range(40))
def test_solve_box_matches_brute_force(seed):
    rng = np.random.default_rng(1000 + seed)
    problem = random_problem(seed)
    names = [g.name for g in problem.groups]
    prefix = [
        np.concatenate([[0.0], np.cumsum(np.sort(g.scores)[::-1])]) for g in problem.groups
    ]
    terms = [(c, None if a is None else names.index(a), None if b is None else names.index(b))
             for c, a, b in problem.mac_terms]
    lo = [g.full_width if g.fixed else g.min_width for g in problem.groups]
    hi = [int(rng.integers(l, g.full_width + 1)) for l, g in zip(lo, problem.groups)]
    upper = dict(zip(names, hi))
    m_lo = plan_dp.macs_of(terms, lo)
    m_hi = plan_dp.macs_of(terms, hi)
    for cap in {int(m_lo), int(m_hi), *rng.integers(int(m_lo), int(m_hi) + 1, 4).tolist()}:
        r = plan_dp.solve_box(prefix, terms, lo, hi, cap)
        bf = brute_force(problem, cap, upper=upper)
        assert r.value == pytest.approx(bf[0], rel=1e-9, abs=1e-9)
        assert r.macs <= cap
        # a threshold at the optimum: nothing beats it
        r2 = plan_dp.solve_box(prefix, terms, lo, hi, cap, threshold=bf[0])
        assert not r2.beats_threshold
        r3 = plan_dp.solve_box(prefix, terms, lo, hi, cap, threshold=bf[0] - 1e-3)
        assert r3.beats_threshold and r3.value == pytest.approx(bf[0], rel=1e-9, abs=1e-9)
    assert plan_dp.solve_box(prefix, terms, lo, hi, m_lo - 1).feasible is False


def test_wide_interaction_graph_uses_multi_group_keys():
    # g0 is tied to every other group (a residual stream): its width stays in the DP key
    rng = np.random.default_rng(5)
    groups = [GroupSpec(f"g{i}", 6, scores=rng.random(6)) for i in range(4)]
    terms = [(3, "g0", "g1"), (5, "g1", "g2"), (2, "g0", "g2"), (7, "g2", "g3"),
             (4, "g0", "g3"), (11, "g3", None)]
    problem = PlanProblem(groups, terms)
    plan = solve(problem, [0.8, 0.5, 0.3], nested=True)
    check_plan(problem, plan)


# --------------------------------------------------------------------------------------
# the planner


@pytest.mark.parametrize("seed", range(30))
def test_nested_plan_matches_brute_force(seed):
    problem = random_problem(seed)
    budgets = budgets_for(problem, np.random.default_rng(seed))
    plan = solve(problem, budgets)
    assert [s.budget for s in plan.subnets] == sorted(budgets, reverse=True)
    check_plan(problem, plan)


@pytest.mark.parametrize("seed", range(20))
def test_unnested_plan_is_globally_optimal(seed):
    problem = random_problem(seed)
    budgets = budgets_for(problem, np.random.default_rng(seed))
    plan = solve(problem, budgets, nested=False)
    for s in plan.subnets:
        assert s.status == "optimal"
        bf = brute_force(problem, s.budget_macs)
        assert s.objective == pytest.approx(bf[0], rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("kind", ["monotone", "nonmonotone"])
@pytest.mark.parametrize("seed", range(25))
def test_peak_memory_matches_brute_force(seed, kind):
    problem = random_problem(seed, arena=kind)
    rng = np.random.default_rng(seed + 77)
    budgets = budgets_for(problem, rng)
    values = sorted({problem.arena_fn(w) for w in all_widths(problem)})
    lo_w = {g.name: (g.full_width if g.fixed else g.min_width) for g in problem.groups}
    floor = problem.arena_fn(lo_w) if kind == "monotone" else values[0]
    usable = [v for v in values if v >= floor]
    mem = usable[int(rng.integers(0, len(usable)))]
    if kind == "nonmonotone" and brute_force(problem, min(budgets), mem) is None:
        mem = max(values)
    try:
        plan = solve(problem, budgets, peak_memory=mem)
    except InfeasibleBudgetError:
        # must really be infeasible for the smallest budget under nesting
        assert kind == "nonmonotone"
        return
    check_plan(problem, plan, mem_for=lambda s: mem)


@pytest.mark.parametrize("seed", range(10))
def test_per_subnet_memory_budgets(seed):
    problem = random_problem(seed, arena="monotone")
    rng = np.random.default_rng(seed)
    budgets = budgets_for(problem, rng, n=2)
    values = sorted({problem.arena_fn(w) for w in all_widths(problem)})
    mems = [int(rng.choice(values[len(values) // 3:])) for _ in budgets]
    lo_w = {g.name: (g.full_width if g.fixed else g.min_width) for g in problem.groups}
    mems = [max(m, problem.arena_fn(lo_w)) for m in mems]
    plan = solve(problem, budgets, peak_memory=mems)
    by_budget = dict(zip(budgets, mems))
    check_plan(problem, plan, mem_for=lambda s: by_budget[s.budget])


def test_memory_infeasible_names_smallest_arena():
    problem = random_problem(3, arena="monotone")
    lo_w = {g.name: (g.full_width if g.fixed else g.min_width) for g in problem.groups}
    floor = problem.arena_fn(lo_w)
    with pytest.raises(InfeasibleBudgetError) as e:
        solve(problem, [1.0], peak_memory=floor - 1)
    assert e.value.smallest_feasible == floor
    assert "arena bytes" in str(e.value)


def test_infeasible_budget_names_smallest_feasible():
    problem = random_problem(1)
    smallest = min_macs(problem)
    with pytest.raises(InfeasibleBudgetError) as e:
        solve(problem, [1.0, smallest - 1])
    assert e.value.smallest_feasible == smallest
    assert str(smallest) in str(e.value)
    # exactly the smallest is fine and gives the minimum widths
    plan = solve(problem, [smallest])
    assert plan.subnets[0].macs == smallest


def test_fraction_and_absolute_budgets_agree():
    problem = random_problem(7)
    full = full_macs(problem)
    a = solve(problem, [0.9, 0.6])
    b = solve(problem, [math.floor(0.9 * full), math.floor(0.6 * full)])
    assert [s.widths for s in a.subnets] == [s.widths for s in b.subnets]
    assert [s.budget_macs for s in a.subnets] == [s.budget_macs for s in b.subnets]
    c = solve(problem, [1], budget_kind="macs") if min_macs(problem) <= 1 else None
    assert c is None or c.subnets[0].macs <= 1


def test_full_budget_gives_full_widths():
    problem = random_problem(2)
    plan = solve(problem, [1.0, 0.5])
    assert plan.subnets[0].widths == {g.name: g.full_width for g in problem.groups}
    assert plan.subnets[0].macs == full_macs(problem)


def test_subnets_largest_first_and_json():
    problem = random_problem(4, arena="monotone")
    budgets = [0.3, 1.0, 0.6]
    plan = solve(problem, budgets)
    assert [s.budget for s in plan.subnets] == [1.0, 0.6, 0.3]
    doc = plan_to_json(plan, "toy", budgets, plan.seconds)
    json.dumps(doc)  # serialisable
    assert set(doc) >= {"arch", "budgets", "solve_seconds", "subnets"}
    assert doc["arch"] == "toy" and doc["budgets"] == budgets
    for s in doc["subnets"]:
        assert set(s) >= {"budget", "status", "objective", "macs", "arena_bytes", "widths"}
        assert set(s["widths"]) == {g.name for g in problem.groups}
        assert s["arena_bytes"] == problem.arena_fn(s["widths"])


def test_progress_callback():
    calls = []
    problem = random_problem(5)
    solve(problem, [0.9, 0.5], progress=lambda d, t, m: calls.append((d, t)))
    assert calls[0] == (0, 2) and calls[-1] == (2, 2)


def test_uniform_baseline_is_largest_fitting_multiplier():
    groups = [GroupSpec("a", 8), GroupSpec("b", 8), GroupSpec("logits", 3, fixed=True)]
    problem = PlanProblem(groups, [(10, "a", None), (1, "a", "b"), (1, "b", "logits")])
    full = full_macs(problem)
    u = uniform_widths(problem, 0.5)
    assert u.macs <= 0.5 * full and u.status == "uniform"
    assert u.widths["logits"] == 3
    # one more unit of multiplier would not fit
    bigger = [w for w in range(u.widths["a"] + 1, 9)]
    for w in bigger:
        assert problem_macs(problem, {"a": w, "b": w, "logits": 3}) > 0.5 * full
    assert uniform_widths(problem, 1.0).widths == {"a": 8, "b": 8, "logits": 3}
    with pytest.raises(InfeasibleBudgetError):
        uniform_widths(problem, 1e-6)


def test_time_limit_reports_feasible_with_bound():
    problem = random_problem(6)
    budgets = budgets_for(problem, np.random.default_rng(6))
    plan = solve(problem, budgets, time_limit=0.0)
    for s in plan.subnets:
        assert s.status in ("optimal", "feasible")
        assert s.bound >= s.objective - 1e-9 * max(1.0, abs(s.objective))
        assert s.macs <= s.budget_macs


@pytest.mark.parametrize(
    "groups, terms, match",
    [
        ([GroupSpec("a", 4), GroupSpec("a", 4)], [], "duplicate"),
        ([GroupSpec("a", 4, scores=np.ones(3))], [], "3 scores"),
        ([GroupSpec("a", 4, scores=-np.ones(4))], [], ">= 0"),
        ([GroupSpec("a", 4, min_width=5)], [], "min_width"),
        ([GroupSpec("a", 4)], [(1, "b", None)], "unknown group"),
        ([GroupSpec("a", 4)], [(-1, "a", None)], "coefficient"),
    ],
)
def test_bad_problems_are_plan_errors(groups, terms, match):
    with pytest.raises(PlanError, match=match):
        solve(PlanProblem(groups, terms), [0.5])


def test_bad_budgets_are_user_errors():
    problem = random_problem(0)
    with pytest.raises(UserError):
        solve(problem, [0.0])
    with pytest.raises(UserError):
        solve(problem, [])
    with pytest.raises(UserError, match="arena function"):
        solve(problem, [0.5], peak_memory=1000)
    with pytest.raises(UserError, match="fraction"):
        solve(problem, [2.0], budget_kind="fraction")


# --------------------------------------------------------------------------------------
# a medium chain (DS-CNN-like, 5 groups of 13): vectorised brute force over 13^5 widths


def medium_chain(seed: int):
    rng = np.random.default_rng(seed)
    G, full = 5, 13
    groups = [GroupSpec(f"c{g}", full, scores=1.0 + 0.05 * rng.standard_normal(full) ** 2)
              for g in range(G)]
    groups.append(GroupSpec("logits", 4, fixed=True))
    names = [g.name for g in groups]
    terms = [(40 * 4, "c0", None)]
    for g in range(1, G):
        terms += [(9 * 4, names[g - 1], None), (4, names[g - 1], names[g])]
    terms.append((1, names[G - 1], "logits"))

    def arena(w):  # docs/arena.md-like: largest pair of neighbouring activations
        sizes = [(-(-4 * int(w[n]) // 16)) * 16 for n in names[:G]]
        return max([2 * sizes[0]] + [a + b for a, b in zip(sizes, sizes[1:])])

    problem = PlanProblem(groups, terms, arena_fn=arena)
    grids = np.indices([full] * G).reshape(G, -1).T + 1  # every width vector
    macs = sum(c * (1 if a is None else (grids[:, names.index(a)] if a != "logits" else 4))
               * (1 if b is None else (grids[:, names.index(b)] if b != "logits" else 4))
               for c, a, b in terms)
    pre = [np.concatenate([[0.0], np.cumsum(np.sort(g.scores)[::-1])]) for g in groups[:G]]
    value = sum(pre[g][grids[:, g]] for g in range(G)) + 4.0
    sizes = -(-4 * grids // 16) * 16
    ar = np.maximum(2 * sizes[:, 0], (sizes[:, 1:] + sizes[:, :-1]).max(axis=1))
    return problem, grids, macs, value, ar


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("mem", [None, 80])
def test_medium_chain_matches_vectorised_brute_force(seed, mem):
    problem, grids, macs, value, ar = medium_chain(seed)
    plan = solve(problem, [0.75, 0.5, 0.25], peak_memory=mem)
    upper = None
    for s in plan.subnets:
        assert s.status == "optimal"
        ok = macs <= s.budget_macs
        if mem is not None:
            ok &= ar <= mem
            assert s.arena_bytes <= mem
        if upper is not None:
            ok &= np.all(grids <= upper, axis=1)
        assert s.objective == pytest.approx(value[ok].max(), rel=1e-9, abs=1e-9)
        upper = np.array([s.widths[f"c{g}"] for g in range(5)])


@pytest.mark.parametrize("mem", [None, 80])
def test_time_limit_bound_is_valid(mem):
    problem, grids, macs, value, ar = medium_chain(0)
    plan = solve(problem, [0.6, 0.3], peak_memory=mem, time_limit=0.0)
    upper = None
    assert plan.subnets[0].status == "feasible"
    for s in plan.subnets:
        assert s.status in ("feasible", "optimal")
        assert s.macs <= s.budget_macs
        ok = macs <= s.budget_macs
        if mem is not None:
            assert s.arena_bytes <= mem
            ok &= ar <= mem
        if upper is not None:
            ok &= np.all(grids <= upper, axis=1)
        tol = 1e-9 * max(1.0, value[ok].max())  # float64 sums of ~65 scores: relative to their size
        assert s.bound >= value[ok].max() - tol >= s.objective - tol
        upper = np.array([s.widths[f"c{g}"] for g in range(5)])
