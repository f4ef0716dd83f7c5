"""Union-find over integer ids (tensor or group ids): the one used by every analysis that merges
things that must share a channel count or a quantization (``reds.tflite.groups``,
``reds.model.groups``, and the tied quantization of ``reds.tflite.requant``).

The root of a set is always its smallest id, so sets come out in a stable order. Each root may
carry notes (e.g. why a channel group cannot be sliced); a union merges them.
"""
from __future__ import annotations

from typing import Iterable


class UnionFind:
    def __init__(self, ids: Iterable[int] = ()):
        self.parent: dict[int, int] = {}
        self.notes: dict[int, list[str]] = {}  # root -> notes of every member
        for x in ids:
            self.add(x)

    def __contains__(self, x: int) -> bool:
        return x in self.parent

    def add(self, x: int) -> None:
        self.parent.setdefault(x, x)

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.notes.setdefault(ra, []).extend(self.notes.pop(rb, []))

    def note(self, x: int, text: str) -> None:
        self.notes.setdefault(self.find(x), []).append(text)

    def sets(self, ids: Iterable[int]) -> list[list[int]]:
        """``ids`` grouped by set, each sorted, sets ordered by their smallest id."""
        out: dict[int, list[int]] = {}
        for x in sorted(ids):
            out.setdefault(self.find(x), []).append(x)
        return list(out.values())
