"""Standalone sliced subnets: bit-exact at full width, consistent params, masked reference."""

import numpy as np
import pytest

import tflite_models as tm
from reds.tflite import groups as graph, metadata, slicing, flatbuffer as tflite_io
from reds.errors import MetadataError, PlanError
from reds.runtime import golden

BUILDERS = [tm.conv_flatten_dense, tm.residual_gap]


def plans(g):
    full = g.full_widths
    return [full, [max(1, w * 3 // 4) for w in full], [max(1, w // 2) for w in full], [1] * len(full)]


@pytest.fixture(scope="module", params=BUILDERS, ids=lambda f: f.__name__)
def nested(request):
    _, b = request.param()
    g = graph.derive_groups(b)
    return b, g, slicing.nest(b, g, plans(g))


def inputs(b, n=4):
    m = tflite_io.load_model(b)
    shape = m.tensors[m.inputs[0]].shape
    return [tm.random_input(shape, seed) for seed in range(n)]


def test_nest_records_macs_and_arena(nested):
    b, g, out = nested
    meta = metadata.read_metadata(out)
    assert [list(s.widths) for s in meta.subnets] == plans(g)
    assert meta.members == tuple(g.members())
    assert meta.subnets[0].macs == graph.macs(b, g, g.full_widths)
    assert all(a.macs > c.macs for a, c in zip(meta.subnets, meta.subnets[1:]))
    assert all(off % 16 == 0 for _, off, _ in tflite_io.buffer_data_offsets(out))


def test_full_width_slice_is_bit_exact(nested):
    b, _, out = nested
    s0 = slicing.slice_model(out, 0)
    assert metadata.read_metadata(s0) is None
    assert all(off % 16 == 0 for _, off, _ in tflite_io.buffer_data_offsets(s0))
    for x in inputs(b):
        np.testing.assert_array_equal(golden.tflm_run(s0, x), golden.tflm_run(b, x))


def expected_constant(orig, t, op, g, widths):
    """What a sliced constant must hold, computed with explicit loops (not np.take)."""
    m = orig
    T = m.tensors

    def kept(act, n):
        gi = g.group_of(act) if act >= 0 else None
        if gi is None:
            return list(range(n))
        fw, w = g.full_widths[gi], widths[gi]
        return [p * fw + c for p in range(n // fw) for c in range(w)]

    data = T[t].data
    x, y = op.inputs[0], op.outputs[0]
    if t == op.inputs[1]:
        if op.op == "CONV_2D":
            o, i = kept(y, data.shape[0]), kept(x, data.shape[3])
            return data[o][:, :, :, i], (o, 0)
        if op.op == "DEPTHWISE_CONV_2D":
            c = kept(y, data.shape[3])
            return data[:, :, :, c], (c, 3)
        if op.op == "FULLY_CONNECTED":
            o, i = kept(y, data.shape[0]), kept(x, data.shape[1])
            return data[o][:, i], (o, 0)
    o = kept(y, data.shape[0])
    return data[o], (o, 0)


def test_sliced_params_are_consistent(nested):
    b, g, out = nested
    orig = tflite_io.load_model(b)
    meta = metadata.read_metadata(out)
    for k in range(1, meta.num_subnets):
        widths = meta.widths(k)
        s = tflite_io.load_model(slicing.slice_model(out, k))
        assert len(s.tensors) == len(orig.tensors)
        # activations: members cut to P * width on their axis, others untouched
        for t in orig.tensors:
            if t.is_constant:
                continue
            gi = g.group_of(t.index)
            shape = list(t.shape)
            if gi is not None:
                shape[-1] = shape[-1] // g.full_widths[gi] * widths[gi]
            assert s.tensors[t.index].shape == tuple(shape), t.name
            assert s.tensors[t.index].quantization.scale.tolist() == t.quantization.scale.tolist()
        # weights, biases and per-channel quantization
        for op in orig.operators:
            if op.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
                continue
            for t in op.inputs[1:3]:
                if t < 0:
                    continue
                data, (idx, axis) = expected_constant(orig, t, op, g, widths)
                st = s.tensors[t]
                np.testing.assert_array_equal(st.data, data, err_msg=orig.tensors[t].name)
                q, sq = orig.tensors[t].quantization, st.quantization
                assert sq.axis == q.axis
                if q.per_channel:
                    np.testing.assert_array_equal(sq.scale, q.scale[idx])
                    np.testing.assert_array_equal(sq.zero_point, q.zero_point[idx])
        # RESHAPE: options and the constant shape tensor follow the output shape
        for op in orig.operators:
            if op.op == "RESHAPE":
                out_shape = list(s.tensors[op.outputs[0]].shape)
                assert list(s.tensors[op.inputs[1]].data) == out_shape
                assert s.operators[op.index].options.get("new_shape") in (None, out_shape)


def masked_reference(b: bytes, g, widths) -> bytes:
    """The full model with zero weights on every inactive input channel of CONV_2D / FC.

    Only CONV_2D and FULLY_CONNECTED mix channels, so inactive channels then never reach an
    active one: in int8 a zero weight adds exactly nothing to the accumulator, and active
    channels keep their bias and per-channel requantization. The logits are fixed (full
    width), so the masked full model must equal the sliced subnet bit for bit.
    """
    m = tflite_io.load_model(b)
    mt = tflite_io.unpack(b)
    for op in m.operators:
        if op.op not in ("CONV_2D", "FULLY_CONNECTED"):
            continue
        gi = g.group_of(op.inputs[0])
        if gi is None:
            continue
        fw, w = g.full_widths[gi], widths[gi]
        wt = m.tensors[op.inputs[1]]
        data = wt.data.copy()
        for col in range(data.shape[-1]):
            if col % fw >= w:
                data[..., col] = 0
        mt.buffers[wt.buffer].data = tflite_io.tensor_bytes(data)
    return tflite_io.pack(mt)


def test_sliced_equals_masked_reference(nested):
    b, g, out = nested
    meta = metadata.read_metadata(out)
    for k in range(meta.num_subnets):
        widths = meta.widths(k)
        sliced = slicing.slice_model(out, k)
        ref = masked_reference(b, g, widths)
        for x in inputs(b, 3):
            y = golden.tflm_run(sliced, x)
            assert y.shape == golden.tflm_run(b, x).shape
            np.testing.assert_array_equal(y, golden.tflm_run(ref, x), err_msg=f"subnet {k}")


def test_sliced_subnets_differ_from_full(nested):
    # guards the masked test against a vacuous pass (e.g. slicing ignored)
    b, _, out = nested
    x = inputs(b, 1)[0]
    full = golden.tflm_run(b, x)
    smallest = golden.tflm_run(slicing.slice_model(out, 3), x)
    assert not np.array_equal(full, smallest)


def test_slice_errors(nested):
    b, g, out = nested
    with pytest.raises(MetadataError, match="no REDS metadata"):
        slicing.slice_model(b, 0)
    with pytest.raises(MetadataError, match="subnet 4 out of range"):
        slicing.slice_model(out, 4)
    with pytest.raises(PlanError, match="subnet 1"):
        slicing.nest(b, g, [g.full_widths, [0] * len(g)])
    with pytest.raises(MetadataError, match="not nested"):
        slicing.nest(b, g, [[1] * len(g), g.full_widths])


def test_nest_defaults_to_derived_groups_and_full_model():
    _, b = tm.conv_flatten_dense()
    out = slicing.nest(b)
    meta = metadata.read_metadata(out)
    assert meta.num_subnets == 1 and list(meta.full_widths) == [7, 13, 5]
