"""The arena rule of docs/arena.md, checked against an independent brute-force placement."""

import random

import numpy as np
import pytest

import tflite_models as tm
from reds.tflite import arena, groups as graph, flatbuffer as tflite_io
from reds.tflite.arena import ArenaModel, arena_bytes, plan_offsets
from reds.errors import PlanError

ESIZE = {"INT8": 1, "INT16": 2, "INT32": 4, "FLOAT32": 4}


def brute_force(b: bytes, active_shape=None):
    """The documented rule written plainly: returns {tensor: (offset, size)} and the total.

    ``active_shape(t, shape) -> shape`` gives a tensor's shape under the subnet.
    Offsets are found by trying 0, 16, 32, ... in turn (not via the candidate list).
    """
    m = tflite_io.load_model(b)
    n_ops = len(m.operators)
    life = {}
    for i, op in enumerate(m.operators):
        for t in list(op.inputs) + list(op.outputs):
            if t >= 0 and not m.tensors[t].is_constant:
                f, l = life.get(t, (i, i))
                life[t] = (min(f, i), max(l, i))
    for t in m.inputs:
        life[t] = (0, life.get(t, (0, 0))[1])
    for t in m.outputs:
        life[t] = (life.get(t, (n_ops - 1, 0))[0], n_ops - 1)
    size = {}
    for t in life:
        shape = m.tensors[t].shape
        if active_shape:
            shape = active_shape(t, shape)
        raw = int(np.prod(shape)) * ESIZE[m.tensors[t].dtype]
        size[t] = -(-raw // 16) * 16
    order = sorted(life, key=lambda t: (-size[t], life[t][0], t))
    placed = {}
    for t in order:
        off = 0
        while True:
            clash = [
                u
                for u in placed
                if life[u][0] <= life[t][1]
                and life[t][0] <= life[u][1]
                and off < placed[u] + size[u]
                and placed[u] < off + size[t]
            ]
            if not clash:
                break
            off += 16
        placed[t] = off
    total = max((placed[t] + size[t] for t in placed), default=0)
    return {t: (placed[t], size[t]) for t in placed}, total


def check(b, groups=None, widths=None, active_shape=None):
    plan = plan_offsets(b, groups, widths)
    expected, total = brute_force(b, active_shape)
    assert {t: (plan.offsets[t], plan.sizes[t]) for t in plan.offsets} == expected
    assert plan.total == total == arena_bytes(b, groups, widths)
    return plan


def test_hand_built_chain():
    # t0 (input, 100 B) -> op0 -> t1 (64 B) -> op1 -> t2 (48 B) -> op2 -> t3 (output, 10 B)
    # t4 is a constant (no arena); t5 an unused tensor (not planned).
    b = tm.synthetic_model(
        [([1, 100], "INT8", False), ([1, 16], "INT32", False), ([1, 24], "INT16", False),
         ([1, 10], "INT8", False), ([1, 4], "INT8", True), ([1, 999], "INT8", False)],
        [([0, 4], [1]), ([1], [2]), ([2], [3])],
        inputs=[0], outputs=[3],
    )
    plan = check(b)
    # sizes rounded to 16: 112, 64, 48, 16; order t0, t1, t2, t3
    assert plan.sizes == {0: 112, 1: 64, 2: 48, 3: 16}
    assert plan.lifetimes == {0: (0, 0), 1: (0, 1), 2: (1, 2), 3: (2, 2)}
    # t0 at 0; t1 conflicts with t0 -> 112; t2 conflicts with t1 only -> 0; t3 conflicts with t2 -> 48
    assert plan.offsets == {0: 0, 1: 112, 2: 0, 3: 48}
    assert plan.total == 176


def test_hand_built_gap_is_reused():
    # a long-lived tensor and a gap: first fit must take the lowest hole, not the end
    b = tm.synthetic_model(
        [([64], "INT8", False), ([32], "INT8", False), ([48], "INT8", False),
         ([16], "INT8", False), ([16], "INT8", False)],
        # t0 lives 0..3 (output); t1 0..1; t2 2..3; t3 only op1; t4 only op3
        [([0], [1]), ([1], [3]), ([0], [2]), ([2], [4])],
        inputs=[0], outputs=[0],
    )
    plan = check(b)
    assert plan.offsets[0] == 0
    assert plan.offsets[2] == 64 and plan.offsets[1] == 64
    assert plan.offsets[3] == 96  # above t1, which it conflicts with
    assert plan.offsets[4] == 112  # above t2 (64..112)


def test_empty_model_needs_no_arena():
    b = tm.synthetic_model([([4], "INT8", True)], [], inputs=[], outputs=[])
    assert arena_bytes(b) == 0


@pytest.mark.parametrize("seed", range(25))
def test_random_graphs_match_brute_force(seed):
    rng = random.Random(seed)
    n_ops = rng.randint(1, 9)
    tensors = [([rng.randint(1, 40)], rng.choice(list(ESIZE)), False)]
    ops = []
    for _ in range(n_ops):
        # each op reads 1-2 existing activations (maybe a constant) and writes one new tensor
        ins = rng.sample(range(len(tensors)), k=min(len(tensors), rng.randint(1, 2)))
        ins = [t for t in ins if not tensors[t][2]] or [0]
        if rng.random() < 0.3:
            tensors.append(([rng.randint(1, 20)], "INT8", True))
            ins.append(len(tensors) - 1)
        tensors.append(([rng.randint(0, 60)], rng.choice(list(ESIZE)), False))
        ops.append((ins, [len(tensors) - 1]))
    b = tm.synthetic_model(tensors, ops, inputs=[0], outputs=[len(tensors) - 1])
    check(b)


@pytest.mark.parametrize("builder", [tm.conv_flatten_dense, tm.residual_gap])
def test_real_models_at_several_widths(builder):
    _, b = builder()
    g = graph.derive_groups(b)
    mm = {t: (gi, axis) for gi, grp in enumerate(g) for t, axis in grp.members}
    am = ArenaModel(b, g)
    rng = random.Random(0)
    for _ in range(6):
        widths = [rng.randint(1, w) for w in g.full_widths]

        def active(t, shape, widths=widths):
            if t not in mm:
                return shape
            gi, axis = mm[t]
            p = shape[axis] // g.full_widths[gi]
            return tuple(p * widths[gi] if i == axis else d for i, d in enumerate(shape))

        plan = check(b, g, widths, active)
        assert am.bytes(widths) == plan.total
    assert am.bytes() == am.bytes(g.full_widths) == brute_force(b)[1]
    # smaller subnets never need more arena here (chains of shrinking tensors)
    assert am.bytes([1] * len(g)) <= am.bytes()


def test_metadata_and_groups_agree():
    from reds.tflite import slicing
    from reds.tflite.metadata import read_metadata

    _, b = tm.residual_gap()
    g = graph.derive_groups(b)
    nested = slicing.nest(b, g, [g.full_widths, [4, 6], [2, 3]])
    meta = read_metadata(nested)
    for k, sub in enumerate(meta.subnets):
        assert ArenaModel(nested, meta).bytes(sub.widths) == sub.arena_bytes == ArenaModel(b, g).bytes(sub.widths)
        # the standalone sliced model (no groups) needs exactly the same arena
        assert arena_bytes(slicing.slice_model(nested, k)) == sub.arena_bytes


def test_bad_widths():
    _, b = tm.residual_gap()
    g = graph.derive_groups(b)
    with pytest.raises(PlanError, match="1 widths given for 2 groups"):
        ArenaModel(b, g).bytes([3])
    with pytest.raises(PlanError, match="outside"):
        arena_bytes(b, g, [8, 13])
    assert arena.ALIGN == 16
