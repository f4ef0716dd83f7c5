"""The subnetwork scheduler of the runtime (boards/runtime/sched/reds_sched.c), rule for rule in
integers, and a trace-driven simulator of a periodic inference task built on it.

`Scheduler` reproduces every decision of the C module bit for bit (tests/sched compares them),
so `simulate()` predicts what the board does from the bench's per-subnet latencies and the
per-subnet accuracies of ``metrics.json``. See docs/scheduler.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import BenchError

ONE = 1 << 16                   # 1.0 in Q16
MAX_RATIO = 64 << 16            # observed/table ratios are clamped at 64.0
MAX_EWMA_SHIFT = 8
MAX_MARGIN = 4 << 16
I32_LIMIT = 0x3FFFFFFF
U32 = 0xFFFFFFFF
MAX_SUBNETS = 8

FIXED, DEADLINE, ENERGY = 0, 1, 2


class SchedulerError(BenchError):
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
        sh = self.cfg.ewma_shift
        ratio = min(MAX_RATIO, (latency_ticks * self.inv_latency[subnet]) >> 16)
        if ratio > self.slowdown_q16:
            self.slowdown_acc = ratio << sh
        else:
            self.slowdown_acc = self.slowdown_acc - (self.slowdown_acc >> sh) + ratio
        self.slowdown_q16 = self.slowdown_acc >> sh
        self._update_predictions()


def energy_nj(supply_mv: int, active_ua_per_mhz: int, cycles: int) -> int:
    """reds_sched_energy_nj: mV * µA/MHz * cycles / 10^6 nJ, saturated at 2^32 - 1."""
    return min(U32, supply_mv * active_ua_per_mhz * cycles // 1_000_000)
