"""Per-op profiles and latency calibration on qemu_m4 (instruction counts under -icount)."""
import numpy as np
import pytest
from paths import DEFAULT_MODEL

from reds.plan import latency_model as L
from reds.tflite.groups import derive_groups, mac_terms, member_map
from reds.tflite.flatbuffer import load_model
from reds_bench.board.factory import create_board
from reds_bench.measure.steps import latency
from reds_bench.measure.profile import profile_model, profile_subnet, write_profile


pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def board(firmware_program):
    firmware_program("qemu_m4")
    with create_board("qemu_m4", build=False) as b:
        yield b


@pytest.fixture(scope="module")
def dscnn():
    """A small DS-CNN (conv, depthwise, pointwise, GAP, FC) converted to int8, channels in
    multiples of 4 so the DSP kernels' block size is on the calibration grid."""
    from tiny_models import tiny
    from tflite_models import convert_int8

    from reds.model.zoo import with_batch

    model = tiny("ds_cnn", channels=16)
    return convert_int8(with_batch(model, 1), (8, 8, 1))


def test_profile_sums_to_the_invoke(board, tmp_path):
    model = DEFAULT_MODEL.read_bytes()
    res = profile_model(board, model)
    files = write_profile(res, tmp_path, plot=False)
    assert {p.name for p in files} == {"profile.json", "profile.csv", "profile.md"}
    rows = (tmp_path / "profile.csv").read_text().splitlines()
    assert len(rows) == 1 + sum(len(p["ops"]) for p in res["subnets"])
    assert rows[1].startswith("0,0,FULLY_CONNECTED,1x16,1x12,192,")
    m = load_model(model)
    mm = member_map(m, derive_groups(m))
    for prof in res["subnets"]:
        ticks = [op["ticks"] for op in prof["ops"]]
        assert sum(ticks) == pytest.approx(prof["total_ticks"])
        # per-op MACs at this subnet's widths (FC: input * output channels)
        for op, mop in zip(prof["ops"], m.operators):
            assert op["macs"] == int(np.prod(op["in"][1:])) * op["out"][-1], op
        assert sum(op["macs"] for op in prof["ops"]) == prof["macs"]
        # one profiled invoke costs the timed invoke plus one clock read per op; each count is
        # read off a 40-instruction SysTick, so either side may land one tick lower
        bench = latency(board, prof["subnet"], runs=3)
        ipt = prof["instructions_per_tick"]
        assert ipt == 40
        extra = prof["total_ticks"] - bench["median_ticks"]
        assert -1 <= extra <= len(ticks) + 1, (prof["total_ticks"], bench["median_ticks"])
    shares = [p["share_of_full"] for p in res["subnets"]]
    assert shares[0] == 1.0 and all(a > b for a, b in zip(shares, shares[1:]))
    assert mm  # the default model has sliceable groups


def test_profile_resolves_below_a_tick(board):
    # the instruction counts are deterministic, but where the 40-instruction ticks fall is not
    # the same from one command to the next: each op's mean is within one tick, below it resolved
    a, b = profile_subnet(board, 0, runs=8), profile_subnet(board, 0, runs=8)
    for x, y in zip(a["ops"], b["ops"]):
        assert abs(x["ticks"] - y["ticks"]) < 1.0
    assert any(o["ticks"] != int(o["ticks"]) for o in a["ops"] + b["ops"])  # a mean over 8 runs


def test_bad_profile_arguments(board):
    for line, want in [("reds-profile 99", "subnet out of range"), ("reds-profile x", "usage"),
                       ("reds-profile 0 0", "usage")]:
        from reds_bench.errors import DeviceError

        with pytest.raises(DeviceError, match=want):
            board.cmd(line)


def test_calibration_fits_held_back_widths(board, dscnn):
    from reds_bench.measure.latency_fit import calibrate

    lm = calibrate(board, dscnn, "qemu_m4", n_fit=12, n_test=6, runs=4, width_step=4)
    err = lm.fit_error["held_back"]
    assert len(err["per_subnet"]) >= 6
    assert err["max"] <= 0.03, err
    lm.check(dscnn, target="qemu_m4", exact_model=True)
    # a MAC-only cost would not explain the profile: the fitted model has per-op constants
    assert sum(c for c, a, b in lm.terms() if a is None and b is None) > 0
    assert {op["op"] for op in lm.ops} >= {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
    assert len(mac_terms(dscnn, L.model_groups(dscnn))) > 0
