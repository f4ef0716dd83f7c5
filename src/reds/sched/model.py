"""The subnetwork scheduler of the runtime (boards/runtime/sched/reds_sched.c), rule for rule in
integers, and a trace-driven simulator of a periodic inference task built on it.

`Scheduler` reproduces every decision of the C module bit for bit (tests/c/runtime/test_sched_c.py compares them),
so `simulate()` predicts what the board does from the bench's per-subnet latencies and the
per-subnet accuracies of ``metrics.json``. See docs/scheduler.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from reds.errors import UserError

ONE = 1 << 16                   # 1.0 in Q16
MAX_RATIO = 64 << 16            # observed/table ratios are clamped at 64.0
MAX_EWMA_SHIFT = 8
MAX_MARGIN = 4 << 16
I32_LIMIT = 0x3FFFFFFF
U32 = 0xFFFFFFFF
MAX_SUBNETS = 16  # REDS_SCHED_MAX_SUBNETS (reds_sched.h)

FIXED, DEADLINE, ENERGY = 0, 1, 2


class SchedulerError(UserError):
    """Bad scheduler parameters or trace; the message names the value."""


@dataclass
class SchedConfig:
    """Mirror of reds_sched_config_t (same fields, same units)."""
    policy: int = DEADLINE
    widest: int = 0
    narrowest: int = MAX_SUBNETS - 1
    margin_q16: int = 6554          # +10 %
    ewma_shift: int = 3
    up_after: int = 4
    timer_hz: int = 1_000_000
    energy_rate_uj_per_s: int = 0
    energy_capacity_nj: int = 0
    energy_reserve_nj: int = 0


def _i32(v: int) -> int:
    v &= U32
    return v - (1 << 32) if v & 0x80000000 else v


def check_config(cfg: SchedConfig, latency: list[int], energy: list[int]) -> None:
    """Raise SchedulerError naming the first value reds_sched_init() would reject."""
    n = len(latency)
    if n == 0 or n > MAX_SUBNETS:
        raise SchedulerError(f"scheduler needs 1..{MAX_SUBNETS} subnets, got {n}")
    if len(energy) != n:
        raise SchedulerError(f"energy table has {len(energy)} entries for {n} subnets")
    if not 0 <= cfg.widest <= cfg.narrowest < n:
        raise SchedulerError(f"need 0 <= widest ({cfg.widest}) <= narrowest ({cfg.narrowest}) "
                             f"< subnets ({n})")
    if not 0 <= cfg.margin_q16 <= MAX_MARGIN:
        raise SchedulerError(f"margin {cfg.margin_q16 / ONE:.3f} outside 0..4")
    if not 0 <= cfg.ewma_shift <= MAX_EWMA_SHIFT:
        raise SchedulerError(f"ewma_shift {cfg.ewma_shift} outside 0..{MAX_EWMA_SHIFT}")
    if cfg.policy & ~(DEADLINE | ENERGY):
        raise SchedulerError(f"unknown policy bits {cfg.policy}")
    for name in ("energy_capacity_nj", "energy_reserve_nj"):
        if not 0 <= getattr(cfg, name) <= I32_LIMIT:
            raise SchedulerError(f"{name} {getattr(cfg, name)} outside 0..{I32_LIMIT}")
    if cfg.policy & ENERGY:
        if cfg.timer_hz <= 0:
            raise SchedulerError("energy policy needs timer_hz > 0")
        if (cfg.energy_rate_uj_per_s * 1000 << 16) // cfg.timer_hz > U32:
            raise SchedulerError(f"energy rate {cfg.energy_rate_uj_per_s} µJ/s is more than "
                                 "65535 nJ per timer tick")
    for k, (lat, e) in enumerate(zip(latency, energy)):
        if not 0 < lat <= U32:
            raise SchedulerError(f"subnet {k}: latency {lat} ticks must be 1..{U32}")
        if not 0 <= e <= I32_LIMIT:
            raise SchedulerError(f"subnet {k}: energy {e} nJ outside 0..{I32_LIMIT}")


@dataclass
class Scheduler:
    """reds_sched_t and its functions; see reds_sched.h for the rules."""
    cfg: SchedConfig
    latency: list[int]
    energy: list[int]
    inv_latency: list[int] = field(init=False)
    predicted: list[int] = field(init=False)

    def __post_init__(self):
        check_config(self.cfg, self.latency, self.energy)
        self.latency, self.energy = list(self.latency), list(self.energy)
        self.n = len(self.latency)
        self.inv_latency = [min(U32, (1 << 32) // lat) for lat in self.latency]
        self.slowdown_q16 = ONE
        self.slowdown_acc = ONE << self.cfg.ewma_shift
        self.current = self.cfg.widest
        self.slack_jobs = 0
        self.bucket_nj = self.cfg.energy_capacity_nj
        self.refill_q16 = ((self.cfg.energy_rate_uj_per_s * 1000 << 16) // self.cfg.timer_hz
                           if self.cfg.policy & ENERGY else 0)
        self.refill_frac = 0
        self.last_now = 0
        self.started = False
        self._update_predictions()

    def _update_predictions(self) -> None:
        factor = (self.slowdown_q16 * (ONE + self.cfg.margin_q16)) >> 16
        self.predicted = [min(U32, (lat * factor) >> 16) for lat in self.latency]

    def decide(self, now: int, deadline: int) -> int:
        cfg = self.cfg
        k, left, budget = cfg.widest, U32, (1 << 31) - 1
        if cfg.policy & DEADLINE:
            left = max(0, _i32(deadline - now))
        if cfg.policy & ENERGY:
            if self.started:
                add = ((now - self.last_now) & U32) * self.refill_q16 + self.refill_frac
                self.refill_frac = add & 0xFFFF
                self.bucket_nj = min(self.bucket_nj + (add >> 16), cfg.energy_capacity_nj)
            self.started = True
            self.last_now = now & U32
            budget = self.bucket_nj - cfg.energy_reserve_nj
        if cfg.policy != FIXED:
            while k < cfg.narrowest and (self.predicted[k] > left or self.energy[k] > budget):
                k += 1
        if k >= self.current:
            self.current, self.slack_jobs = k, 0
        else:
            self.slack_jobs += 1
            if self.slack_jobs >= cfg.up_after:
                self.current, self.slack_jobs = k, 0
        if cfg.policy & ENERGY:
            self.bucket_nj = max(-cfg.energy_capacity_nj, self.bucket_nj - self.energy[self.current])
        return self.current

    def observe(self, subnet: int, latency_ticks: int) -> None:
        if not 0 <= subnet < self.n:
            return
        self._blend(min(MAX_RATIO, (latency_ticks * self.inv_latency[subnet]) >> 16))

    def observe_load(self, load_q16: int) -> None:
        free = 0 if load_q16 >= ONE else ONE - load_q16
        self._blend(MAX_RATIO if free == 0 else min(MAX_RATIO, U32 // free))

    def _blend(self, ratio: int) -> None:
        sh = self.cfg.ewma_shift
        if ratio > self.slowdown_q16:
            self.slowdown_acc = ratio << sh
        else:
            self.slowdown_acc = self.slowdown_acc - (self.slowdown_acc >> sh) + ratio
        self.slowdown_q16 = self.slowdown_acc >> sh
        self._update_predictions()


def energy_nj(supply_mv: int, active_ua_per_mhz: int, cycles: int) -> int:
    """reds_sched_energy_nj: mV * µA/MHz * cycles / 10^6 nJ, saturated at 2^32 - 1."""
    return min(U32, supply_mv * active_ua_per_mhz * cycles // 1_000_000)


# ---------------------------------------------------------------------------- the task model
#
# One timeline in timer ticks, shared by the firmware command `reds-sched` and `simulate()`:
# window i covers [i*W, (i+1)*W); an interrupt takes its first loads[i % len] * W // 100 ticks;
# job j is released at j*P, starts at max(release, end of job j-1), must end by release + D.
# The scheduler decides at the start, then observes end - start.

POLICIES = ("deadline", "energy", "deadline+energy", "always-full", "always-smallest",
            "static-best", "oracle")


def advance(t: int, work: int, loads: list[int], window: int) -> int:
    """Time at which `work` ticks of the task, started at `t`, are done under the trace."""
    while True:
        i = t // window
        start = i * window
        t = max(t, start + loads[i % len(loads)] * window // 100)
        avail = start + window - t
        if work <= avail:
            return t + work
        work -= avail
        t = start + window


def stolen(a: int, b: int, loads: list[int], window: int) -> int:
    """Ticks of [a, b) that the interrupt takes."""
    total, t = 0, a
    while t < b:
        i = t // window
        start = i * window
        busy_end = start + loads[i % len(loads)] * window // 100
        total += max(0, min(b, busy_end) - t)
        t = start + window
    return total


def recent_load_q16(now: int, loads: list[int], window: int) -> int:
    """Interrupt share of the last window before `now` (what an ISR busy counter reports),
    Q16; the board computes the same before every decision."""
    a = max(0, now - window)
    return stolen(a, now, loads, window) * ONE // (now - a)


@dataclass
class Task:
    """A periodic inference task under an interference trace (all times in timer ticks)."""
    period: int
    deadline: int
    window: int
    jobs: int
    hz: int

    def check(self) -> None:
        for name in ("period", "deadline", "window", "jobs", "hz"):
            v = getattr(self, name)
            if not isinstance(v, int) or v <= 0:
                raise SchedulerError(f"{name} must be a positive integer, got {v!r}")
        if self.window * 256 < self.period:
            raise SchedulerError(f"window {self.window} ticks too short: at most 256 windows "
                                 f"per period of {self.period}")
        if self.jobs > 100_000:
            raise SchedulerError(f"jobs {self.jobs} above 100000")
        if self.period * self.jobs >= 1 << 32:
            raise SchedulerError(f"period x jobs = {self.period * self.jobs} ticks does not fit "
                                 "the 32-bit timeline of the board")


@dataclass
class Budget:
    """Energy budget of the energy policies: refill rate, bucket capacity, reserve."""
    rate_uj_per_s: int
    capacity_nj: int
    reserve_nj: int


# Board profiles for energy estimates: supply mV, active µA/MHz, core cycles per timer tick.
# QEMU targets take the nRF52840 figures (3.0 V, 52 µA/MHz running from flash with the DC/DC
# converter) and count one instruction as one cycle, so their energies are illustrative only.
BOARD_PROFILES = {
    "qemu_m4": (3000, 52, 40), "qemu_m7": (3000, 52, 40), "qemu_m33": (3000, 52, 50),
    "nano33ble": (3000, 52, 1), "native": (3000, 52, 1),
}


def energy_table(latency: list[int], target: str) -> list[int]:
    mv, ua, cpt = BOARD_PROFILES.get(target, BOARD_PROFILES["nano33ble"])
    return [energy_nj(mv, ua, t * cpt) for t in latency]


def default_budget(energy: list[int], task: Task, share_percent: int = 70) -> Budget:
    """`share_percent` of the power the full model needs at this period; bucket of 4 full
    inferences; reserve of one smallest inference."""
    rate = energy[0] * share_percent * task.hz // (100 * 1000 * task.period)
    return Budget(rate_uj_per_s=rate, capacity_nj=min(I32_LIMIT, 4 * energy[0]),
                  reserve_nj=energy[-1])


def choose_timing(latency: list[int], loads: list[int]) -> tuple[int, int, int]:
    """(period, deadline, window) in ticks when none is given: D = P halfway between the full
    model's latency at the trace's quietest load and at its heaviest, so the full model meets
    its deadline when the trace is quiet and misses it under the heaviest load; four windows
    per period."""
    quiet = latency[0] * 100 // (100 - min(loads))
    heavy = latency[0] * 100 // (100 - max(loads))
    deadline = (quiet + heavy) // 2
    return deadline, deadline, max(1, deadline // 4)


def _sched_config(policy: str, n: int, margin_q16: int, ewma_shift: int, up_after: int,
                  hz: int, budget: Budget | None, fixed: int = 0) -> SchedConfig:
    bits = {"deadline": DEADLINE, "energy": ENERGY, "deadline+energy": DEADLINE | ENERGY}
    cfg = SchedConfig(policy=bits.get(policy, FIXED), widest=0, narrowest=n - 1,
                      margin_q16=margin_q16, ewma_shift=ewma_shift, up_after=up_after,
                      timer_hz=hz)
    if policy not in bits:
        cfg.widest = cfg.narrowest = fixed
    if cfg.policy & ENERGY:
        if budget is None:
            raise SchedulerError(f"policy {policy} needs an energy budget")
        cfg.energy_rate_uj_per_s = budget.rate_uj_per_s
        cfg.energy_capacity_nj = budget.capacity_nj
        cfg.energy_reserve_nj = budget.reserve_nj
    return cfg


def oracle_choice(t: int, release: int, task: Task, latency: list[int], accuracy: list[float],
                  loads: list[int]) -> int:
    """Knows the trace: the most accurate subnet that ends by the deadline (else the fastest).
    Jobs are independent when D <= P, so this per-job choice is then optimal."""
    fits = [k for k in range(len(latency))
            if advance(t, latency[k], loads, task.window) <= release + task.deadline]
    if not fits:
        return min(range(len(latency)), key=lambda k: latency[k])
    return max(fits, key=lambda k: (accuracy[k], -k))


def oracle_scores(accuracy: list[float]) -> list[int]:
    """Integer accuracy scores for the board's oracle (`reds-sched-acc`): the rank of each subnet
    under oracle_choice's key (accuracy, -k), so the board's integer comparison orders the
    subnets exactly as the float accuracies do here (ties included: the wider subnet wins)."""
    order = sorted(range(len(accuracy)), key=lambda k: (accuracy[k], -k))
    scores = [0] * len(accuracy)
    for rank, k in enumerate(order):
        scores[k] = rank + 1
    return scores


def static_best(latency: list[int], loads: list[int], task: Task) -> int:
    """Widest fixed subnet that meets every deadline under the trace's heaviest load held
    constant (the narrowest when none does)."""
    worst = [max(loads)]
    for k in range(len(latency)):
        if run_jobs("always", latency, [0.0] * len(latency), worst, task, fixed=k)["misses"] == 0:
            return k
    return len(latency) - 1


def run_jobs(policy: str, latency: list[int], accuracy: list[float], loads: list[int],
             task: Task, *, fixed: int = 0, margin_q16: int = 6554, ewma_shift: int = 3,
             up_after: int = 4, budget: Budget | None = None, energy: list[int] | None = None,
             work=None) -> dict:
    """Runs `task.jobs` jobs; `work(k, j)` gives the ticks of job j on subnet k (default: the
    table). Returns the per-job timeline and the totals."""
    n = len(latency)
    work = work or (lambda k, j: latency[k])
    sched = None
    if policy != "oracle":
        cfg = _sched_config(policy, n, margin_q16, ewma_shift, up_after, task.hz, budget, fixed)
        sched = Scheduler(cfg, latency, energy if energy is not None else [0] * n)
    end, rows = 0, []
    for j in range(task.jobs):
        release = j * task.period
        start = max(release, end)
        if sched is not None and start > 0:
            sched.observe_load(recent_load_q16(start, loads, task.window))
        if sched is None:
            k = oracle_choice(start, release, task, latency, accuracy, loads)
        else:
            k = sched.decide(start, release + task.deadline)
        end = advance(start, work(k, j), loads, task.window)
        if sched is not None:
            sched.observe(k, end - start)
        rows.append({"job": j, "subnet": k, "release": release, "start": start,
                     "latency": end - start, "met": end <= release + task.deadline})
    return summarize(rows, accuracy)


def summarize(rows: list[dict], accuracy: list[float]) -> dict:
    subnets = [r["subnet"] for r in rows]
    misses = sum(not r["met"] for r in rows)
    jobs = len(rows)
    return {"rows": rows, "jobs": jobs, "misses": misses,
            "miss_rate": misses / jobs if jobs else None,
            "accuracy": sum(accuracy[k] for k in subnets) / jobs if jobs else None,
            "mean_subnet": sum(subnets) / jobs if jobs else None,
            "switches": sum(a != b for a, b in zip(subnets, subnets[1:]))}


def simulate(latency: list[int], accuracy: list[float], loads: list[int], task: Task, *,
             policies=POLICIES, target: str = "qemu_m4", margin_q16: int = 6554,
             ewma_shift: int = 3, up_after: int = 4, budget: Budget | None = None,
             energy: list[int] | None = None, model: str = "", trace: str = "") -> dict:
    """Every policy on the trace, from per-subnet latencies (ticks) and accuracies; returns the
    sched.json document (measured fields None) plus per-policy job rows under
    "simulated_timelines"."""
    task.check()
    if len(accuracy) != len(latency):
        raise SchedulerError(f"{len(accuracy)} accuracies for {len(latency)} subnets")
    unknown = [p for p in policies if p not in POLICIES]
    if unknown:
        raise SchedulerError(f"unknown policy {unknown[0]!r}: use {', '.join(POLICIES)}")
    energy = energy if energy is not None else energy_table(latency, target)
    budget = budget or default_budget(energy, task)
    best = static_best(latency, loads, task)
    fixed = {"always-full": 0, "always-smallest": len(latency) - 1, "static-best": best}
    doc = {"model": model, "target": target, "trace": trace, "source": "simulation",
           "period_us": task.period * 1_000_000 / task.hz,
           "deadline_us": task.deadline * 1_000_000 / task.hz,
           "period_ticks": task.period, "deadline_ticks": task.deadline,
           "window_ticks": task.window, "hz": task.hz, "static_best_subnet": best,
           "latency_ticks": list(latency), "subnet_accuracy": list(accuracy),
           "energy_nj": energy, "budget": vars(budget), "margin": margin_q16 / ONE,
           "up_after": up_after, "ewma_shift": ewma_shift, "loads": list(loads),
           "policies": [], "simulated_timelines": {}}
    for p in policies:
        r = run_jobs(p, latency, accuracy, loads, task, fixed=fixed.get(p, 0),
                     margin_q16=margin_q16, ewma_shift=ewma_shift, up_after=up_after,
                     budget=budget, energy=energy)
        doc["policies"].append({
            "policy": p, "jobs": r["jobs"], "deadline_misses": r["misses"], "miss_rate": None,
            "accuracy": None, "mean_subnet": r["mean_subnet"], "switches": r["switches"],
            "simulated_miss_rate": r["miss_rate"], "simulated_accuracy": r["accuracy"],
            "decision_instructions": None})
        doc["simulated_timelines"][p] = r["rows"]
    # traces repeat: how many windows the run spans tells whether (and where) it wrapped
    ends = [rows[-1]["start"] + rows[-1]["latency"]
            for rows in doc["simulated_timelines"].values() if rows]
    doc["trace_windows"] = len(loads)
    doc["run_windows"] = -(-max(ends, default=0) // task.window)
    return doc
