"""A per-op latency model of one int8 graph on one target, fitted from per-op profiles.

Each op's cost is a function of the widths of its input group ``a`` and output group ``b``
(docs/metadata.md; a fixed group is a constant)::

    cost_op(w) = c0 + c1 * w[a] + c2 * w[b] + c3 * w[a] * w[b]

(``a == b``, as for DEPTHWISE_CONV_2D, pooling or ADD: ``c0 + c1 * w + c3 * w**2``). The
coefficients are fitted per op by non-negative least squares, so the cost never falls when a
width grows (the planner's nesting relies on that). Summed over ops it is a list of
``(coef, a, b)`` terms, the same form as ``graph.mac_terms``: the exact planner takes it as
its cost unchanged (docs/plan.md, latency budgets).

``latency_model.json`` (docs/bench.md lists the keys) keeps the target, the firmware build
flags, the CRC-32 of the calibrated model, a signature of its graph (op types and the groups
they read and write), the unit (instructions under QEMU's -icount, else timer ticks), each
op's terms and the fit error on widths not used for the fit.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from reds.errors import UserError
from reds.tflite.groups import as_groups, derive_groups, member_map
from reds.tflite.flatbuffer import ModelLike, load_model

FORMAT = "reds-latency-model"
VERSION = 1

Term = tuple[float, "int | None", "int | None"]


class LatencyModelError(UserError):
    """A latency model file that is unreadable, malformed or made for another model/target."""


@dataclass
class OpSlots:
    """Op ``index`` of type ``op`` reads group ``a`` and writes group ``b`` (None: fixed)."""

    index: int
    op: str
    a: int | None
    b: int | None

    def pairs(self) -> list[tuple[int | None, int | None]]:
        """The (a, b) factor pairs of the op's cost terms, without duplicates: 1, w_a, w_b, w_a w_b."""
        out = []
        for p in [(None, None), (self.a, None), (self.b, None), (self.a, self.b)]:
            p = _norm(p)
            if p not in out:
                out.append(p)
        return out


def _norm(p):
    a, b = p
    if a is None:
        a, b = b, None
    if a is not None and b is not None and b < a:
        a, b = b, a
    return (a, b)


def model_groups(model: ModelLike):
    """The groups the board's widths refer to: the REDS metadata's, else derived from the graph."""
    from reds.tflite.metadata import read_metadata

    m = load_model(model)
    meta = read_metadata(m)
    return as_groups(meta) if meta is not None else derive_groups(m)


def op_slots(model: ModelLike, groups=None) -> list[OpSlots]:
    """For every op of subgraph 0: the groups of its first input and of its output."""
    m = load_model(model)
    g = model_groups(m) if groups is None else as_groups(groups)
    mm = member_map(m, g)
    out = []
    for op in m.operators:
        x = op.inputs[0] if op.inputs else -1
        y = op.outputs[0] if op.outputs else -1
        a = mm[x][0] if x in mm else None
        b = mm[y][0] if y in mm else None
        out.append(OpSlots(op.index, op.op, a, b))
    return out


def graph_signature(model: ModelLike, groups=None) -> str:
    """Hash of what the latency model depends on: op types, the groups they read and write and
    the groups' full widths (not the weights: a retrained or permuted model keeps it)."""
    m = load_model(model)
    g = model_groups(m) if groups is None else as_groups(groups)
    desc = {"ops": [[s.op, s.a, s.b] for s in op_slots(m, g)], "full_widths": list(g.full_widths)}
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:16]


def _value(a, b, w) -> float:
    return (1.0 if a is None else float(w[a])) * (1.0 if b is None else float(w[b]))


def fit_op(slots: OpSlots, widths: Sequence[Sequence[int]], costs: Sequence[float]) -> list[Term]:
    """Non-negative least-squares terms of one op from its cost at several width vectors,
    relative error weighted (each sample's row divided by its cost) so small subnets count."""
    from scipy.optimize import nnls

    pairs = slots.pairs()
    X = np.array([[_value(a, b, w) for a, b in pairs] for w in widths], dtype=np.float64)
    y = np.asarray(costs, dtype=np.float64)
    scale = 1.0 / np.maximum(y, 1.0)
    col = np.maximum(np.abs(X).max(axis=0), 1e-12)  # conditioning: columns to unit size
    coef, _ = nnls((X * scale[:, None]) / col, y * scale)
    coef = coef / col
    return [(float(c), a, b) for c, (a, b) in zip(coef, pairs)]


def evaluate(terms: Sequence[Term], widths: Sequence[int]) -> float:
    """``sum coef * w[a] * w[b]`` (None = 1): the cost of one op or of the whole graph."""
    return float(sum(c * _value(a, b, widths) for c, a, b in terms))


@dataclass
class LatencyModel:
    target: str
    unit: str
    model_crc32: int
    signature: str
    full_widths: list[int]
    ops: list[dict]  # {"index", "op", "a", "b", "terms": [[coef, a, b], ...]}
    build: dict = field(default_factory=dict)
    fit_error: dict = field(default_factory=dict)
    samples: dict = field(default_factory=dict)
    width_step: int = 1  # calibrated (and valid) at widths that are multiples of it

    def terms(self) -> list[Term]:
        """All ops' terms summed per (a, b): the planner's cost (``PlanProblem.cost_terms``)."""
        acc: dict = {}
        for op in self.ops:
            for c, a, b in op["terms"]:
                key = _norm((a, b))
                acc[key] = acc.get(key, 0.0) + float(c)
        return [(c, a, b) for (a, b), c in acc.items() if c > 0]

    def predict(self, widths: Sequence[int]) -> float:
        return evaluate(self.terms(), widths)

    def to_json(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION, "target": self.target, "unit": self.unit,
            "model_crc32": f"{self.model_crc32:08x}", "graph_signature": self.signature,
            "full_widths": list(self.full_widths), "width_step": self.width_step, "build": self.build,
            "cost": "c0 + c1*w[a] + c2*w[b] + c3*w[a]*w[b] per op (terms [coef, a, b], None = 1)",
            "ops": self.ops, "fit_error": self.fit_error, "samples": self.samples,
        }

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1) + "\n")
        tmp.replace(path)
        return path

    def check(self, model: ModelLike | None = None, groups=None, target: str | None = None,
              exact_model: bool = False, path: str = "latency model") -> None:
        """Raise LatencyModelError (one line) when this file was made for another target, or
        another graph (``exact_model``: another model file, by CRC-32)."""
        if target is not None and target != self.target:
            raise LatencyModelError(f"{path} was calibrated on target {self.target!r}, not {target!r}; "
                                    f"run reds bench calibrate-latency --target {target}")
        if model is None:
            return
        data = model if isinstance(model, (bytes, bytearray)) else None
        if exact_model and data is not None:
            crc = zlib.crc32(bytes(data)) & 0xFFFFFFFF
            if crc != self.model_crc32:
                raise LatencyModelError(f"{path} was calibrated for model crc32={self.model_crc32:08x}, "
                                        f"this model has crc32={crc:08x}")
        sig = graph_signature(model, groups)
        if sig != self.signature:
            raise LatencyModelError(f"{path} was calibrated for another graph (signature {self.signature}, "
                                    f"this model {sig}: other ops or channel groups)")


def fit(model: bytes, groups, target: str, unit: str, fit_widths, fit_costs, test_widths=(),
        test_costs=(), build: dict | None = None, width_step: int = 1) -> LatencyModel:
    """Fit every op from per-op costs (``fit_costs[s][op]``) at ``fit_widths[s]``; the error is
    measured on the held-back ``test_widths`` (relative error of each subnet's total)."""
    m = load_model(model)
    g = model_groups(m) if groups is None else as_groups(groups)
    slots = op_slots(m, g)
    fc = np.asarray(fit_costs, dtype=np.float64)
    if fc.ndim != 2 or fc.shape != (len(fit_widths), len(slots)):
        raise UserError(f"fit costs have shape {fc.shape}, expected ({len(fit_widths)}, {len(slots)})")
    ops = []
    for i, s in enumerate(slots):
        terms = fit_op(s, fit_widths, fc[:, i])
        ops.append({"index": s.index, "op": s.op, "a": s.a, "b": s.b,
                    "terms": [[round(c, 6), a, b] for c, a, b in terms]})
    lm = LatencyModel(target, unit, zlib.crc32(bytes(model)) & 0xFFFFFFFF, graph_signature(m, g),
                      list(g.full_widths), ops, dict(build or {}), width_step=int(width_step))
    lm.fit_error = {"fit": _errors(lm, fit_widths, fc), "held_back": _errors(lm, test_widths, test_costs)}
    lm.samples = {"fit": [list(map(int, w)) for w in fit_widths],
                  "held_back": [list(map(int, w)) for w in test_widths],
                  "fit_costs": [[round(float(x), 1) for x in c] for c in fc],
                  "held_back_costs": [[round(float(x), 1) for x in c] for c in test_costs]}
    return lm


def _errors(lm: LatencyModel, widths, costs) -> dict:
    """Relative error of each subnet's predicted total: per subnet, max and mean."""
    rel = []
    for w, c in zip(widths, costs):
        measured = float(np.sum(c))
        rel.append(abs(lm.predict(w) - measured) / measured if measured else 0.0)
    return {"per_subnet": [round(r, 5) for r in rel], "max": round(max(rel), 5) if rel else None,
            "mean": round(float(np.mean(rel)), 5) if rel else None}


def load(path: str | Path) -> LatencyModel:
    """Read ``latency_model.json``; a missing, unreadable or malformed file is one line."""
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except FileNotFoundError:
        raise LatencyModelError(f"latency model {path} not found "
                                "(reds bench calibrate-latency writes one)") from None
    except (OSError, ValueError) as e:
        raise LatencyModelError(f"latency model {path} is not readable JSON: {e}") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise LatencyModelError(f"{path} is not a latency model (no \"format\": \"{FORMAT}\")")
    if d.get("version") != VERSION:
        raise LatencyModelError(f"{path}: latency model version {d.get('version')}, this toolkit reads {VERSION}")
    try:
        ops = d["ops"]
        for op in ops:
            for c, a, b in op["terms"]:
                if not (float(c) >= 0) or not all(x is None or isinstance(x, int) for x in (a, b)):
                    raise ValueError(f"op {op.get('index')}: bad term {[c, a, b]}")
        return LatencyModel(str(d["target"]), str(d["unit"]), int(str(d["model_crc32"]), 16),
                            str(d["graph_signature"]), [int(x) for x in d["full_widths"]], ops,
                            d.get("build", {}), d.get("fit_error", {}), d.get("samples", {}),
                            int(d.get("width_step", 1)))
    except (KeyError, TypeError, ValueError) as e:
        raise LatencyModelError(f"{path}: malformed latency model ({type(e).__name__}: {e})") from None


def group_steps(full_widths: Sequence[int], step: int) -> list[int]:
    """The width step of each group: ``step`` where it divides the full width, else 1."""
    return [step if f % step == 0 else 1 for f in full_widths]


def calibration_widths(full_widths: Sequence[int], n: int, seed: int = 0,
                       min_widths: Sequence[int] | None = None, chain: int = 6,
                       ends: bool = True, step: int = 1) -> list[list[list[int]]]:
    """``n`` width vectors for calibration, as nested chains of at most ``chain`` vectors (one
    model upload each: REDS metadata needs nested subnets). In each chain every group's widths
    are its own sorted random draws in [min, full], so across chains an op's input and output
    widths vary apart. ``ends``: the first chain starts at full and ends at minimum widths.
    ``step``: widths are multiples of it (``group_steps``), in units of which they are drawn."""
    rng = np.random.default_rng(seed)
    st = np.asarray(group_steps(full_widths, step), dtype=np.int64)
    full = np.asarray(full_widths, dtype=np.int64) // st
    lo = np.ones_like(full) if min_widths is None else -(-np.asarray(min_widths, dtype=np.int64) // st)
    chains, left = [], n
    while left > 0:
        k = min(chain, left)
        draws = np.stack([np.sort(rng.integers(l, f + 1, size=k))[::-1] for l, f in zip(lo, full)], axis=1)
        if ends and not chains:
            draws[0], draws[-1] = full, lo
        chains.append([[int(x) * int(s) for x, s in zip(row, st)] for row in draws])
        left -= k
    return chains


__all__ = ["model_groups", "LatencyModel", "LatencyModelError", "OpSlots", "op_slots", "graph_signature", "fit_op",
           "fit", "evaluate", "load", "calibration_widths"]
