"""Exact width planner: pick nested subnetwork widths for MAC (and peak-memory) budgets.

A network has channel groups (sliceable channel dimensions; docs/metadata.md). Units of a
group are sorted by importance, so width ``w`` keeps the top-``w`` units and scores
``prefix_score(w)`` (sum of the ``w`` largest unit scores). For each budget the planner picks
integer widths maximizing the total prefix score subject to

* exact MACs: ``sum_t coef_t * w[a_t] * w[b_t] <= budget`` (a term names up to two groups),
* optionally the arena bytes of a caller-supplied ``arena_fn(widths) <= peak_memory``,
* nesting: a smaller budget's widths are <= the next bigger budget's widths, per group.

Subnets are solved largest budget first; each one is **proven optimal given the nesting
upper bounds from the bigger subnet** (status ``"optimal"``, ``bound == objective``), or the
time limit hit and it is the best found (status ``"feasible"``, ``bound`` = proven upper
bound). docs/plan.md explains the algorithm (Lagrangian bounds + a pruned Pareto dynamic
program over the groups, branch and bound on boxes of widths for the memory constraint).

Example::

    from reds.plan.planner import GroupSpec, PlanProblem, solve, plan_to_json
    groups = [GroupSpec("conv1", 64, scores=s1), GroupSpec("conv2", 64, scores=s2)]
    terms = [(9 * 32 * 32 * 3, "conv1", None), (9 * 16 * 16, "conv1", "conv2")]
    plan = solve(PlanProblem(groups, terms), [0.75, 0.5, 0.25])
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from reds.plan import dp as plan_dp
from reds.errors import InfeasibleBudgetError, PlanError, UserError

__all__ = [
    "GroupSpec",
    "PlanProblem",
    "Subnet",
    "Plan",
    "solve",
    "plan_to_json",
    "uniform_widths",
    "problem_macs",
    "problem_objective",
    "full_macs",
    "min_macs",
]

ProgressFn = Callable[[int, int, str], None]


@dataclass
class GroupSpec:
    """One channel group.

    ``scores``: importance of each of the ``full_width`` units (>= 0; any order: the planner
    sorts them, width w scores the w largest). None means every unit scores 1.
    ``fixed``: the group always keeps its full width (e.g. the logits).
    ``step``: widths are multiples of it (kernels that work in blocks of 4 channels cost a whole
    block for a partial one); it must divide ``full_width``, and the minimum rounds up to it.
    """

    name: str
    full_width: int
    min_width: int = 1
    fixed: bool = False
    scores: np.ndarray | None = None
    step: int = 1


@dataclass
class PlanProblem:
    """Groups, MAC terms and an optional arena function.

    ``mac_terms``: ``(coef, a, b)``; a term costs ``coef * f(a) * f(b)`` MACs where ``f(x)`` is
    the width of group ``x`` (a name or an index into ``groups``) and ``f(None) = 1``.
    E.g. a pointwise conv on an HxW map is ``(H*W, in_group, out_group)``, a depthwise kxk conv
    ``(H*W*k*k, group, None)``, a layer whose sizes never change ``(macs, None, None)``.

    ``cost_terms``: the cost the budgets are in when it is not MACs, same form as ``mac_terms``
    with coefficients >= 0 (a latency model, ``reds.plan.latency_model.LatencyModel.terms``: per op
    a constant, a linear term per width and a bilinear one); ``cost_unit`` names its unit.
    Budgets then cap this cost and MACs are only reported.

    ``arena_fn``: called with ``{group name: width}`` for every group, returns arena bytes.
    ``arena_monotone``: the caller promises ``arena_fn`` never decreases when a width grows.
    The memory constraint is then handled with up-set cuts (fast); with False the planner only
    excludes single width vectors, exact for any function but possibly slow.
    """

    groups: Sequence[GroupSpec]
    mac_terms: Sequence[tuple]
    arena_fn: Callable[[dict], int] | None = None
    arena_monotone: bool = True
    cost_terms: Sequence[tuple] | None = None
    cost_unit: str = "MACs"


@dataclass
class Subnet:
    """Widths chosen for one budget."""

    budget: float  # as requested (a fraction of the full cost if <= 1, else cost units)
    budget_macs: int  # the cap it stands for, in cost_unit (MACs unless a latency model is used)
    peak_memory: int | None  # arena byte cap, None if none
    status: str  # "optimal", "feasible" (time limit hit) or "uniform" (baseline)
    objective: float  # total prefix score
    bound: float  # proven upper bound of the objective (== objective when optimal)
    macs: int
    macs_fraction: float
    arena_bytes: int | None
    widths: dict[str, int]
    seconds: float = 0.0
    multiplier: float | None = None  # uniform baseline only
    cost_unit: str = "MACs"
    cost: float | None = None  # in cost_unit (== macs when the cost is MACs)
    cost_fraction: float | None = None

    @property
    def gap(self) -> float:
        """Relative gap between bound and objective (0 when proven optimal)."""
        if self.status == "optimal":
            return 0.0
        return (self.bound - self.objective) / max(abs(self.bound), 1e-12)


@dataclass
class Plan:
    """Subnets, largest budget first."""

    subnets: list[Subnet]
    full_macs: int
    seconds: float
    nested: bool = True
    stats: list[dict] = field(default_factory=list)
    cost_unit: str = "MACs"
    full_cost: float | None = None


# --------------------------------------------------------------------------------------
# problem preparation


@dataclass
class _Prepared:
    names: list[str]
    prefix: list[np.ndarray]
    terms: list[tuple]  # the budgeted cost: MACs, or cost_terms
    lo: np.ndarray
    hi: np.ndarray
    arena_fn: Callable | None
    monotone: bool
    mac_terms: list[tuple]
    cost_unit: str = "MACs"
    step: np.ndarray | None = None  # internally a width is counted in steps of this many units

    def units(self, widths: Mapping[str, int]) -> list[int]:
        """{group name: width} (missing: full) in the internal units."""
        out = []
        for n, h, st in zip(self.names, self.hi, self.step):
            w = int(widths.get(n, h * st))
            if w % st:
                raise PlanError(f"group {n!r}: width {w} is not a multiple of its step {st}")
            out.append(w // st)
        return out

    def macs(self, w) -> int:
        return int(round(plan_dp.macs_of(self.mac_terms, w)))

    def cost(self, w) -> float:
        return float(plan_dp.macs_of(self.terms, w))

    def widths_dict(self, w) -> dict[str, int]:
        return {n: int(x) * int(st) for n, x, st in zip(self.names, w, self.step)}

    def arena(self, w) -> int:
        return int(self.arena_fn(self.widths_dict(w)))

    def value(self, w) -> float:
        return float(sum(p[int(x)] for p, x in zip(self.prefix, w)))


def _prepare(problem: PlanProblem) -> _Prepared:
    groups = list(problem.groups)
    if not groups:
        raise PlanError("the plan problem has no channel groups")
    names = [g.name for g in groups]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise PlanError(f"duplicate channel group names: {', '.join(dup)}")
    index = {n: i for i, n in enumerate(names)}
    prefix, lo, hi, steps = [], [], [], []
    for g in groups:
        full = int(g.full_width)
        if full < 1:
            raise PlanError(f"group {g.name!r}: full_width must be >= 1, got {g.full_width}")
        mn = full if g.fixed else int(g.min_width)
        if not 1 <= mn <= full:
            raise PlanError(
                f"group {g.name!r}: min_width must be in [1, {full}], got {g.min_width}"
            )
        st = int(g.step)
        if st < 1 or full % st:
            raise PlanError(f"group {g.name!r}: step {g.step} must be >= 1 and divide full_width {full}")
        if g.scores is None:
            s = np.ones(full)
        else:
            s = np.asarray(g.scores, dtype=np.float64).ravel()
            if s.shape != (full,):
                raise PlanError(
                    f"group {g.name!r}: {s.size} scores for full_width {full}"
                )
            if not np.all(np.isfinite(s)) or np.any(s < 0):
                raise PlanError(f"group {g.name!r}: scores must be finite and >= 0")
        p = np.concatenate([[0.0], np.cumsum(np.sort(s)[::-1])])
        prefix.append(p[::st])  # prefix[u] = score of the first u * step units
        lo.append(-(-mn // st))
        hi.append(full // st)
        steps.append(st)

    def ref(x, t):
        if x is None:
            return None
        if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
            if not 0 <= int(x) < len(groups):
                raise PlanError(f"MAC term {t}: group index {x} out of range")
            return int(x)
        if x not in index:
            raise PlanError(f"MAC term {t}: unknown group {x!r}")
        return index[x]

    def parse(raw, what):
        terms = []
        for t in raw:
            if len(t) != 3:
                raise PlanError(f"{what} term {t!r}: expected (coef, group or None, group or None)")
            coef, a, b = t
            coef = float(coef)
            if not math.isfinite(coef) or coef < 0:
                raise PlanError(f"{what} term {t!r}: coefficient must be finite and >= 0")
            a, b = ref(a, t), ref(b, t)
            scale = (1 if a is None else steps[a]) * (1 if b is None else steps[b])
            terms.append((coef * scale, a, b))  # in units of the groups' steps
        return terms

    mac = parse(problem.mac_terms, "MAC")
    cost = mac if problem.cost_terms is None else parse(problem.cost_terms, problem.cost_unit)
    return _Prepared(
        names, prefix, cost, np.array(lo, np.int64), np.array(hi, np.int64),
        problem.arena_fn, bool(problem.arena_monotone), mac,
        "MACs" if problem.cost_terms is None else problem.cost_unit, np.array(steps, np.int64),
    )


def problem_macs(problem: PlanProblem, widths: Mapping[str, int]) -> int:
    """MACs of ``widths`` ({group name: width}; missing groups at full width)."""
    prep = _prepare(problem)
    return prep.macs(prep.units(widths))


def problem_objective(problem: PlanProblem, widths: Mapping[str, int]) -> float:
    """Total prefix score of ``widths`` ({group name: width}; missing groups at full width)."""
    prep = _prepare(problem)
    return prep.value(prep.units(widths))


def full_macs(problem: PlanProblem) -> int:
    """MACs with every group at full width."""
    prep = _prepare(problem)
    return prep.macs(prep.hi)


def min_macs(problem: PlanProblem) -> int:
    """MACs with every group at its minimum width: the smallest feasible MAC budget."""
    prep = _prepare(problem)
    return prep.macs(prep.lo)


def _cost_bounds(prep: _Prepared) -> tuple[int, int]:
    """Integer cost of the full widths (rounded up: budget 1.0 always admits them, also for a
    fractional latency model) and of the minimum widths (rounded down)."""
    return (int(math.ceil(plan_dp.macs_of(prep.terms, prep.hi) - 1e-9)),
            int(math.floor(plan_dp.macs_of(prep.terms, prep.lo) + 1e-9)))


def _infeasible(prep: _Prepared, budget, kind: str, cap: int, full: int,
                smallest: int) -> InfeasibleBudgetError:
    """The error for a budget below the cost of the smallest widths the plan allows: the budget
    as asked and as a share of the full model, the smallest feasible one both ways, and what
    sets it (minimum widths, width steps, fixed groups)."""
    unit = prep.cost_unit
    share = lambda c: f"{c / full:.3g}" if full else "?"  # noqa: E731
    fraction = kind == "fraction" or (kind in ("auto", "latency") and float(budget) <= 1.0)
    asked = (f"{float(budget):g} of the full model ({cap} {unit})" if fraction
             else f"{cap} {unit} ({share(cap)} of the full model's {full})")
    free = prep.lo < prep.hi
    lows = [f"{n}={int(lo * st)}" for n, lo, st, f in zip(prep.names, prep.lo, prep.step, free) if f]
    why = [" ".join(lows[:8]) + (" …" if len(lows) > 8 else "") if lows else "every group fixed"]
    steps = sorted({int(st) for st, f in zip(prep.step, free) if f and st > 1})
    if steps:
        why.append(f"width step {'/'.join(map(str, steps))} from the latency model")
    if (~free).any():
        why.append(f"{', '.join(n for n, f in zip(prep.names, free) if not f)} fixed at full width")
    return InfeasibleBudgetError(
        cap, smallest, unit=unit, fraction=cap / full if full else None,
        smallest_fraction=smallest / full if full else None,
        detail=(f"budget {asked} is infeasible: the smallest feasible budget is "
                f"{share(smallest)} of the full model ({smallest} {unit}), the cost of the "
                f"smallest widths the plan allows ({'; '.join(why)}); raise the budget"))


def budget_caps(budgets, full: int, kind: str, unit: str = "MACs") -> list[int]:
    caps = []
    for b in budgets:
        try:
            x = float(b)
        except (TypeError, ValueError):
            raise UserError(f"budget {b!r} is not a number") from None
        if not math.isfinite(x) or x <= 0:
            raise UserError(f"budget {b!r} must be a positive number")
        if kind == "fraction" or (kind in ("auto", "latency") and x <= 1.0):
            if x > 1.0:
                raise UserError(f"budget {b!r} is a fraction of the full {unit}: use 0 < b <= 1")
            caps.append(int(math.floor(x * full + 1e-6)))
        elif kind in ("auto", "macs", "latency"):
            caps.append(int(math.floor(x)))
        else:
            raise UserError(f"budget_kind must be 'auto', 'fraction', 'macs' or 'latency', not {kind!r}")
    return caps


# --------------------------------------------------------------------------------------
# solving


def solve(
    problem: PlanProblem,
    budgets: Sequence[float],
    peak_memory: int | Sequence[int | None] | None = None,
    time_limit: float = 60.0,
    progress: ProgressFn | None = None,
    *,
    nested: bool = True,
    budget_kind: str = "auto",
) -> Plan:
    """Optimal widths for each budget, largest budget first.

    ``budgets``: MAC budgets; with ``budget_kind="auto"`` a value in (0, 1] is a fraction of
    the full MACs and a value > 1 an absolute MAC count ("fraction"/"macs" force one reading).
    With ``problem.cost_terms`` (``budget_kind="latency"``, which requires them) the budgets
    are read the same way in ``problem.cost_unit`` (fractions of the full model's latency, or
    absolute instructions/ticks), with the same nesting, minimum widths and memory cap.
    ``peak_memory``: arena byte cap for every subnet, or one cap (or None) per budget, in the
    order of ``budgets``; needs ``problem.arena_fn``.
    ``nested``: each subnet's widths are bounded by the next bigger subnet's (default). With
    False every budget is solved independently (no nesting guarantee).
    ``time_limit``: seconds for the whole call; subnets not proven by then are "feasible".
    ``progress(done, total, message)`` is called before and after each subnet.

    Raises InfeasibleBudgetError when a MAC budget is below the MACs of the minimum widths
    (or no widths fit the memory cap), PlanError / UserError for malformed input.
    """
    t_start = time.monotonic()
    deadline = t_start + float(time_limit)
    prep = _prepare(problem)
    if budget_kind == "latency" and problem.cost_terms is None:
        raise UserError("budget_kind 'latency' needs a latency model (PlanProblem.cost_terms)")
    full, smallest = _cost_bounds(prep)
    budgets = list(budgets)
    if not budgets:
        raise UserError("no budgets given")
    caps = budget_caps(budgets, full, budget_kind, prep.cost_unit)
    if isinstance(peak_memory, (list, tuple)):
        mems = list(peak_memory)
        if len(mems) != len(budgets):
            raise UserError(
                f"{len(mems)} peak-memory budgets for {len(budgets)} MAC budgets"
            )
    else:
        mems = [peak_memory] * len(budgets)
    mems = [None if m is None else int(m) for m in mems]
    if any(m is not None for m in mems) and prep.arena_fn is None:
        raise UserError("a peak-memory budget needs an arena function (PlanProblem.arena_fn)")
    for b, cap in zip(budgets, caps):
        if cap < smallest:
            raise _infeasible(prep, b, budget_kind, cap, full, smallest)

    order = sorted(range(len(budgets)), key=lambda i: (-caps[i], i))
    subnets: list[Subnet] = []
    stats: list[dict] = []
    upper = prep.hi.copy()
    total = len(order)
    cache: dict = {}
    for done, i in enumerate(order):
        label = f"budget {budgets[i]:g} ({caps[i]} {prep.cost_unit})"
        if progress:
            progress(done, total, f"solving {label}")
        t0 = time.monotonic()
        try:
            res, st = _solve_one(
                prep, prep.lo, upper if nested else prep.hi, caps[i], mems[i], deadline, cache
            )
        except plan_dp.DPTooWide as e:
            raise PlanError(
                f"the channel groups interact too widely for the exact planner: {e}"
            ) from None
        if res is None:
            lo_arena = prep.arena(prep.lo)
            extra = " under the nesting bounds of the bigger subnet" if nested and subnets else ""
            raise InfeasibleBudgetError(
                mems[i], lo_arena if prep.monotone else f"unknown (min widths use {lo_arena})",
                unit=f"arena bytes{extra}",
            )
        w, status, bound = res
        m = prep.macs(w)
        full_m = prep.macs(prep.hi)
        obj = prep.value(w)
        subnets.append(
            Subnet(
                budget=budgets[i], budget_macs=caps[i], peak_memory=mems[i], status=status,
                objective=obj, bound=obj if status == "optimal" else max(bound, obj),
                macs=m, macs_fraction=m / full_m if full_m else 1.0,
                arena_bytes=prep.arena(w) if prep.arena_fn else None,
                widths=prep.widths_dict(w), seconds=time.monotonic() - t0,
                cost_unit=prep.cost_unit, cost=prep.cost(w),
                cost_fraction=prep.cost(w) / full if full else 1.0,
            )
        )
        st["budget"] = budgets[i]
        stats.append(st)
        if nested:
            upper = np.asarray(w, np.int64).copy()
        if progress:
            progress(done + 1, total, f"{label}: {status}, score {obj:.6g}")
    return Plan(subnets, prep.macs(prep.hi), time.monotonic() - t_start, nested, stats,
                prep.cost_unit, float(full))


def _solve_one(prep: _Prepared, lo, hi, cap, mem, deadline, cache):
    """((widths, status, bound) or None if infeasible, stats) for one subnet."""
    tol = plan_dp.TOL * max(1.0, prep.value(hi))
    if mem is None or (prep.monotone and prep.arena(hi) <= mem):
        r = plan_dp.solve_box(prep.prefix, prep.terms, lo, hi, cap, deadline=deadline)
        status = "feasible" if r.timed_out else "optimal"
        return (r.widths, status, r.bound), {"boxes": 1, "dp": r.stats}
    # branch and bound over boxes of widths; a box's priority is an upper bound of its optimum
    cuts = []
    if prep.monotone:
        if prep.arena(lo) > mem:
            return None, {"boxes": 0}
        key = ("cuts", mem)
        if key not in cache:
            cache[key] = _local_cuts(prep, mem)
        caps, cuts = cache[key]
        hi = np.minimum(hi, caps)
    best_w, best_v = None, -math.inf
    heap = [(-prep.value(hi), 0, lo.copy(), hi.copy())]
    counter = 1
    nboxes = 0
    timed_out = False
    open_bound = -math.inf
    while heap:
        ub = -heap[0][0]
        if best_w is not None and ub <= best_v + tol:
            break
        if time.monotonic() > deadline:
            timed_out = True
            open_bound = ub
            break
        _, _, blo, bhi = heapq.heappop(heap)
        nboxes += 1
        r = plan_dp.solve_box(
            prep.prefix, prep.terms, blo, bhi, cap,
            threshold=None if best_w is None else best_v, deadline=deadline, cuts=cuts,
        )
        if r.timed_out:
            timed_out = True
            open_bound = min(ub, r.bound)  # both bound this box's optimum
            if r.widths is not None and prep.arena(r.widths) <= mem and r.value > best_v:
                best_w, best_v = r.widths, r.value
            break
        if not r.feasible or not r.beats_threshold or r.widths is None:
            continue
        w = r.widths
        if prep.arena(w) <= mem:
            if r.value > best_v:
                best_w, best_v = w, r.value
            continue
        for sub in _split(prep, blo, bhi, w, mem):
            heapq.heappush(heap, (-r.value, counter, sub[0], sub[1]))
            counter += 1
    stats = {"boxes": nboxes, "pair_cuts": len(cuts)}
    if best_w is None and timed_out and prep.arena(lo) <= mem:
        best_w, best_v = lo.copy(), prep.value(lo)  # the minimum widths fit: a fallback
    if best_w is None:
        if timed_out:
            raise PlanError(
                "time limit hit before any widths within the memory budget were found; "
                "raise time_limit"
            )
        return None, stats
    if timed_out:
        rest = max([-e[0] for e in heap], default=-math.inf)
        return (best_w, "feasible", max(best_v, open_bound, rest)), stats
    return (best_w, "optimal", best_v), stats


def _local_cuts(prep: _Prepared, mem: int):
    """Necessary conditions of arena <= mem on one group or a pair of MAC neighbours.

    With a monotone arena, arena(w) >= arena(min widths except groups a, b at w_a, w_b).
    Returns per-group caps (largest width fitting alone) and pair cuts (a, b, T): T[x] is the
    smallest width of b that overflows with a at x (others at their minimum), so the DP must
    keep w_b < T[w_a]. Costs about (range_a + range_b) arena calls per pair (staircase walk).
    """
    base = prep.lo
    caps = prep.hi.copy()
    G = len(base)
    for g in range(G):
        if base[g] == prep.hi[g]:
            continue
        w = base.copy()
        w[g] = prep.hi[g]
        if prep.arena(w) <= mem:
            continue
        a, b = int(base[g]), int(prep.hi[g])  # arena(base) <= mem < arena(w_g = b)
        while a + 1 < b:
            mid = (a + b) // 2
            w[g] = mid
            if prep.arena(w) > mem:
                b = mid
            else:
                a = mid
        caps[g] = a
    pairs = sorted({(min(a, b), max(a, b)) for _, a, b in prep.terms
                    if a is not None and b is not None and a != b})
    cuts = []
    for a, b in pairs:
        if base[a] == caps[a] or base[b] == caps[b]:
            continue
        T = np.full(int(prep.hi[a]) + 1, int(prep.hi[b]) + 1, dtype=np.int64)
        y = int(caps[b]) + 1  # smallest overflowing width of b seen so far (none: caps+1)
        w = base.copy()
        for x in range(int(base[a]), int(caps[a]) + 1):
            w[a] = x
            while y - 1 >= base[b]:
                w[b] = y - 1
                if prep.arena(w) > mem:
                    y -= 1
                else:
                    break
            if y <= caps[b]:
                T[x] = y
        T[int(caps[a]) + 1 :] = base[b]  # beyond the cap of a nothing fits
        if np.any(T[int(base[a]) : int(caps[a]) + 1] <= caps[b]):
            cuts.append((a, b, T))
    return caps, cuts


def _split(prep: _Prepared, blo, bhi, w, mem):
    """Sub-boxes covering box minus the widths that the violating ``w`` rules out."""
    G = len(w)
    out = []
    if prep.monotone:
        # Shrink w to a minimal violating point u (each coordinate as low as it can go while
        # the arena still exceeds mem); every width vector >= u violates too.
        u = np.array(w, np.int64)
        for g in range(G):
            a, b = int(prep.lo[g]), int(u[g])  # arena(u with u_g=b) > mem
            while a < b:
                mid = (a + b) // 2
                u2 = u.copy()
                u2[g] = mid
                if prep.arena(u2) > mem:
                    b = mid
                else:
                    a = mid + 1
            u[g] = b
        # box \ {x >= u} = disjoint union over j of {x_i >= u_i (i < j), x_j <= u_j - 1}
        lo = np.array(blo, np.int64)
        for j in range(G):
            if u[j] - 1 >= blo[j]:
                hi = np.array(bhi, np.int64)
                hi[j] = u[j] - 1
                if prep.arena(lo) <= mem:  # else every width in the sub-box violates
                    out.append((lo.copy(), hi))
            lo[j] = max(lo[j], u[j])
    else:
        # exclude the single point w: x_i = w_i (i < j), x_j < w_j or x_j > w_j
        lo = np.array(blo, np.int64)
        hi = np.array(bhi, np.int64)
        for j in range(G):
            if w[j] - 1 >= lo[j]:
                h2 = hi.copy()
                h2[j] = w[j] - 1
                out.append((lo.copy(), h2))
            if w[j] + 1 <= hi[j]:
                l2 = lo.copy()
                l2[j] = w[j] + 1
                out.append((l2, hi.copy()))
            lo[j] = hi[j] = w[j]
    return out


# --------------------------------------------------------------------------------------
# baselines and output


def uniform_widths(problem: PlanProblem, budget: float, *, budget_kind: str = "auto") -> Subnet:
    """Uniform width multiplier baseline: the largest multiplier a whose widths fit the budget.

    Width of a free group at multiplier a: ``round(a * full_width)`` (halves up), clamped to
    [min_width, full_width]; fixed groups stay full. Memory is not considered.
    """
    prep = _prepare(problem)
    full, smallest = _cost_bounds(prep)
    cap = budget_caps([budget], full, budget_kind, prep.cost_unit)[0]
    if cap < smallest:
        raise _infeasible(prep, budget, budget_kind, cap, full, smallest)

    def widths_at(a):
        w = np.floor(a * prep.hi + 0.5).astype(np.int64)
        return np.clip(w, prep.lo, prep.hi)

    # widths only change where a * full_g crosses n - 1/2: try those multipliers, largest first
    cands = {1.0}
    for g, full_g in enumerate(prep.hi):
        if prep.lo[g] < full_g:
            cands.update((n - 0.5) / full_g for n in range(int(prep.lo[g]) + 1, int(full_g) + 1))
    best_a = 0.0
    for a in sorted(cands, reverse=True):
        if plan_dp.macs_of(prep.terms, widths_at(a)) <= cap:
            best_a = a
            break
    w = widths_at(best_a)
    m = prep.macs(w)
    full_m = prep.macs(prep.hi)
    obj = prep.value(w)
    return Subnet(
        budget=budget, budget_macs=cap, peak_memory=None, status="uniform", objective=obj,
        bound=math.nan, macs=m, macs_fraction=m / full_m if full_m else 1.0,
        arena_bytes=prep.arena(w) if prep.arena_fn else None, widths=prep.widths_dict(w),
        multiplier=float(best_a), cost_unit=prep.cost_unit, cost=prep.cost(w),
        cost_fraction=prep.cost(w) / full if full else 1.0,
    )


def _num(x):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return x


def plan_to_json(plan: Plan, arch: str, budgets: Sequence[float], solve_seconds: float) -> dict:
    """The plan as a JSON-ready dict (docs/plan.md lists the keys)."""
    return {
        "arch": arch,
        "budgets": [float(b) for b in budgets],
        "solve_seconds": round(float(solve_seconds), 3),
        "full_macs": int(plan.full_macs),
        "cost_unit": plan.cost_unit,
        "full_cost": _num(plan.full_cost),
        "nested": bool(plan.nested),
        "subnets": [
            {
                "budget": float(s.budget),
                "budget_macs": int(s.budget_macs),
                "peak_memory": s.peak_memory,
                "status": s.status,
                "objective": float(s.objective),
                "bound": _num(float(s.bound)),
                "gap": _num(float(s.gap)) if s.status != "uniform" else None,
                "macs": int(s.macs),
                "macs_fraction": round(float(s.macs_fraction), 6),
                "arena_bytes": None if s.arena_bytes is None else int(s.arena_bytes),
                "cost": _num(s.cost),
                "cost_fraction": None if s.cost_fraction is None else round(float(s.cost_fraction), 6),
                "widths": {k: int(v) for k, v in s.widths.items()},
                "seconds": round(float(s.seconds), 3),
            }
            for s in plan.subnets
        ],
    }
