"""Arena bytes of a subnet: the rule of docs/arena.md (version 1), shared with the C runtime.

1. Planned tensors: non-constant tensors of subgraph 0 used by an operator, or subgraph inputs
   and outputs. 2. Size: elements (a member's axis at its active size ``P * width``) times the
   element size, rounded up to 16. 3. Lifetime ``[first, last]`` operator index; subgraph inputs
   start at 0, outputs live to the last operator; overlapping lifetimes conflict.
4. Order: size descending, first ascending, tensor index ascending. 5. Greedy first fit: the
   lowest candidate offset (0 or the end of a placed conflicting tensor) that overlaps no placed
   conflicting tensor. 7. Arena bytes = max(offset + size).

``ArenaModel`` precomputes everything width-independent once, so ``.bytes(widths)`` is cheap
enough for a planner to call thousands of times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from reds.errors import PlanError
from reds.tflite.groups import Groups, check_widths, member_map, as_groups
from reds.tflite.flatbuffer import ModelLike, element_size, load_model

ALIGN = 16


def _round16(n: int) -> int:
    return (n + ALIGN - 1) & ~(ALIGN - 1)


@dataclass(frozen=True)
class ArenaPlan:
    total: int  # arena bytes
    offsets: dict[int, int]  # tensor index -> byte offset
    sizes: dict[int, int]  # tensor index -> bytes (rounded to 16)
    lifetimes: dict[int, tuple[int, int]]  # tensor index -> (first, last) operator


class ArenaModel:
    """The width-independent part of the arena rule for one model and its groups."""

    def __init__(self, model: ModelLike, groups_or_metadata=None):
        m = load_model(model)
        self.groups: Groups = as_groups(groups_or_metadata) if groups_or_metadata is not None else Groups(())
        members = member_map(m, self.groups)
        n_ops = len(m.operators)
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for op in m.operators:
            for t in op.inputs + op.outputs:
                if t < 0 or m.tensors[t].is_constant:
                    continue
                first.setdefault(t, op.index)
                last[t] = op.index
        for t in m.inputs:
            if not m.tensors[t].is_constant:
                first[t] = 0
                last.setdefault(t, 0)
        for t in m.outputs:
            if not m.tensors[t].is_constant:
                first.setdefault(t, max(n_ops - 1, 0))
                last[t] = max(n_ops - 1, 0)
        self.tensors: list[int] = sorted(first)
        self.first = [first[t] for t in self.tensors]
        self.last = [last[t] for t in self.tensors]
        # size = round16(base * (P * w[group])) for members, round16(base) otherwise
        self._base: list[int] = []
        self._group: list[int] = []  # -1 for a fixed tensor
        for t in self.tensors:
            tensor = m.tensors[t]
            es = element_size(tensor.dtype)
            if t in members:
                g, axis, p = members[t]
                rest = 1
                for i, d in enumerate(tensor.shape):
                    if i != axis:
                        rest *= d
                self._base.append(es * rest * p)
                self._group.append(g)
            else:
                self._base.append(es * tensor.num_elements)
                self._group.append(-1)
        n = len(self.tensors)
        self._conflicts: list[list[int]] = [
            [
                j
                for j in range(n)
                if j != i and self.first[i] <= self.last[j] and self.first[j] <= self.last[i]
            ]
            for i in range(n)
        ]
        self._full = tuple(self.groups.full_widths)

    def sizes(self, widths: Sequence[int] | None = None) -> list[int]:
        """Rounded byte size of every planned tensor (order of ``self.tensors``)."""
        w = self._full if widths is None else widths
        return [
            _round16(b * (w[g] if g >= 0 else 1)) for b, g in zip(self._base, self._group)
        ]

    def _place(self, widths) -> tuple[list[int], list[int], int]:
        if widths is None:
            widths = self._full
        elif len(widths) != len(self._full):
            raise PlanError(f"{len(widths)} widths given for {len(self._full)} groups")
        sizes = self.sizes(widths)
        first = self.first
        order = sorted(range(len(sizes)), key=lambda i: (-sizes[i], first[i], i))
        offsets: list[int] = [-1] * len(sizes)
        conflicts = self._conflicts
        total = 0
        for i in order:
            size = sizes[i]
            placed = [(offsets[j], offsets[j] + sizes[j]) for j in conflicts[i] if offsets[j] >= 0]
            best = 0
            if placed:
                for cand in sorted({0, *(e for _, e in placed)}):
                    end = cand + size
                    for o, e in placed:
                        if cand < e and o < end:
                            break
                    else:
                        best = cand
                        break
            offsets[i] = best
            if best + size > total:
                total = best + size
        return offsets, sizes, total

    def bytes(self, widths: Sequence[int] | None = None) -> int:
        """Arena bytes for ``widths`` (one per group; None = full widths)."""
        return self._place(widths)[2]

    def plan(self, widths: Sequence[int] | None = None) -> ArenaPlan:
        offsets, sizes, total = self._place(widths)
        ts = self.tensors
        return ArenaPlan(
            total,
            {t: offsets[i] for i, t in enumerate(ts)},
            {t: sizes[i] for i, t in enumerate(ts)},
            {t: (self.first[i], self.last[i]) for i, t in enumerate(ts)},
        )


def arena_bytes(model: ModelLike, groups_or_metadata=None, widths: Sequence[int] | None = None) -> int:
    """Arena bytes (docs/arena.md) of the subnet with ``widths`` (None = full model)."""
    am = ArenaModel(model, groups_or_metadata)
    if widths is not None:
        check_widths(am.groups, widths)
    return am.bytes(widths)


def plan_offsets(model: ModelLike, groups_or_metadata=None, widths: Sequence[int] | None = None) -> ArenaPlan:
    """Offsets, sizes and lifetimes of every planned tensor, and the arena bytes."""
    am = ArenaModel(model, groups_or_metadata)
    if widths is not None:
        check_widths(am.groups, widths)
    return am.plan(widths)
