"""Benchmark: exact nested width plan of DS-CNN-L for 75/50/25 % MACs, with and without a
peak-memory budget.

    .venv/bin/python docs/benchmarks/bench_planner.py [--seed 0] [--scores magnitude]
        [--peak-memory 65536] [--time-limit 60] [--json docs/benchmarks/planner.json]

The problem is built analytically (no TensorFlow): DS-CNN-L from "Hello Edge" (input 49x10x1,
conv 276 ch 10x4 stride 2 SAME -> 25x5, five [depthwise 3x3 + pointwise 276] blocks at 25x5,
global average pool, FC to 12 classes). Channel groups: the first conv's output and each
pointwise output (6 groups of 276); the depthwise convs share their input's group; the 12
logits are fixed. Scores mimic an untrained network (the hardest, near-uniform case): per unit
the L1 norm of Glorot-normal incoming weights, normalised to mean 1 per group. The arena
function is a faithful implementation of docs/arena.md over the chain's tensor list.
Results are recorded in docs/benchmarks/planner.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

from reds.plan.planner import GroupSpec, PlanProblem, full_macs, plan_to_json, solve, uniform_widths

H, W = 25, 5  # feature map after the stride-2 first conv
FULL = 276
N_BLOCKS = 5
CLASSES = 12
GROUPS = ["conv1"] + [f"pw{i}" for i in range(1, N_BLOCKS + 1)] + ["logits"]


def dscnn_mac_terms():
    """MACs of DS-CNN-L as (coef, group, group) terms."""
    hw = H * W
    terms = [(hw * 10 * 4 * 1, "conv1", None)]  # 10x4 conv on 1 input channel
    prev = "conv1"
    for i in range(1, N_BLOCKS + 1):
        terms.append((hw * 3 * 3, prev, None))  # depthwise 3x3 on prev's channels
        terms.append((hw, prev, f"pw{i}"))  # pointwise prev -> pw_i
        prev = f"pw{i}"
    terms.append((1, prev, "logits"))  # FC: w5 x 12 (logits fixed at 12)
    return terms


def dscnn_scores(seed: int, kind: str = "magnitude"):
    """Per-group unit scores of an untrained DS-CNN-L."""
    rng = np.random.default_rng(seed)
    out = {}
    fans = [(10 * 4 * 1, 10 * 4 * FULL)] + [(FULL, FULL)] * N_BLOCKS  # Glorot fan_in, fan_out
    for name, (fan_in, fan_out) in zip(GROUPS[:-1], fans):
        std = np.sqrt(2.0 / (fan_in + fan_out))
        s = np.abs(rng.normal(0.0, std, (FULL, fan_in))).sum(axis=1)
        if kind == "magnitude":
            s = s / s.mean()  # comparable across groups: near-uniform, the hardest case
        elif kind == "skewed":  # trained-like Taylor scores: heavy tailed
            s = rng.exponential(1.0, FULL) ** 2
        elif kind != "raw-magnitude":
            raise SystemExit(f"unknown --scores {kind!r}")
        out[name] = s
    return out


# --- docs/arena.md, version 1, over the chain's tensor list -----------------------------


def dscnn_tensors(w: dict):
    """(bytes, first op, last op) of every planned tensor (int8) of DS-CNN-L.

    Ops: 0 conv1, 1 dw1, 2 pw1, ..., 2i-1 dw_i, 2i pw_i, ..., 11 mean (GAP), 12 FC.
    """
    hw = H * W
    t = [(49 * 10 * 1, 0, 0)]  # subgraph input, read by op 0
    t.append((hw * w["conv1"], 0, 1))  # conv1 out -> dw1
    prev = "conv1"
    op = 1
    for i in range(1, N_BLOCKS + 1):
        t.append((hw * w[prev], op, op + 1))  # dw_i out -> pw_i
        t.append((hw * w[f"pw{i}"], op + 1, op + 2))  # pw_i out -> next dw (or mean)
        prev = f"pw{i}"
        op += 2
    t.append((w[prev], op, op + 1))  # mean out (1x1xC) -> FC
    t.append((CLASSES, op + 1, op + 1))  # logits: subgraph output, lives to the last op
    return t


def arena_bytes(tensors) -> int:
    """Greedy first-fit arena (docs/arena.md rules 2-7)."""
    size = [-(-b // 16) * 16 for b, _, _ in tensors]
    order = sorted(range(len(tensors)), key=lambda i: (-size[i], tensors[i][1], i))
    placed = []  # (offset, size, first, last)
    end = 0
    for i in order:
        _, f, l = tensors[i]
        conf = [(o, s) for o, s, pf, pl in placed if f <= pl and pf <= l]
        for c in sorted({0, *(o + s for o, s in conf)}):
            if all(c + size[i] <= o or o + s <= c for o, s in conf):
                break
        placed.append((c, size[i], f, l))
        end = max(end, c + size[i])
    return end


def dscnn_arena(widths: dict) -> int:
    return arena_bytes(dscnn_tensors(widths))


def dscnn_problem(seed: int = 0, kind: str = "magnitude") -> PlanProblem:
    scores = dscnn_scores(seed, kind)
    groups = [GroupSpec(n, FULL, scores=scores[n]) for n in GROUPS[:-1]]
    groups.append(GroupSpec("logits", CLASSES, fixed=True))
    return PlanProblem(groups, dscnn_mac_terms(), arena_fn=dscnn_arena, arena_monotone=True)


def monotonicity_probe(problem, n=2000, seed=1):
    """Random single-unit increments: does arena_fn ever decrease? (evidence, not proof)"""
    rng = np.random.default_rng(seed)
    names = [g.name for g in problem.groups if not g.fixed]
    bad = 0
    for _ in range(n):
        w = {g.name: int(rng.integers(1, g.full_width + 1)) if not g.fixed else g.full_width
             for g in problem.groups}
        g = names[int(rng.integers(len(names)))]
        if w[g] == FULL:
            continue
        a = problem.arena_fn(w)
        w[g] += 1
        bad += problem.arena_fn(w) < a
    return bad


def run(args):
    problem = dscnn_problem(args.seed, args.scores)
    full = full_macs(problem)
    full_arena = dscnn_arena({g.name: g.full_width for g in problem.groups})
    budgets = [0.75, 0.5, 0.25]
    print(f"DS-CNN-L: {full} MACs, arena {full_arena} B at full width; scores={args.scores} "
          f"seed={args.seed}; {os.cpu_count()} cores, {platform.processor() or platform.machine()}")
    decreases = monotonicity_probe(problem)
    print(f"arena monotonicity probe: {decreases} decreases in 2000 random +1 steps")

    runs = []
    total = 0.0
    for label, mem in (("macs", None), (f"macs+arena<={args.peak_memory}", args.peak_memory)):
        t0 = time.perf_counter()
        plan = solve(problem, budgets, peak_memory=mem, time_limit=args.time_limit)
        dt = time.perf_counter() - t0
        total += dt
        t1 = time.perf_counter()
        free = solve(problem, budgets, peak_memory=mem, time_limit=args.time_limit, nested=False)
        dt_free = time.perf_counter() - t1
        doc = plan_to_json(plan, "ds_cnn_l", budgets, dt)
        doc["constraint"] = label
        for s, f, st in zip(doc["subnets"], free.subnets, plan.stats):
            s["unnested_objective"] = f.objective
            s["unnested_status"] = f.status
            s["boxes"] = st.get("boxes")
            u = uniform_widths(problem, s["budget"])
            s["uniform"] = {"multiplier": u.multiplier, "objective": u.objective,
                            "macs_fraction": round(u.macs_fraction, 6),
                            "arena_bytes": u.arena_bytes}
        doc["unnested_solve_seconds"] = round(dt_free, 3)
        runs.append(doc)
        print(f"\n{label}: nested solve {dt:.2f} s (independent solves {dt_free:.2f} s)")
        hdr = (f"{'budget':>6} {'status':>8} {'s':>5} {'boxes':>5} {'objective':>10} "
               f"{'gap':>4} {'MACs %':>7} {'arena B':>8} {'unnested':>10} {'uniform':>10}  widths")
        print(hdr)
        for s in doc["subnets"]:
            ws = " ".join(str(v) for k, v in s["widths"].items() if k != "logits")
            print(f"{s['budget']:>6.2f} {s['status']:>8} {s['seconds']:>5.2f} {s['boxes']:>5} "
                  f"{s['objective']:>10.4f} {s['gap']:>4.0%} {100 * s['macs_fraction']:>7.3f} "
                  f"{s['arena_bytes']:>8} {s['unnested_objective']:>10.4f} "
                  f"{s['uniform']['objective']:>10.4f}  {ws}")
    print(f"\ntotal nested solve time: {total:.2f} s")
    out = {
        "benchmark": "planner",
        "model": "ds_cnn_l",
        "full_macs": full,
        "full_arena_bytes": full_arena,
        "scores": args.scores,
        "seed": args.seed,
        "peak_memory": args.peak_memory,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "arena_monotonicity_decreases": decreases,
        "total_solve_seconds": round(total, 3),
        "runs": runs,
    }
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.json}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scores", default="magnitude",
                    choices=["magnitude", "raw-magnitude", "skewed"])
    ap.add_argument("--peak-memory", type=int, default=64 * 1024,
                    help="arena byte cap of the second run (Default: 65536 = 64 KiB)")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--json", default=str(ROOT / "docs/benchmarks/planner.json"))
    run(ap.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
