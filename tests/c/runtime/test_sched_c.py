"""The C scheduler (boards/runtime/sched/reds_sched.c) against the Python model of the same rules
(reds.sched.model.Scheduler): every decision, bucket level, slowdown and prediction must be
equal, over seeded random sequences and edge cases. A few hand-computed cases pin the rules."""
from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from reds.sched.model import (
    DEADLINE, ENERGY, FIXED, MAX_SUBNETS, SchedConfig, Scheduler, SchedulerError, Task, advance,
    energy_nj, oracle_choice, oracle_scores, recent_load_q16)
from paths import DEFAULT_MODEL, RUNTIME
from reds.runtime.sources import WARNINGS, include_flags, portable_sources, scheduler_sources

RT = RUNTIME


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sched") / "sched_driver"
    fw = RT.parent / "firmware"  # the firmware's task model (fw_sched_model.c): pure, no HAL
    srcs = [*scheduler_sources(), fw / "fw_sched_model.c", Path(__file__).parent / "sched_driver.c",
            *portable_sources()]
    cmd = ["gcc", *WARNINGS, "-O1", *include_flags(), f"-I{fw}", *map(str, srcs), "-lm", "-o", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]
    return out


def run_c(driver: Path, lines: list[str]) -> list[str]:
    p = subprocess.run([str(driver)], input="\n".join(lines) + "\n", capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def init_line(cfg: SchedConfig, lat, en) -> str:
    vals = [cfg.policy, cfg.widest, cfg.narrowest, cfg.margin_q16, cfg.ewma_shift, cfg.up_after,
            cfg.timer_hz, cfg.energy_rate_uj_per_s, cfg.energy_capacity_nj, cfg.energy_reserve_nj,
            len(lat)]
    for a, b in zip(lat, en):
        vals += [a, b]
    return "init " + " ".join(map(str, vals))


def model_replay(cfg, lat, en, ops) -> list[str]:
    """What the driver must print for `ops`, computed by the Python model."""
    try:
        m = Scheduler(cfg, lat, en)
    except SchedulerError:
        return ["init -1"]
    out = ["init 0"]
    for op in ops:
        if op[0] == "d":
            k = m.decide(op[1], op[2])
            out.append(f"d {k} {m.bucket_nj} {m.slack_jobs}")
        else:
            if op[0] == "l":
                m.observe_load(op[1])
            else:
                m.observe(op[1], op[2])
            out.append("o " + " ".join(map(str, [m.slowdown_q16, *m.predicted])))
    return out


def op_lines(ops) -> list[str]:
    return [f"l {o[1]}" if o[0] == "l" else f"{o[0]} {o[1]} {o[2]}" for o in ops]


def random_case(rng: random.Random):
    n = rng.randint(1, MAX_SUBNETS)
    base = rng.choice([50, 2000, 400_000, 30_000_000])
    lat = sorted((rng.randint(1, base) for _ in range(n)), reverse=True)
    if rng.random() < 0.2:           # unsorted tables are allowed; rules stay the same
        rng.shuffle(lat)
    en = sorted((rng.randint(0, 200_000) for _ in range(n)), reverse=True)
    widest = rng.randint(0, n - 1)
    cfg = SchedConfig(policy=rng.choice([FIXED, DEADLINE, ENERGY, DEADLINE | ENERGY]),
                      widest=widest, narrowest=rng.randint(widest, n - 1),
                      margin_q16=rng.choice([0, 6554, 13107, 65536, rng.randint(0, 4 << 16)]),
                      ewma_shift=rng.randint(0, 8), up_after=rng.randint(0, 10),
                      timer_hz=rng.choice([1_000_000, 25_000_000, 1_000_000_000]),
                      energy_rate_uj_per_s=rng.randint(0, 50_000),
                      energy_capacity_nj=rng.randint(0, 2_000_000),
                      energy_reserve_nj=rng.randint(0, 300_000))
    now = rng.choice([0, 0xFFFFFFFF - 5 * base, rng.randint(0, 0xFFFFFFFF)])
    ops = []
    for _ in range(rng.randint(1, 120)):
        period = rng.randint(1, 3 * base)
        deadline = (now + rng.randint(-base, 3 * base)) & 0xFFFFFFFF
        ops.append(("d", now, deadline))
        k = rng.randint(0, n)            # n: an out-of-range observation is ignored
        slow = rng.choice([1.0, 1.0, 1.3, 2.5, 0.7, 100.0])
        ops.append(("o", k, min(0xFFFFFFFF, int(lat[min(k, n - 1)] * slow))))
        if rng.random() < 0.3:
            ops.append(("l", rng.choice([0, 6553, 39321, 65535, 65536, 70000,
                                         rng.randint(0, 65536)]), 0))
        now = (now + period) & 0xFFFFFFFF
    return cfg, lat, en, ops


@pytest.mark.parametrize("seed", range(12))
def test_random_sequences_match_model(driver, seed):
    rng = random.Random(seed)
    lines, expected = [], []
    for _ in range(25):
        cfg, lat, en, ops = random_case(rng)
        lines += [init_line(cfg, lat, en), *op_lines(ops)]
        exp = model_replay(cfg, lat, en, ops)
        expected += exp if exp == ["init -1"] else exp
        if exp == ["init -1"]:   # the driver still answers ops on the old state: skip them
            lines = lines[:len(lines) - len(ops)]
    got = run_c(driver, lines)
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"step {i}: C {g!r} != model {e!r}"


@pytest.mark.parametrize("cfg,lat,en", [
    (SchedConfig(narrowest=3), [100, 50], [0, 0]),                # narrowest >= n
    (SchedConfig(widest=2, narrowest=1), [3, 2, 1], [0, 0, 0]),  # widest > narrowest
    (SchedConfig(narrowest=0), [0], [0]),                         # zero latency
    (SchedConfig(narrowest=0, margin_q16=(4 << 16) + 1), [5], [0]),
    (SchedConfig(narrowest=0, ewma_shift=9), [5], [0]),
    (SchedConfig(narrowest=0, policy=4), [5], [0]),
    (SchedConfig(narrowest=0, policy=ENERGY, timer_hz=0), [5], [0]),
    (SchedConfig(narrowest=0, policy=ENERGY, energy_capacity_nj=1 << 30), [5], [0]),
    (SchedConfig(narrowest=0), [5], [1 << 30]),
    (SchedConfig(narrowest=0, policy=ENERGY, timer_hz=1, energy_rate_uj_per_s=70_000), [5], [0]),
])
def test_bad_configs_rejected_by_both(driver, cfg, lat, en):
    assert run_c(driver, [init_line(cfg, lat, en)]) == ["init -1"]
    with pytest.raises(SchedulerError):
        Scheduler(cfg, lat, en)


def test_more_subnets_than_the_table_holds_rejected(driver):
    n = MAX_SUBNETS + 1  # REDS_ERR_CAPACITY (-7): the table's capacity, not a bad argument
    assert run_c(driver, [init_line(SchedConfig(narrowest=0), [9] * n, [0] * n)]) == ["init -7"]
    ok = MAX_SUBNETS
    assert run_c(driver, [init_line(SchedConfig(narrowest=0), [9] * ok, [0] * ok)]) == ["init 0"]


def test_deadline_rule_by_hand(driver):
    # margin 10 %: predictions 1100, 770, 440, 220; 900 ticks left -> subnet 1 (770 fits)
    cfg = SchedConfig(policy=DEADLINE, narrowest=3, margin_q16=6554, ewma_shift=0, up_after=3)
    lines = [init_line(cfg, [1000, 700, 400, 200], [0] * 4),
             "d 0 900", "o 1 1400",       # 2x slower: predictions double
             "d 1000 1900",               # 900 left: 2*1.1*400 = 880 fits -> subnet 2
             "o 2 400",                   # load gone (shift 0: estimate drops at once)
             "d 2000 2900", "d 3000 3900", "d 4000 4900", "d 5000 5900"]
    got = run_c(driver, lines)
    assert got[1].split()[1] == "1"
    assert abs(int(got[2].split()[1]) - 131072) <= 1   # slowdown 2.0 in Q16 (floored)
    assert got[3].split()[1] == "2"
    # subnet 1 allowed again, but only after 3 jobs with slack (hysteresis)
    assert [g.split()[1] for g in got[5:]] == ["2", "2", "1", "1"]
    assert [g.split()[3] for g in got[5:]] == ["1", "2", "0", "0"]


def test_load_probe_by_hand(driver):
    # 60 % interrupt load -> slowdown 1 / 0.4 = 2.5; shift 1: a drop to 0 % halves the excess
    cfg = SchedConfig(policy=DEADLINE, narrowest=1, margin_q16=0, ewma_shift=1)
    got = run_c(driver, [init_line(cfg, [1000, 100], [0, 0]), "l 39322", "l 0", "l 65536"])
    slow, *pred = map(int, got[1].split()[1:])
    assert abs(slow - 163840) <= 3 and pred == [2500, 250]
    assert got[2] == "o 114688 1750 175"
    assert got[3] == f"o {64 << 16} 64000 6400"      # all the CPU taken: clamped at 64


def test_past_deadline_takes_narrowest(driver):
    cfg = SchedConfig(policy=DEADLINE, narrowest=2, up_after=1)
    got = run_c(driver, [init_line(cfg, [30, 20, 10], [0] * 3), "d 500 400", "d 4294967000 100"])
    assert got[1].split()[1] == "2"   # deadline already passed
    assert got[2].split()[1] == "0"   # deadline after the timer wrapped: 396 ticks left


def test_energy_bucket_by_hand(driver):
    # 1000 µJ/s at 1 MHz = 1 nJ per tick; capacity 5000 nJ, reserve 1000 nJ
    cfg = SchedConfig(policy=ENERGY, narrowest=2, up_after=1, timer_hz=1_000_000,
                      energy_rate_uj_per_s=1000, energy_capacity_nj=5000, energy_reserve_nj=1000)
    lines = [init_line(cfg, [10, 5, 2], [3000, 1500, 500]),
             "d 0 0",         # 5000 - 3000 >= 1000 -> subnet 0, bucket 2000
             "d 100 0",       # +100 -> 2100: 0 needs 4000, 1 needs 2500, 2 fits -> bucket 1600
             "d 3100 0"]      # +3000 -> 4600: subnet 0 fits -> 1600
    got = run_c(driver, lines)
    assert got[1:] == ["d 0 2000 0", "d 2 1600 0", "d 0 1600 0"]


def test_fixed_policy_ignores_constraints(driver):
    cfg = SchedConfig(policy=FIXED, widest=1, narrowest=1)
    got = run_c(driver, [init_line(cfg, [9, 8, 7], [0] * 3), "d 0 0", "o 1 800", "d 5 6"])
    assert [got[1].split()[1], got[3].split()[1]] == ["1", "1"]


def test_energy_estimate(driver):
    cases = [(3000, 50, 64_000_000), (3300, 52, 123_457), (1, 1, 999_999), (4_000_000_000,
             4_000_000_000, 1 << 40)]
    got = run_c(driver, [f"e {a} {b} {c}" for a, b, c in cases])
    assert got[0] == "e 9600000"                 # 3 V * 50 µA/MHz * 64 M cycles = 9.6 mJ
    assert got == [f"e {energy_nj(a, b, c)}" for a, b, c in cases]


# ------------------------------------------------------------ the firmware's task model

def trace_line(window: int, loads: list[int]) -> str:
    return f"t {window} " + " ".join(map(str, loads))


@pytest.mark.parametrize("seed", range(6))
def test_task_model_matches_python(driver, seed):
    """fw_sched_advance / fw_sched_recent_load_q16 (the board's timeline) equal
    reds.sched.model.advance / recent_load_q16 over random traces."""
    rng = random.Random(seed)
    lines, expected = [], []
    for _ in range(20):
        window = rng.choice([1, 7, 40, 2500, 1_000_000])
        loads = [rng.choice([0, 0, 10, 45, 90, rng.randint(0, 90)])
                 for _ in range(rng.randint(1, 64))]
        lines.append(trace_line(window, loads))
        expected.append(f"t {len(loads)}")
        for _ in range(30):
            t, work = rng.randint(0, 300 * window), rng.randint(1, 20 * window)
            lines.append(f"a {t} {work}")
            expected.append(f"a {advance(t, work, loads, window)}")
            now = rng.randint(1, 300 * window)
            lines.append(f"r {now}")
            expected.append(f"r {recent_load_q16(now, loads, window)}")
    assert run_c(driver, lines) == expected


def oracle_case(rng: random.Random):
    n = rng.randint(1, MAX_SUBNETS)
    base = rng.choice([50, 2000, 400_000])
    lat = sorted((rng.randint(1, base) for _ in range(n)), reverse=True)
    if rng.random() < 0.2:
        rng.shuffle(lat)
    if rng.random() < 0.3:  # equal latencies: the fallback's tie-break
        lat = [lat[0]] * n
    pool = [0.5, 0.9, 0.981, 0.989, rng.random()]
    acc = [rng.choice(pool) for _ in range(n)]  # ties on purpose
    return lat, acc


@pytest.mark.parametrize("seed", range(8))
def test_oracle_matches_python(driver, seed):
    """fw_sched_oracle with the scores the bench uploads (oracle_scores) takes exactly
    reds.sched.model.oracle_choice's subnet: the most accurate that ends by the deadline, the
    wider on equal accuracy, the fastest (the first of equal ones) when none does."""
    rng = random.Random(seed)
    lines, expected = [], []
    for _ in range(30):
        window = rng.choice([40, 2500, 100_000])
        loads = [rng.randint(0, 90) for _ in range(rng.randint(1, 32))]
        lines.append(trace_line(window, loads))
        expected.append(f"t {len(loads)}")
        lat, acc = oracle_case(rng)
        scores = oracle_scores(acc)
        for _ in range(20):
            release = rng.randint(0, 200 * window)
            start = release + rng.choice([0, 0, rng.randint(0, 2 * max(lat))])
            d = rng.randint(1, 3 * max(lat))
            task = Task(period=d, deadline=d, window=window, jobs=1, hz=1_000_000)
            want = oracle_choice(start, release, task, lat, acc, loads)
            pairs = " ".join(f"{a} {s}" for a, s in zip(lat, scores))
            lines.append(f"O {start} {release + d} {len(lat)} {pairs}")
            expected.append(f"O {want}")
    assert run_c(driver, lines) == expected


def test_oracle_prefers_the_more_accurate_narrower_subnet(driver):
    """The bug of issue #22: subnet 1 (98.9 %) beats subnet 0 (98.1 %) whenever both fit; with
    equal scores the wider one is taken, when none fits the fastest."""
    lat = [1000, 800, 500, 200]
    scores = oracle_scores([0.981, 0.989, 0.989, 0.6])
    assert scores == [2, 4, 3, 1]
    pairs = " ".join(f"{a} {s}" for a, s in zip(lat, scores))
    same = " ".join(f"{a} 0" for a in lat)
    got = run_c(driver, [trace_line(100, [0]),
                         f"O 0 5000 4 {pairs}",    # all fit: the most accurate, 1
                         f"O 0 700 4 {pairs}",     # 0 and 1 do not fit: 2 (as accurate as 1)
                         f"O 0 300 4 {pairs}",     # only 3 fits
                         f"O 0 100 4 {pairs}",     # none fits: the fastest, 3
                         f"O 0 5000 4 {same}"])    # equal scores: the widest that fits
    assert got == ["t 1", "O 1", "O 2", "O 3", "O 3", "O 0"]


def test_next_decides_and_selects_on_a_real_context(driver):
    """reds_sched_next, the documented entry point: the decision of the rules (the Python model's)
    and that subnet made active on a loaded model, for deadlines from generous to impossible."""
    lat, en = [4000, 3000, 2000, 1000], [0, 0, 0, 0]
    cfg = SchedConfig(policy=DEADLINE, widest=0, narrowest=3, margin_q16=0, up_after=0)
    model = Scheduler(cfg, lat, en)
    deadlines = [10_000, 2_500, 1_500, 500, 3_100, 10_000]
    lines = [f"model {DEFAULT_MODEL}", init_line(cfg, lat, en)]
    lines += [f"n 100 {100 + d}" for d in deadlines]
    got = run_c(driver, lines)
    assert got[:2] == ["model 0 4", "init 0"]
    want = [model.decide(100, 100 + d) for d in deadlines]
    assert len(set(want)) > 2  # the deadlines exercise several subnets
    assert got[2:] == [f"n 0 {k} {k}" for k in want]
