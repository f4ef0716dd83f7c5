"""Activation ranges over all subnets: range arithmetic, the rewrite's constraints, bias
requantization, correspondence checks, and the calibrated file still runs everywhere."""
import numpy as np
import pytest

import tflite_models as tm
from tiny_models import inputs, tiny
from reds.export import calibrate, nested as export
from reds.model import groups as keras_groups, zoo
from reds.tflite import slicing, flatbuffer as tflite_io, requant as tflite_requant
from reds.export.calibrate import CalibrationError
from reds.tflite.requant import RequantizeError
from reds.export import convert
from reds.runtime import golden


def test_quant_params_round_trip():
    for lo, hi in [(0.0, 6.0), (-1.5, 2.5), (-3.0, 0.0), (0.2, 1.0)]:
        s, zp = tflite_requant.quant_params(lo, hi)
        assert -128 <= zp <= 127
        q = tflite_io.Quantization(np.array([s], np.float32), np.array([zp]), 0)
        rlo, rhi = tflite_requant.float_range(q)
        assert rlo <= min(lo, 0) + s and rhi >= hi - s  # contains the range (and 0)
        assert rlo <= 0 <= rhi
    assert tflite_requant.quant_params(0.0, 6.0)[1] == -128  # ReLU output keeps min 0


def _tensor_by_op(m, op_name, nth=0):
    return [o for o in m.operators if o.op == op_name][nth]


def test_identity_ranges_change_nothing():
    _, b = tm.conv_flatten_dense()
    res = tflite_requant.apply_ranges(b, tflite_requant.activation_ranges(b))
    assert res.tensors == [] and res.biases == []
    a, c = tflite_io.load_model(b), tflite_io.load_model(res.model)
    for ta, tc in zip(a.tensors, c.tensors):
        if ta.quantization is not None:
            np.testing.assert_array_equal(ta.quantization.scale, tc.quantization.scale)
        if ta.is_constant:
            np.testing.assert_array_equal(ta.data, tc.data)


def test_widened_range_requantizes_consumer_bias_and_tied_tensors():
    _, b = tm.conv_flatten_dense()
    m = tflite_io.load_model(b)
    ranges = tflite_requant.activation_ranges(b)
    # c1 output (fused ReLU) feeds the depthwise conv; dw1 output goes through MAX_POOL_2D
    c1 = _tensor_by_op(m, "CONV_2D", 0).outputs[0]
    lo, hi = ranges[c1]
    ranges[c1] = (lo, 3 * hi)
    mp = _tensor_by_op(m, "MAX_POOL_2D")
    plo, phi = ranges[mp.outputs[0]]
    ranges[mp.outputs[0]] = (plo, 2 * phi)  # the pool's input must follow
    res = tflite_requant.apply_ranges(b, ranges)
    n = tflite_io.load_model(res.model)
    assert n.tensors[c1].quantization.zero_point[0] == -128
    assert n.tensors[c1].quantization.scale[0] == pytest.approx(3 * m.tensors[c1].quantization.scale[0], rel=1e-5)
    assert n.tensors[mp.inputs[0]].quantization.scale[0] == n.tensors[mp.outputs[0]].quantization.scale[0]
    assert n.tensors[mp.inputs[0]].quantization.zero_point[0] == n.tensors[mp.outputs[0]].quantization.zero_point[0]
    # depthwise bias: recomputed from the float bias with the new input scale
    dw = _tensor_by_op(m, "DEPTHWISE_CONV_2D")
    bias_old, bias_new = m.tensors[dw.inputs[2]], n.tensors[dw.inputs[2]]
    s_w = m.tensors[dw.inputs[1]].quantization.scale.astype(np.float32)
    s_in = np.float32(n.tensors[c1].quantization.scale[0])
    np.testing.assert_array_equal(bias_new.quantization.scale, (s_in * s_w).astype(np.float32))
    f_old = bias_old.data * bias_old.quantization.scale.astype(np.float64)
    f_new = bias_new.data * bias_new.quantization.scale.astype(np.float64)
    assert np.all(np.abs(f_new - f_old) <= 0.5 * bias_new.quantization.scale + 1e-12)
    assert {r["bias_tensor"] for r in res.biases} >= {dw.inputs[2]}
    # still a valid model that TFLM and LiteRT run
    x = tm.random_input(m.tensors[m.inputs[0]].shape)
    assert golden.tflm_run(res.model, x).shape == golden.tflm_run(b, x).shape
    tm.run_litert(res.model, x)


def test_model_input_and_softmax_output_keep_their_quantization():
    _, b = tm.residual_gap()
    m = tflite_io.load_model(b)
    ranges = {t: (2 * lo - 1, 2 * hi + 1) for t, (lo, hi) in tflite_requant.activation_ranges(b).items()}
    n = tflite_io.load_model(tflite_requant.apply_ranges(b, ranges).model)
    sm = _tensor_by_op(m, "SOFTMAX").outputs[0]
    for t in (m.inputs[0], sm):
        assert n.tensors[t].quantization.scale[0] == m.tensors[t].quantization.scale[0]
        assert n.tensors[t].quantization.zero_point[0] == m.tensors[t].quantization.zero_point[0]
    assert n.tensors[sm].quantization.zero_point[0] == -128
    # everything else moved, and the model still runs
    changed = [t.index for t in n.tensors if tflite_requant.is_activation(t)
               and t.quantization.scale[0] != m.tensors[t.index].quantization.scale[0]]
    assert len(changed) >= 5
    x = tm.random_input(m.tensors[m.inputs[0]].shape)
    golden.tflm_run(tflite_requant.apply_ranges(b, ranges).model, x)


def test_apply_ranges_rejects_non_activations():
    _, b = tm.conv_flatten_dense()
    m = tflite_io.load_model(b)
    const = next(t.index for t in m.tensors if t.is_constant)
    with pytest.raises(RequantizeError, match=str(const)):
        tflite_requant.apply_ranges(b, {const: (0.0, 1.0)})


def test_mse_range_prefers_finer_steps_for_small_subnets():
    rng = np.random.default_rng(0)
    big = np.abs(rng.normal(0, 1, 20000))
    big[:5] = 12.0  # rare outliers set the full model's range
    small = np.abs(rng.normal(0, 0.2, 20000))
    lo, hi = calibrate.mse_range([big, small], 0.0, 12.0)
    assert lo == 0.0 and 1.0 < hi < 12.0
    assert calibrate.mse_range([big], 0.0, 0.0) == (0.0, 0.0)


@pytest.fixture(scope="module")
def ds_cnn():
    model = zoo.with_batch(tiny("ds_cnn", num_classes=3, seed=4), 1)
    groups = keras_groups.channel_groups(model)
    plans = [{g.name: g.width for g in groups}, {g.name: 5 for g in groups}, {g.name: 3 for g in groups}]
    x = inputs(model, 32, seed=2)
    tfl = convert.to_int8_tflite(model, x)
    models = calibrate.subnet_models(tfl, model, groups, plans, x)
    return model, groups, plans, x, tfl, models


def test_subnet_conversions_line_up(ds_cnn):
    model, groups, plans, x, tfl, models = ds_cnn
    assert models[0] is tfl
    match = convert.match_groups(groups, tfl)
    for k in (1, 2):
        ref = slicing.slice_to_widths(tfl, match.groups, match.widths(plans[k]))
        calibrate.check_correspondence(ref, models[k], f"subnet {k}")
        with pytest.raises(CalibrationError, match="subnet 9"):
            calibrate.check_correspondence(tfl, models[k], "subnet 9")  # full shapes != sliced


@pytest.mark.parametrize("method", ["union", "mse"])
def test_calibrated_model_runs_and_ranges_are_sane(ds_cnn, method):
    model, groups, plans, x, tfl, models = ds_cnn
    res = calibrate.calibrate(tfl, model, groups, plans, x, method=method, models=models)
    per = [tflite_requant.activation_ranges(mm) for mm in models]
    union = calibrate.combine(per, "union")
    got = tflite_requant.activation_ranges(res.model)
    m = tflite_io.load_model(tfl)
    for t, (lo, hi) in union.items():
        if t in m.inputs:
            continue
        glo, ghi = got[t]
        step = (ghi - glo) / 255
        assert glo <= 0 <= ghi
        assert glo >= lo - step and ghi <= hi + step  # never wider than every subnet needs
        if method == "union":
            assert glo <= lo + step and ghi >= hi - step  # covers every subnet
    nested = export.nest_plan(res.model, groups, plans)
    xq = convert.quantize_input(nested, x[:4])
    for k in range(len(plans)):
        out = golden.tflm_outputs(slicing.slice_model(nested, k), xq)
        assert out.shape == (4, 3)
    assert res.to_dict()["method"] == method


def test_unknown_method(ds_cnn):
    model, groups, plans, x, tfl, _ = ds_cnn
    with pytest.raises(Exception, match="unknown calibration method"):
        calibrate.calibrate_for_subnets(tfl, model, groups, plans, x, method="entropy")
