"""Exact MAC-budgeted width selection inside a box of widths (the planner's engine).

The engine of :mod:`reds.plan.planner`; docs/plan.md explains the method. One call of
:func:`solve_box` answers

    maximize    sum_g P_g(w_g)                      (P_g: prefix score, non-decreasing)
    subject to  MACs(w) = c0 + sum_t coef_t * w_a * w_b  <=  cap
                lo_g <= w_g <= hi_g                 (integers)

exactly, with plain numpy:

1. *Variable elimination order.* Groups with ``lo == hi`` are constants. The remaining groups
   are visited in an order; after step k the *active set* A_k holds the visited groups that
   still share a MAC term with an unvisited one. A DP state is (widths of A_k, MACs so far,
   score so far). For a chain network (DS-CNN) A_k is the last group only.
2. *Lagrangian bounds.* For a grid of multipliers lambda a backward DP gives, per step and
   per active-width key, V_k^lambda(key) = max over completions of (score - lambda * MACs).
   For a state with MACs m and score s every completion within the budget scores at most
   s + min_lambda [V_k^lambda(key) + lambda * (cap - m)]. The same DP at the best lambda
   gives the dual bound and, after a greedy fill, a feasible incumbent.
3. *Forward DP with pruning.* States are extended one group at a time; a state is dropped
   when its bound is below the incumbent (minus a tiny tolerance) or when no completion fits
   the budget, and per key only the Pareto frontier in (MACs ascending, score ascending) is
   kept. What survives to the end contains an optimal solution if one beats the incumbent;
   otherwise the incumbent is optimal.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

# Relative tolerance for comparing objective values (sums of float scores). A state is pruned
# only if its bound is below incumbent - TOL * scale, so rounding never cuts the optimum.
TOL = 1e-9
# Largest number of (state, width) candidates materialised at once in the forward DP.
_CHUNK = 4_000_000
# Largest key space of an active set; beyond it the interaction graph is too wide for the DP.
MAX_KEYS = 2_000_000


class DPTooWide(Exception):
    """The interaction graph of the groups is too wide (too many active-width keys)."""


class DPTimeout(Exception):
    """The time limit was hit inside the DP."""


@dataclass
class BoxResult:
    """Outcome of :func:`solve_box`.

    ``widths`` is None when no widths in the box fit the budget (``value`` = -inf) or when the
    box cannot beat ``threshold`` (``value`` = None, ``beats_threshold`` False).
    """

    widths: np.ndarray | None
    value: float | None
    macs: float | None
    bound: float  # proven upper bound of the box optimum
    feasible: bool = True
    beats_threshold: bool = True
    timed_out: bool = False  # widths/value are the best found, bound is the dual bound
    stats: dict = field(default_factory=dict)


@dataclass
class _Step:
    g: int
    vals: np.ndarray  # candidate widths of group g
    score: np.ndarray  # P_g(vals)
    unary: np.ndarray  # MACs of terms with g alone (and constants): over vals
    nbr_pos: np.ndarray  # positions in the previous active set of g's earlier neighbours
    nbr_coef: np.ndarray  # their bilinear coefficients
    src: np.ndarray  # per member of the new active set: position in previous set, -1 = g
    stride: np.ndarray  # key strides of the new active set
    lo_new: np.ndarray  # lower widths of the new active set
    nkeys: int  # key space size of the new active set
    # pair cuts checked at this step: (position of the other group in the previous active
    # set, table T, True if g is the cut's "b" side). A cut (a, b, T) forbids w_b >= T[w_a].
    cuts: list = field(default_factory=list)


class Compiled:
    """A problem restricted to a box, prepared for the DP."""

    def __init__(self, prefix, terms, lo, hi, cuts=()):
        self.G = len(prefix)
        self.prefix = prefix
        self.lo = np.asarray(lo, dtype=np.int64)
        self.hi = np.asarray(hi, dtype=np.int64).copy()
        self.cuts = list(cuts)
        self.empty = not _tighten(self.lo, self.hi, self.cuts)
        free = [g for g in range(self.G) if self.lo[g] < self.hi[g]]
        self.free = free
        isfree = np.zeros(self.G, bool)
        isfree[free] = True
        const_w = self.lo.astype(np.float64)
        c0 = 0.0
        lin = np.zeros(self.G)
        quad = np.zeros(self.G)
        pair: dict[tuple[int, int], float] = {}
        for coef, a, b in terms:
            fa = a is not None and isfree[a]
            fb = b is not None and isfree[b]
            va = 1.0 if a is None else const_w[a]
            vb = 1.0 if b is None else const_w[b]
            if not fa and not fb:
                c0 += coef * va * vb
            elif fa and fb:
                if a == b:
                    quad[a] += coef
                else:
                    key = (min(a, b), max(a, b))
                    pair[key] = pair.get(key, 0.0) + coef
            elif fa:
                lin[a] += coef * vb
            else:
                lin[b] += coef * va
        self.c0 = c0
        self.lin = lin
        self.quad = quad
        self.pair = pair
        self.order = _choose_order(free, pair, self.lo, self.hi)
        self.steps = self._build_steps()
        self.score_const = float(sum(prefix[g][self.lo[g]] for g in range(self.G) if not isfree[g]))

    def _build_steps(self):
        order = self.order
        pos_in_order = {g: i for i, g in enumerate(order)}
        nbrs: dict[int, dict[int, float]] = {g: {} for g in order}
        for (a, b), c in self.pair.items():
            nbrs[a][b] = c
            nbrs[b][a] = c
        steps = []
        prev_active: list[int] = []
        free = set(order)
        for k, g in enumerate(order):
            vals = np.arange(self.lo[g], self.hi[g] + 1, dtype=np.int64)
            score = np.asarray(self.prefix[g], dtype=np.float64)[vals]
            unary = self.lin[g] * vals + self.quad[g] * vals.astype(np.float64) ** 2
            earlier = [a for a in nbrs[g] if pos_in_order[a] < k]
            nbr_pos = np.array([prev_active.index(a) for a in earlier], dtype=np.int64)
            nbr_coef = np.array([nbrs[g][a] for a in earlier], dtype=np.float64)
            cand = prev_active + [g]
            new_active = [a for a in cand if any(pos_in_order[b] > k for b in nbrs[a])]
            src = np.array(
                [prev_active.index(a) if a != g else -1 for a in new_active], dtype=np.int64
            )
            sizes = [int(self.hi[a] - self.lo[a] + 1) for a in new_active]
            stride = np.ones(len(new_active), dtype=np.int64)
            for j in range(len(new_active) - 2, -1, -1):
                stride[j] = stride[j + 1] * sizes[j + 1]
            nkeys = int(np.prod(sizes)) if sizes else 1
            if nkeys > MAX_KEYS:
                raise DPTooWide(
                    f"{nkeys} width combinations of groups {new_active} stay active at once"
                )
            here = []
            for a, b, T in self.cuts:
                if a not in free or b not in free or g not in (a, b):
                    continue
                other = b if g == a else a
                if pos_in_order[other] > k:
                    continue  # checked at the other group's step
                if other not in prev_active:
                    raise ValueError(f"pair cut ({a}, {b}) joins groups without a MAC term")
                here.append((prev_active.index(other), np.asarray(T, np.int64), g == b))
            steps.append(
                _Step(
                    g=g, vals=vals, score=score, unary=unary, nbr_pos=nbr_pos,
                    nbr_coef=nbr_coef, src=src, stride=stride,
                    lo_new=self.lo[new_active].astype(np.int64),
                    nkeys=nkeys, cuts=here,
                )
            )
            prev_active = new_active
        return steps

    # -- helpers over (previous active widths matrix, candidate widths) ---------------------
    @staticmethod
    def _inc_and_key(st: _Step, Wp: np.ndarray):
        """MAC increment and new key for every row of Wp (n, |A_prev|) x every st.vals."""
        n = Wp.shape[0]
        v = st.vals.astype(np.float64)
        if len(st.nbr_pos):
            wsum = Wp[:, st.nbr_pos].astype(np.float64) @ st.nbr_coef  # (n,)
            inc = st.unary[None, :] + wsum[:, None] * v[None, :]
        else:
            inc = np.broadcast_to(st.unary[None, :], (n, len(v)))
        key = np.zeros((n, len(v)), dtype=np.int64)
        for j, sj in enumerate(st.src):
            if sj < 0:
                key += ((st.vals - st.lo_new[j]) * st.stride[j])[None, :]
            else:
                key += ((Wp[:, sj] - st.lo_new[j]) * st.stride[j])[:, None]
        return inc, key

    @staticmethod
    def _allowed(st: _Step, Wp: np.ndarray):
        """Bool (n, nv): which widths of st.g the pair cuts allow after each row of Wp."""
        if not st.cuts:
            return None
        ok = np.ones((Wp.shape[0], len(st.vals)), dtype=bool)
        for pos, T, g_is_b in st.cuts:
            if g_is_b:  # forbid v >= T[w_other]
                ok &= st.vals[None, :] < T[Wp[:, pos]][:, None]
            else:  # g is a: forbid w_other >= T[v]
                ok &= T[st.vals][None, :] > Wp[:, pos][:, None]
        return ok

    def ok(self, w) -> bool:
        """Does the full width vector w satisfy every pair cut?"""
        return all(w[b] < T[w[a]] for a, b, T in self.cuts)

    def _all_prev_widths(self, k):
        """All width combinations of the active set before step k, in key order."""
        if k == 0:
            return np.zeros((1, 0), dtype=np.int64)
        prev = self.steps[k - 1]
        act = self._active(k - 1)
        sizes = [int(self.hi[a] - self.lo[a] + 1) for a in act]
        if not sizes:
            return np.zeros((1, 0), dtype=np.int64)
        idx = np.indices(sizes).reshape(len(sizes), -1).T
        return idx + prev.lo_new[None, :]

    def _active(self, k):
        """Active set (group ids) after step k."""
        st = self.steps[k]
        out = []
        prev = self._active(k - 1) if k > 0 else []
        for sj in st.src:
            out.append(st.g if sj < 0 else prev[sj])
        return out

    # -- backward DP --------------------------------------------------------------------
    def backward(self, lams: np.ndarray):
        """V[k] (L, nkeys_k): best score - lambda*MACs of steps k+1.. given the key after k.

        Also returns minmac[k] (nkeys_k): smallest MACs of the remaining steps. Index k = -1
        (the empty start) is stored at position 0 of the returned lists shifted by one:
        V[0] is before any step, V[k+1] after step k.
        """
        lams = np.asarray(lams, dtype=np.float64)
        L = len(lams)
        n = len(self.steps)
        V = [None] * (n + 1)
        MN = [None] * (n + 1)
        V[n] = np.zeros((L, 1))
        MN[n] = np.zeros(1)
        for k in range(n - 1, -1, -1):
            st = self.steps[k]
            Wp = self._all_prev_widths(k)
            nk = Wp.shape[0]
            nv = len(st.vals)
            Vk = np.empty((L, nk))
            Mk = np.empty(nk)
            rows = max(1, _CHUNK // max(1, nv * L))
            for a in range(0, nk, rows):
                inc, key = self._inc_and_key(st, Wp[a : a + rows])
                nxt = V[k + 1][:, key]  # (L, r, nv)
                val = st.score[None, None, :] - lams[:, None, None] * inc[None] + nxt
                mn = inc + MN[k + 1][key]
                allowed = self._allowed(st, Wp[a : a + rows])
                if allowed is not None:
                    val = np.where(allowed[None], val, -np.inf)
                    mn = np.where(allowed, mn, np.inf)
                Vk[:, a : a + rows] = val.max(axis=2)
                Mk[a : a + rows] = mn.min(axis=1)
            V[k] = Vk
            MN[k] = Mk
        return V, MN

    def argmax(self, V, li, lam):
        """Widths maximizing score - lam*MACs (using V[.][li] from backward)."""
        W = np.zeros((1, 0), dtype=np.int64)
        w = self.lo.copy()
        for k, st in enumerate(self.steps):
            inc, key = self._inc_and_key(st, W)
            val = st.score - lam * inc[0] + V[k + 1][li, key[0]]
            allowed = self._allowed(st, W)
            if allowed is not None:
                val = np.where(allowed[0], val, -np.inf)
            j = int(np.argmax(val))
            w[st.g] = st.vals[j]
            newW = np.empty((1, len(st.src)), dtype=np.int64)
            for t, sj in enumerate(st.src):
                newW[0, t] = st.vals[j] if sj < 0 else W[0, sj]
            W = newW
        return w


def _choose_order(free, pair, lo, hi):
    """Elimination order: the given group order, unless a greedy order has fewer keys."""
    if not free:
        return []
    nb = {g: set() for g in free}
    for a, b in pair:
        nb[a].add(b)
        nb[b].add(a)
    size = {g: float(hi[g] - lo[g] + 1) for g in free}

    def cost(order):
        seen = set()
        worst = 0.0
        pos = {g: i for i, g in enumerate(order)}
        for k, g in enumerate(order):
            seen.add(g)
            act = [a for a in seen if any(pos[b] > k for b in nb[a])]
            c = math.prod(size[a] for a in act) * size[g]
            worst = max(worst, c)
        return worst

    best = list(free)
    best_cost = cost(best)
    rev = best[::-1]
    if cost(rev) < best_cost:
        best, best_cost = rev, cost(rev)
    if best_cost <= max(size.values()) ** 2:
        return best  # a path order (one active group at a time): nothing is better
    # greedy: next group = the one leaving the smallest active key space, from a few starts
    starts = list(dict.fromkeys([free[0], free[-1], *sorted(free, key=lambda g: len(nb[g]))[:2]]))
    for start in starts:
        order = [start]
        rest = [g for g in free if g != start]
        while rest:
            def after(g):
                o = order + [g]
                s = set(o)
                act = [a for a in o if nb[a] - s]
                return math.prod(size[a] for a in act)
            g = min(rest, key=after)
            order.append(g)
            rest.remove(g)
        c = cost(order)
        if c < best_cost:
            best, best_cost = order, c
    return best


def _tighten(lo, hi, cuts) -> bool:
    """Turn pair cuts with one constant side into bounds (in place). False if box empty."""
    changed = True
    while changed:
        changed = False
        for a, b, T in cuts:
            if lo[a] == hi[a]:  # forbid w_b >= T[const]
                t = int(T[lo[a]])
                if t - 1 < hi[b]:
                    hi[b] = t - 1
                    changed = True
            if lo[b] == hi[b]:  # forbid w_a with T[w_a] <= const: an up-set for a monotone arena
                bad = np.flatnonzero(T[lo[a] : hi[a] + 1] <= lo[b])
                if len(bad) and lo[a] + bad[0] - 1 < hi[a]:
                    hi[a] = lo[a] + bad[0] - 1
                    changed = True
            if np.any(hi < lo):
                return False
    return True


def macs_of(terms, w) -> float:
    tot = 0.0
    for coef, a, b in terms:
        tot += coef * (1 if a is None else w[a]) * (1 if b is None else w[b])
    return tot


def _greedy_fill(prefix, terms, w, hi, cap, ok=lambda w: True):
    """Raise widths one unit at a time (best score per MAC first) while MACs <= cap."""
    w = np.array(w, dtype=np.int64)
    G = len(w)
    coef = np.array([t[0] for t in terms], dtype=np.float64)
    A = np.array([-1 if t[1] is None else t[1] for t in terms], dtype=np.int64)
    B = np.array([-1 if t[2] is None else t[2] for t in terms], dtype=np.int64)
    same = (A == B) & (A >= 0)
    m = macs_of(terms, w)
    blocked = np.zeros(G, dtype=bool)  # +1 does not fit (MACs only grow: stays blocked)
    while True:
        wf = np.r_[w, 1].astype(np.float64)  # index -1 -> factor 1
        fa, fb = wf[A], wf[B]
        # MACs added by w_g += 1, all groups at once
        dm = np.zeros(G + 1)
        np.add.at(dm, A, coef * np.where(same, 0.0, fb))
        np.add.at(dm, B, coef * np.where(same, 0.0, fa))
        np.add.at(dm, A, np.where(same, coef * (2 * fa + 1), 0.0))
        dm = dm[:G]
        ds = np.array([prefix[g][w[g] + 1] - prefix[g][w[g]] if w[g] < hi[g] else -1.0
                       for g in range(G)])
        cand = (w < hi) & ~blocked & (m + dm <= cap)
        blocked |= (w < hi) & (m + dm > cap)
        if not cand.any():
            return w, m
        ratio = np.where(dm > 0, ds / np.where(dm > 0, dm, 1.0), np.inf)
        ratio[~cand] = -np.inf
        moved = False
        for g in np.argsort(-ratio, kind="stable"):
            if not cand[g]:
                break
            w[g] += 1
            if ok(w):
                m = macs_of(terms, w)
                moved = True
                break
            w[g] -= 1
            blocked[g] = True  # a cut only tightens as widths grow
        if not moved:
            return w, m


def _lam_scale(comp: Compiled, cap_rel):
    s = sum(float(comp.prefix[g][comp.hi[g]] - comp.prefix[g][comp.lo[g]]) for g in comp.free)
    full_rel = macs_of_comp(comp, comp.hi) - comp.c0
    return max(s, 1e-12) / max(full_rel, 1.0)


def macs_of_comp(comp: Compiled, w) -> float:
    tot = comp.c0
    for g in comp.free:
        tot += comp.lin[g] * w[g] + comp.quad[g] * float(w[g]) ** 2
    for (a, b), c in comp.pair.items():
        tot += c * float(w[a]) * float(w[b])
    return tot


def solve_box(prefix, terms, lo, hi, cap, threshold=None, deadline=None, n_bound_lams=24,
              cuts=(), beam=5000):
    """Best widths in the box [lo, hi] with MACs <= cap (see module docstring).

    ``threshold``: if given, only a solution with value > threshold matters; when the box
    cannot beat it, returns ``beats_threshold=False`` (cheaply, thanks to pruning).
    ``cuts``: pair cuts (a, b, T) forbidding w_b >= T[w_a] (T indexed by the width of a;
    a and b must share a MAC term, or one of them be constant in the box). T must be
    non-increasing (it comes from a monotone arena function).
    Raises DPTimeout if ``deadline`` (time.monotonic()) passes.
    """
    t0 = time.monotonic()
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    G = len(prefix)

    def value(w):
        return float(sum(prefix[g][w[g]] for g in range(G)))

    cuts = list(cuts)
    hi = hi.copy()
    if cuts and not _tighten(lo, hi, cuts):
        return BoxResult(None, -math.inf, None, -math.inf, feasible=False)

    def ok(w):
        return all(w[b] < T[w[a]] for a, b, T in cuts)

    m_lo = macs_of(terms, lo)
    if m_lo > cap or not ok(lo):
        # MACs grow with every width, and a cut violated at lo is violated in the whole box
        # (T is non-increasing)
        return BoxResult(None, -math.inf, None, -math.inf, feasible=False)
    m_hi = macs_of(terms, hi)
    if m_hi <= cap and ok(hi):
        v = value(hi)
        return BoxResult(hi.copy(), v, m_hi, v, beats_threshold=threshold is None or v > threshold)

    ctx = {"w": lo.copy(), "v": value(lo), "bound": value(hi)}
    try:
        return _solve_box_dp(prefix, terms, lo, hi, cap, threshold, deadline, n_bound_lams,
                             value, ctx, t0, cuts, ok, beam)
    except DPTimeout:
        w = ctx["w"]
        return BoxResult(w, ctx["v"] if w is not None else None,
                         macs_of(terms, w) if w is not None else None, ctx["bound"],
                         timed_out=True,
                         beats_threshold=threshold is None or ctx["v"] > threshold)


def _solve_box_dp(prefix, terms, lo, hi, cap, threshold, deadline, n_bound_lams, value, ctx, t0,
                  cuts, ok, beam):
    comp = Compiled(prefix, terms, lo, hi, cuts)
    if comp.empty:
        return BoxResult(None, -math.inf, None, -math.inf, feasible=False)
    cap_rel = cap - comp.c0
    scale = max(1.0, abs(value(hi)))
    tol = TOL * scale

    def check_time():
        if deadline is not None and time.monotonic() > deadline:
            raise DPTimeout()

    # --- dual search over a geometric grid, refined twice -----------------------------
    lam0 = _lam_scale(comp, cap_rel)
    grid = lam0 * np.exp2(np.linspace(-12, 12, 25))
    best_dual = math.inf
    lam_star = grid[-1]
    inc_w, inc_v = ctx["w"], ctx["v"]
    for it in range(3):
        if it:
            check_time()  # the first round (a heuristic solution) always runs
        V, MN = comp.backward(grid)
        if it == 0 and MN[0][0] > cap_rel:
            return BoxResult(None, -math.inf, None, -math.inf, feasible=False)
        duals = V[0][:, 0] + grid * cap_rel + comp.score_const
        i = int(np.argmin(duals))
        if duals[i] < best_dual:
            best_dual, lam_star = float(duals[i]), float(grid[i])
        # primal candidates: the feasible Lagrangian solution of the smallest multiplier,
        # raised greedily until the budget is used
        for li in range(len(grid)):
            w = comp.argmax(V, li, grid[li])
            if macs_of(terms, w) <= cap and ok(w):
                w, _ = _greedy_fill(prefix, terms, w, comp.hi, cap, ok)
                v = value(w)
                if v > inc_v:
                    inc_w, inc_v = w, v
                    ctx["w"], ctx["v"] = w, v
                break
        ctx["bound"] = min(ctx["bound"], best_dual)
        lo_l = grid[max(i - 1, 0)]
        hi_l = grid[min(i + 1, len(grid) - 1)]
        grid = np.geomspace(lo_l, hi_l, 17)
    # --- bound grid around the dual optimum ---------------------------------------------
    spread = lam_star * np.exp(np.linspace(-1.5, 1.5, n_bound_lams - 1))
    lams = np.unique(np.r_[0.0, spread, lam_star])
    check_time()
    V, MN = comp.backward(lams)
    istar = int(np.argmin(np.abs(lams - lam_star)))
    dual = float(np.min(V[0][:, 0] + lams * cap_rel)) + comp.score_const
    best_dual = min(best_dual, dual)

    target = inc_v if threshold is None else max(inc_v, threshold)
    stats = {"dual_bound": best_dual, "heuristic": inc_v, "lambda": lam_star, "states": []}
    if best_dual <= target + tol:
        # the dual bound already proves that nothing in the box beats the target
        stats["seconds"] = time.monotonic() - t0
        return _no_better(inc_w, inc_v, terms, threshold, best_dual, stats)
    # --- forward DP: first a beam (a better incumbent, cheap), then the exact pass --------
    sc = comp.score_const
    if beam:
        check_time()
        bs, bw, bstats = _forward(comp, V, MN, lams, istar, cap_rel, target - sc - tol,
                                  check_time, beam=beam)
        stats["beam_states"] = bstats
        if bw is not None:
            w = lo.copy()
            for g, x in bw.items():
                w[g] = x
            v = value(w)
            if v > inc_v and macs_of(terms, w) <= cap:
                inc_w, inc_v = w, v
                ctx["w"], ctx["v"] = w, v
                stats["beam"] = v
                target = max(target, v)
    floor = target - sc - tol  # states need bound >= floor (score of free groups only)
    bs, bw, stats["states"] = _forward(comp, V, MN, lams, istar, cap_rel, floor, check_time)
    stats["seconds"] = time.monotonic() - t0
    if bw is None or bs + sc <= inc_v:
        return _no_better(inc_w, inc_v, terms, threshold, best_dual, stats)
    w = lo.copy()
    for g, x in bw.items():
        w[g] = x
    v = value(w)
    return BoxResult(w, v, macs_of(terms, w), v,
                     beats_threshold=threshold is None or v > threshold, stats=stats)


def _forward(comp: Compiled, V, MN, lams, istar, cap_rel, floor, check_time, beam=None):
    """Forward DP keeping states whose bound is >= floor; (best score, {group: width}, stats).

    With ``beam``, at most that many states (highest bound first) survive each step: a
    heuristic. Without it the pass is exact: every state on the way to a solution scoring
    >= floor survives (or a state that dominates it).
    """
    floor = max(floor, -1e300)  # finite, so forbidden (-inf) widths never pass
    lam = lams[istar]
    Ws = np.zeros((1, 0), dtype=np.int64)
    keys = np.zeros(1, dtype=np.int64)
    m = np.zeros(1)
    s = np.zeros(1)
    back = []
    stats = []
    for k, st in enumerate(comp.steps):
        check_time()
        Vn = V[k + 1]
        VnT = np.ascontiguousarray(Vn.T)
        MNn = MN[k + 1]
        # Per previous key K and width v, the single-multiplier bound of a state (s, m) is
        # s - lam*m + lam*cap + g_K(v). Sorting g_K lets us list only the widths that pass.
        uk, first_idx, inv = np.unique(keys, return_index=True, return_inverse=True)
        inc_r, key_r = comp._inc_and_key(st, Ws[first_idx])
        g = st.score[None, :] + Vn[istar][key_r] - lam * inc_r
        allowed = comp._allowed(st, Ws[first_idx])
        if allowed is not None:
            g = np.where(allowed, g, -np.inf)
        order = np.argsort(-g, axis=1, kind="stable")
        neg_sorted = -np.take_along_axis(g, order, axis=1)  # ascending
        need = floor - (s - lam * m + lam * cap_rel)  # g_K(v) >= need
        counts = np.empty(len(s), dtype=np.int64)
        # states come sorted by key (previous Pareto step), so each key is one slice
        bounds = np.r_[np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]), len(keys)]
        if len(bounds) - 1 == len(uk):
            for u in range(len(uk)):
                a, b = bounds[u], bounds[u + 1]
                counts[a:b] = np.searchsorted(neg_sorted[inv[a]], -need[a:b], side="right")
        else:  # not sorted (cannot happen after a Pareto step); fall back per state
            for i in range(len(s)):
                counts[i] = np.searchsorted(neg_sorted[inv[i]], -need[i], side="right")
        total = int(counts.sum())
        parts = []
        # expand in chunks of states so that at most _CHUNK candidates exist at once
        cum = np.cumsum(counts)
        a = 0
        while a < len(s):
            b = int(np.searchsorted(cum, (cum[a - 1] if a else 0) + _CHUNK, side="right"))
            b = max(b, a + 1)
            cnt = counts[a:b]
            tot = int(cnt.sum())
            if tot:
                rep = np.repeat(np.arange(a, b), cnt)
                starts = np.repeat(np.cumsum(cnt) - cnt, cnt)
                pos = np.arange(tot) - starts
                ki = inv[rep]
                vi = order[ki, pos]
                mc = m[rep] + inc_r[ki, vi]
                key = key_r[ki, vi]
                scand = s[rep] + st.score[vi]
                good = mc + MNn[key] <= cap_rel
                rep, vi, mc, key, scand = rep[good], vi[good], mc[good], key[good], scand[good]
                bnd = scand + np.min(VnT[key] + (cap_rel - mc)[:, None] * lams[None, :], axis=1)
                keep = bnd >= floor
                parts.append((rep[keep], vi[keep], mc[keep], scand[keep], key[keep], bnd[keep]))
            a = b
        if not parts or sum(len(p[0]) for p in parts) == 0:
            stats.append((total, 0))
            return None, None, stats
        par, vi, mc, scand, key, bnd = (np.concatenate([p[i] for p in parts]) for i in range(6))
        # Pareto frontier per key: sort by key, MACs ascending, score descending; keep a
        # state only if its score beats every state of the same key with <= MACs.
        o = np.lexsort((-scand, mc, key))
        par, vi, mc, scand, key, bnd = par[o], vi[o], mc[o], scand[o], key[o], bnd[o]
        _, rank = np.unique(scand, return_inverse=True)
        seg = np.cumsum(np.r_[True, key[1:] != key[:-1]]) - 1
        big = seg.astype(np.int64) * (len(rank) + 1) + rank.astype(np.int64)
        run = np.maximum.accumulate(big)
        keep = big > np.r_[-1, run[:-1]]
        if beam and keep.sum() > beam:
            idx = np.flatnonzero(keep)
            top = idx[np.argsort(-bnd[idx], kind="stable")[:beam]]
            keep = np.zeros_like(keep)
            keep[top] = True
        par, vi, mc, scand, key = par[keep], vi[keep], mc[keep], scand[keep], key[keep]
        newW = np.empty((len(par), len(st.src)), dtype=np.int64)
        for t, sj in enumerate(st.src):
            newW[:, t] = st.vals[vi] if sj < 0 else Ws[par, sj]
        back.append((par, st.vals[vi]))
        Ws, m, s, keys = newW, mc, scand, key
        stats.append((total, len(par)))
    j = int(np.argmax(s))
    best = float(s[j])
    w = {}
    for k in range(len(comp.steps) - 1, -1, -1):
        par, vv = back[k]
        w[comp.steps[k].g] = int(vv[j])
        j = par[j]
    return best, w, stats


def _no_better(inc_w, inc_v, terms, threshold, bound, stats):
    """Nothing beats the incumbent (or the threshold): the incumbent is the box optimum."""
    if threshold is not None and inc_v <= threshold:
        return BoxResult(None, None, None, threshold, beats_threshold=False, stats=stats)
    return BoxResult(inc_w, inc_v, macs_of(terms, inc_w), inc_v, stats=stats)
