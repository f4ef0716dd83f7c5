"""reds.plan.latency_model: the fit recovers known costs, files round-trip, bad files are one line."""
import json

import numpy as np
import pytest
from paths import DEFAULT_MODEL

from reds.plan import latency_model as L
from reds.tflite.groups import derive_groups



@pytest.fixture(scope="module")
def model():
    return DEFAULT_MODEL.read_bytes()


def synthetic(model, rng):
    """Known non-negative coefficients for every term of every op, as a cost function."""
    slots = L.op_slots(model)
    truth = [[(float(rng.uniform(10, 500)) if (a, b) == (None, None) else float(rng.uniform(0, 40)), a, b)
              for a, b in s.pairs()] for s in slots]
    return slots, truth


def test_pairs_cover_constant_linear_bilinear():
    assert L.OpSlots(0, "CONV_2D", 1, 2).pairs() == [(None, None), (1, None), (2, None), (1, 2)]
    assert L.OpSlots(0, "DEPTHWISE_CONV_2D", 3, 3).pairs() == [(None, None), (3, None), (3, 3)]
    assert L.OpSlots(0, "SOFTMAX", None, None).pairs() == [(None, None)]


def test_fit_recovers_known_coefficients(model):
    rng = np.random.default_rng(0)
    slots, truth = synthetic(model, rng)
    full = derive_groups(model).full_widths
    fit_w = [w for c in L.calibration_widths(full, 12, seed=0) for w in c]
    test_w = [w for c in L.calibration_widths(full, 6, seed=1, ends=False) for w in c]
    cost = lambda ws: [[L.evaluate(t, w) for t in truth] for w in ws]  # noqa: E731
    lm = L.fit(model, None, "qemu_m4", "instructions", fit_w, cost(fit_w), test_w, cost(test_w))
    for op, want in zip(lm.ops, truth):
        got = {(a, b): c for c, a, b in op["terms"]}
        for c, a, b in want:
            assert got[(a, b)] == pytest.approx(c, rel=1e-4, abs=1e-3)
    assert lm.fit_error["held_back"]["max"] < 1e-5
    # the summed terms predict the total of any width vector
    w = [5, 3]
    assert lm.predict(w) == pytest.approx(sum(L.evaluate(t, w) for t in truth), rel=1e-6)


def test_fit_error_is_measured_on_held_back_widths(model):
    rng = np.random.default_rng(1)
    _, truth = synthetic(model, rng)
    full = derive_groups(model).full_widths
    fit_w = [w for c in L.calibration_widths(full, 8, seed=0) for w in c]
    test_w = [[7, 5], [2, 6]]
    cost = lambda ws: [[L.evaluate(t, w) for t in truth] for w in ws]  # noqa: E731
    measured = cost(test_w)
    measured[1] = [1.1 * c for c in measured[1]]  # one held-back subnet 10 % slower than the model
    lm = L.fit(model, None, "qemu_m4", "instructions", fit_w, cost(fit_w), test_w, measured)
    per = lm.fit_error["held_back"]["per_subnet"]
    assert per[0] < 1e-5 and per[1] == pytest.approx(1 - 1 / 1.1, rel=1e-3)


def test_calibration_widths_are_nested_chains_on_the_step():
    chains = L.calibration_widths([64, 12, 10], 14, seed=3, step=4)
    assert sum(len(c) for c in chains) == 14 and chains[0][0] == [64, 12, 10] and chains[0][-1] == [4, 4, 1]
    for c in chains:
        for big, small in zip(c, c[1:]):
            assert all(s <= b for s, b in zip(small, big))
        for w in c:
            assert w[0] % 4 == 0 and w[1] % 4 == 0 and 1 <= w[2] <= 10


def _saved(model, tmp_path, **over):
    full = derive_groups(model).full_widths
    ws = [w for c in L.calibration_widths(full, 6, seed=0) for w in c]
    costs = [[100.0 + w[0], 50.0 + w[0] * w[1], 30.0 + w[1]] for w in ws]
    lm = L.fit(model, None, "qemu_m4", "instructions", ws, costs)
    for k, v in over.items():
        setattr(lm, k, v)
    return lm.save(tmp_path / "latency_model.json"), lm


def test_file_round_trip_and_checks(model, tmp_path):
    path, lm = _saved(model, tmp_path)
    back = L.load(path)
    assert [(a, b) for _, a, b in back.terms()] == [(a, b) for _, a, b in lm.terms()]
    assert [c for c, _, _ in back.terms()] == pytest.approx([c for c, _, _ in lm.terms()], rel=1e-6)
    assert back.predict([8, 4]) == pytest.approx(100 + 8 + 50 + 32 + 30 + 4, rel=1e-4)
    back.check(model, target="qemu_m4", exact_model=True)  # the right model and target pass
    with pytest.raises(L.LatencyModelError, match="target 'qemu_m4', not 'qemu_m7'"):
        back.check(model, target="qemu_m7")
    with pytest.raises(L.LatencyModelError, match="crc32="):
        back.check(model + b"\0\0\0\0", exact_model=True)


def test_other_graph_is_refused(model, tmp_path):
    from tflite_models import conv_flatten_dense

    path, _ = _saved(model, tmp_path)
    _, other = conv_flatten_dense()
    with pytest.raises(L.LatencyModelError, match="another graph") as e:
        L.load(path).check(other)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("text,match", [
    (None, "not found"),
    ("{not json", "not readable JSON"),
    ('{"format": "something-else"}', "is not a latency model"),
    ('{"format": "reds-latency-model", "version": 99}', "version 99"),
    ('{"format": "reds-latency-model", "version": 1, "target": "qemu_m4"}', "malformed"),
])
def test_bad_files_get_one_line(tmp_path, text, match):
    path = tmp_path / "lm.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(L.LatencyModelError, match=match) as e:
        L.load(path)
    assert "\n" not in str(e.value)


def test_negative_coefficient_in_file_is_refused(model, tmp_path):
    path, _ = _saved(model, tmp_path)
    d = json.loads(path.read_text())
    d["ops"][0]["terms"][0][0] = -5.0
    path.write_text(json.dumps(d))
    with pytest.raises(L.LatencyModelError, match="bad term"):
        L.load(path)
