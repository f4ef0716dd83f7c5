"""Channel groups and the MAC polynomial of converted int8 models."""

import itertools

import pytest

import tflite_models as tm
from reds.tflite import groups as graph, slicing, flatbuffer as tflite_io
from reds.errors import PlanError, UnsupportedOpError


@pytest.fixture(scope="module")
def flat():
    return tm.conv_flatten_dense()


@pytest.fixture(scope="module")
def residual():
    return tm.residual_gap()


def ops_by_name(m, name):
    return [op for op in m.operators if op.op == name]


def test_groups_of_a_chain_with_flatten(flat):
    _, b = flat
    m = tflite_io.load_model(b)
    g = graph.derive_groups(b)
    assert g.full_widths == [7, 13, 5]
    assert [grp.name for grp in g] == ["c1_1", "c2_1", "d1_1"]
    conv1, dw, pool, conv2 = m.operators[:4]
    assert (conv1.op, dw.op, pool.op, conv2.op) == ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "CONV_2D")
    # group 0: conv1 output -> depthwise (keeps its input group) -> pool, up to conv2's input
    assert [t for t, _ in g[0].members] == [conv1.outputs[0], dw.outputs[0], pool.outputs[0]]
    assert g[0].producers == (conv1.index, dw.index)
    # group 1: conv2 output and the flattened [1, 2*2*13] tensor (P = 4), axis 1
    (reshape,) = ops_by_name(m, "RESHAPE")
    flat_t = reshape.outputs[0]
    assert m.tensors[flat_t].shape == (1, 52)
    assert (flat_t, 1) in g[1].members and (conv2.outputs[0], 3) in g[1].members
    # the model input and the logits are never sliced
    members = {t for t, _, _ in g.members()}
    assert m.inputs[0] not in members and m.outputs[0] not in members
    reasons = " | ".join(f.reason for f in g.fixed)
    assert "subgraph output" in reasons and "subgraph input" in reasons


def test_residual_add_ties_its_inputs(residual):
    _, b = residual
    m = tflite_io.load_model(b)
    g = graph.derive_groups(b)
    (add,) = ops_by_name(m, "ADD")
    ga = {g.group_of(t) for t in add.inputs + add.outputs}
    assert len(ga) == 1 and None not in ga
    gi = ga.pop()
    # both convs feeding the ADD (directly and through the depthwise) share the group
    convs = ops_by_name(m, "CONV_2D")
    assert convs[0].index in g[gi].producers and convs[1].index in g[gi].producers
    assert g[gi].name == "c1_1+c2_1"
    # the MEAN output is in the last conv's group; the softmax logits are fixed
    (mean,) = ops_by_name(m, "MEAN")
    assert g.group_of(mean.outputs[0]) == g.group_of(convs[2].outputs[0]) is not None
    (fc,) = ops_by_name(m, "FULLY_CONNECTED")
    assert g.group_of(fc.outputs[0]) is None
    assert any("SOFTMAX" in f.reason for f in g.fixed)
    assert g.full_widths == [7, 13]


def test_reshape_that_moves_channels_is_fixed():
    _, b = tm.reshape_moves_channels()
    g = graph.derive_groups(b)
    # only the second conv (5 channels, into the MEAN) is sliceable
    assert g.full_widths == [5]
    moved = [f for f in g.fixed if "RESHAPE moves channels" in f.reason]
    assert len(moved) == 1 and "c1" in moved[0].name


def test_check_supported():
    graph.check_supported(tm.conv_flatten_dense()[1])
    graph.check_supported(tm.residual_gap()[1])
    _, b = tm.concat_model()
    with pytest.raises(UnsupportedOpError) as e:
        graph.check_supported(b)
    msg = str(e.value)
    assert "CONCATENATION" in msg and "operator" in msg
    for op in sorted(graph.supported_ops):
        assert op in msg
    # derive_groups itself does not raise: the concat inputs are fixed
    g = graph.derive_groups(b)
    assert any("CONCATENATION" in f.reason for f in g.fixed)


@pytest.mark.parametrize("builder", [tm.conv_flatten_dense, tm.residual_gap, tm.reshape_moves_channels])
def test_macs_at_full_width_match_keras(builder):
    km, b = builder()
    g = graph.derive_groups(b)
    assert graph.macs(b, g, g.full_widths) == tm.keras_macs(km)


def sliced_model_macs(b: bytes) -> int:
    """Independent MAC count from the tensor shapes of a (standalone) model."""
    m = tflite_io.load_model(b)
    total = 0
    for op in m.operators:
        T = m.tensors
        if op.op == "CONV_2D":
            o, kh, kw, i = T[op.inputs[1]].shape
            _, h, w, _ = T[op.outputs[0]].shape
            assert T[op.inputs[0]].shape[3] == i
            total += h * w * kh * kw * i * o
        elif op.op == "DEPTHWISE_CONV_2D":
            _, kh, kw, c = T[op.inputs[1]].shape
            _, h, w, _ = T[op.outputs[0]].shape
            total += h * w * kh * kw * c
        elif op.op == "FULLY_CONNECTED":
            o, i = T[op.inputs[1]].shape
            assert T[op.inputs[0]].num_elements == i
            total += o * i
    return total


@pytest.mark.parametrize("builder", [tm.conv_flatten_dense, tm.residual_gap])
def test_macs_at_sliced_widths_match_sliced_model(builder):
    _, b = builder()
    g = graph.derive_groups(b)
    terms = graph.mac_terms(b, g)
    choices = [sorted({1, 2, w // 2, w - 1, w}) for w in g.full_widths]
    combos = list(itertools.product(*choices))
    for widths in combos[:: max(1, len(combos) // 12)] + [tuple(g.full_widths)]:
        sliced = slicing.slice_to_widths(b, g, list(widths))
        expected = sliced_model_macs(sliced)
        assert graph.macs(b, g, list(widths)) == expected, widths
        assert graph.evaluate_terms(terms, widths) == expected


def test_mac_terms_shape(flat):
    _, b = flat
    g = graph.derive_groups(b)
    terms = graph.mac_terms(b, g)
    # conv1 (fixed 3 inputs x w0) and dw (w0) fold into one linear term; conv2 is w0*w1;
    # FC1 is P*w1*w2 with P = 2*2; the logits FC is w2 * 3.
    as_dict = {(a, b_): c for c, a, b_ in terms}
    assert as_dict == {(0, None): 8 * 8 * 9 * 3 + 8 * 8 * 9, (0, 1): 2 * 2 * 9, (1, 2): 4, (2, None): 3}


def test_macs_rejects_bad_widths(flat):
    _, b = flat
    g = graph.derive_groups(b)
    with pytest.raises(PlanError, match="3 groups"):
        graph.macs(b, g, [1, 1])
    with pytest.raises(PlanError, match=r"width 14 outside 1..13"):
        graph.macs(b, g, [7, 14, 5])
    with pytest.raises(PlanError, match="width 0"):
        graph.macs(b, g, [0, 13, 5])
