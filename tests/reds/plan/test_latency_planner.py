"""Latency budgets in the exact planner: same answers as brute force, nested, on the step."""
import itertools
import math

import numpy as np
import pytest

from reds.errors import InfeasibleBudgetError, UserError
from reds.plan.planner import GroupSpec, PlanProblem, solve


def tiny_problem(seed: int, step: int = 1, fulls=(6, 5, 4)):
    rng = np.random.default_rng(seed)
    groups = [GroupSpec(f"g{i}", f, min_width=step if f % step == 0 else 1,
                        scores=rng.uniform(0, 1, f), step=step if f % step == 0 else 1)
              for i, f in enumerate(fulls)]
    macs = [(9, "g0", None), (4, "g0", "g1"), (2, "g1", "g2"), (30, None, None)]
    # a latency model: per-op constants, linear and bilinear terms and a quadratic one, which
    # do not follow the MACs
    lat = [(100.0, None, None), (37.5, "g0", None), (3.25, "g0", "g1"), (80.0, "g1", None),
           (1.5, "g1", "g2"), (12.0, "g2", None), (0.75, "g2", "g2")]
    return PlanProblem(groups, macs, cost_terms=lat, cost_unit="instructions")


def cost(terms, w):
    return sum(c * (1 if a is None else w[a]) * (1 if b is None else w[b]) for c, a, b in terms)


def brute(problem, cap, upper):
    """Best total prefix score over every width vector within cost cap and upper bounds."""
    best, best_w = -math.inf, None
    ranges = [range(g.min_width, u + 1, g.step) if g.step > 1 else range(g.min_width, u + 1)
              for g, u in zip(problem.groups, upper)]
    prefix = {g.name: np.concatenate([[0], np.cumsum(np.sort(g.scores)[::-1])]) for g in problem.groups}
    for ws in itertools.product(*ranges):
        w = dict(zip([g.name for g in problem.groups], ws))
        if cost(problem.cost_terms, w) <= cap + 1e-9:
            v = sum(prefix[n][x] for n, x in w.items())
            if v > best + 1e-12:
                best, best_w = v, w
    return best, best_w


@pytest.mark.parametrize("seed,step", [(0, 1), (1, 1), (2, 1), (3, 2)])
def test_latency_plan_is_exact_and_nested(seed, step):
    problem = tiny_problem(seed, step, fulls=(6, 4, 4) if step == 2 else (6, 5, 4))
    full = {g.name: g.full_width for g in problem.groups}
    full_cost = cost(problem.cost_terms, full)
    plan = solve(problem, [1.0, 0.8, 0.65, 0.5] if step > 1 else [1.0, 0.7, 0.45, 0.3], budget_kind="latency")
    upper = [g.full_width for g in problem.groups]
    assert plan.subnets[0].widths == full and plan.cost_unit == "instructions"
    for s in plan.subnets:
        cap = math.floor(s.budget * math.ceil(full_cost - 1e-9) + 1e-6)
        want, _ = brute(problem, cap, upper)
        assert s.status == "optimal"
        assert s.objective == pytest.approx(want, rel=1e-9)
        assert s.cost == pytest.approx(cost(problem.cost_terms, s.widths)) and s.cost <= cap + 1e-6
        assert s.macs == cost(problem.mac_terms, s.widths)  # MACs still reported, from the MAC terms
        assert all(w % g.step == 0 for g, w in zip(problem.groups, s.widths.values()))
        assert all(w <= u for w, u in zip(s.widths.values(), upper))  # nested in the bigger one
        upper = list(s.widths.values())


def test_latency_and_mac_budgets_choose_differently():
    problem = tiny_problem(0)
    by_lat = solve(problem, [1.0, 0.5], budget_kind="latency").subnets[1]
    by_mac = solve(PlanProblem(problem.groups, problem.mac_terms), [1.0, 0.5]).subnets[1]
    assert by_lat.cost_fraction <= 0.5 + 1e-9
    assert by_mac.macs_fraction <= 0.5 + 1e-9
    # the MAC plan's latency share is not what its MAC share says
    full = {g.name: g.full_width for g in problem.groups}
    mac_plan_latency = cost(problem.cost_terms, by_mac.widths) / cost(problem.cost_terms, full)
    assert abs(mac_plan_latency - 0.5) > 0.05


def test_absolute_latency_budget_and_infeasible():
    problem = tiny_problem(1)
    s = solve(problem, [1500], budget_kind="latency").subnets[0]
    assert s.cost <= 1500
    smallest = cost(problem.cost_terms, {g.name: g.min_width for g in problem.groups})
    with pytest.raises(InfeasibleBudgetError, match="instructions"):
        solve(problem, [smallest - 1], budget_kind="latency")


def test_latency_kind_needs_a_latency_model():
    problem = tiny_problem(0)
    with pytest.raises(UserError, match="latency model"):
        solve(PlanProblem(problem.groups, problem.mac_terms), [0.5], budget_kind="latency")


def test_recipe_plan_keys(tmp_path):
    from reds.pipeline.recipe import load_recipe

    base = ("arch: dnn\ndataset: {name: digits}\npretrain: {epochs: 1, batch_size: 8, lr: 0.01}\n"
            "finetune: {epochs: 1, batch_size: 8, lr: 0.01}\n")
    p = tmp_path / "r.yaml"
    p.write_text(base + "plan: {budgets: [1.0, 0.5], budget_kind: latency, latency_model: lm.json}\n")
    r = load_recipe(p)
    assert r.plan.budget_kind == "latency" and r.plan.latency_model == "lm.json"
    from reds.pipeline.steps import Config

    cfg = Config.from_recipe(r)  # what `reds train` plans with
    assert cfg.budget_kind == "latency" and cfg.latency_model == "lm.json"
    p.write_text(base + "plan: {budgets: [1.0, 0.5]}\n")
    assert Config.from_recipe(load_recipe(p)).budget_kind == "macs"  # MAC budgets stay the default
    p.write_text(base + "plan: {budgets: [1.0, 0.5], budget_kind: latency}\n")
    with pytest.raises(UserError, match="latency_model"):
        load_recipe(p)
    p.write_text(base + "plan: {budgets: [1.0, 0.5], budget_kind: energy}\n")
    with pytest.raises(UserError, match="budget_kind"):
        load_recipe(p)


def _shares(text: str) -> list[float]:
    import re

    return [float(x) for x in re.findall(r"(\d+(?:\.\d+)?(?:e-?\d+)?) of the full model", text)]


@pytest.mark.parametrize("kind", ["fraction", "absolute"])
def test_infeasible_budget_says_fraction_smallest_fraction_and_width_step(kind):
    """The error names the budget asked as a share of the full model, the smallest feasible
    share, and what sets it: the minimum widths on the latency model's width step."""
    problem = tiny_problem(3, step=2, fulls=(6, 4, 4))
    full = cost(problem.cost_terms, {g.name: g.full_width for g in problem.groups})
    smallest = cost(problem.cost_terms, {g.name: g.min_width for g in problem.groups})
    budget = 0.5 * smallest / full if kind == "fraction" else 0.5 * smallest
    with pytest.raises(InfeasibleBudgetError) as e:
        solve(problem, [budget], budget_kind="latency")
    text = str(e.value)
    shares = _shares(text)
    assert len(shares) == 2
    assert shares[0] == pytest.approx(budget if kind == "fraction" else math.floor(budget) / full,
                                      rel=2e-3)
    assert shares[-1] == pytest.approx(smallest / full, rel=2e-3)
    assert e.value.smallest_fraction == pytest.approx(smallest / full, rel=1e-6)
    assert "width step 2" in text and "g0=2 g1=2 g2=2" in text
