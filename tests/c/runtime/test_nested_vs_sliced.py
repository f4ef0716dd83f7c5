"""Width slicing: the nested file at subnet k equals TFLM on the physically sliced model k.

The nested files and the standalone slices come from the toolkit (``reds.tflite.slicing.nest`` /
``slice_model``, ``reds.tflite.groups.derive_groups``); their metadata records MACs and arena bytes
computed in Python, which reds_init checks against its own numbers (mismatch = init error).
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from reds.runtime import golden
from reds.runtime.binding import RedsRuntimeError, Runtime
from modelgen import FRACTIONS, nested, random_input
from metablob import blob_of, recrc, with_blob

from reds.tflite import slicing
from reds.tflite import groups as graph
from reds.tflite import metadata

SLICED_MODELS = ["conv_dw_gap", "residual", "pools", "one_by_one", "gap_keepdims",
                 "mlp_per_tensor", "mlp_per_channel", "float_io", "padded"]


@pytest.mark.parametrize("name", SLICED_MODELS)
def test_every_subnet_equals_sliced_model(tflite_model, name):
    nested_model, widths = nested(tflite_model(name))
    rt = Runtime(nested_model)
    assert rt.num_subnets == len(FRACTIONS)
    rng = np.random.default_rng(7)
    for k in range(rt.num_subnets):
        rt.select(k)
        assert rt.widths(k) == widths[k]
        ref = slicing.slice_model(nested_model, k)
        for _ in range(4):
            x = random_input(ref, rng)
            want = golden.tflm_run(ref, x)
            got = rt.invoke(x)
            assert np.array_equal(got.reshape(want.shape), want), f"subnet {k} widths {widths[k]}"


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_models_sliced(tflite_model, seed):
    model = tflite_model("random", seed)
    if not len(graph.derive_groups(model)):
        pytest.skip("no sliceable group in this random model")
    nested_model, _ = nested(model)
    rt = Runtime(nested_model)
    rng = np.random.default_rng(seed)
    for k in range(rt.num_subnets):
        rt.select(k)
        ref = slicing.slice_model(nested_model, k)
        x = random_input(ref, rng)
        want = golden.tflm_run(ref, x)
        assert np.array_equal(rt.invoke(x).reshape(want.shape), want), f"subnet {k}"


def test_macs_and_arena_agree_with_python(tflite_model):
    nested_model, widths = nested(tflite_model("residual"))
    from reds.tflite import arena
    rt = Runtime(nested_model)
    meta = metadata.read_metadata(nested_model)
    for k, w in enumerate(widths):
        assert rt.macs(k) == graph.macs(nested_model, meta, w)
        assert rt.arena_bytes(k) == arena.arena_bytes(nested_model, meta, w)
    # smaller subnets need fewer MACs and no more arena
    assert all(rt.macs(k) > rt.macs(k + 1) for k in range(rt.num_subnets - 1))
    assert all(rt.arena_bytes(k) >= rt.arena_bytes(k + 1) for k in range(rt.num_subnets - 1))


def test_plain_model_is_one_subnet(tflite_model):
    rt = Runtime(tflite_model("pools"))
    assert rt.num_subnets == 1 and rt.widths(0) == []
    with pytest.raises(RedsRuntimeError) as e:
        rt.select(1)
    assert e.value.name == "REDS_ERR_SUBNET" and "out of range" in e.value.message


def test_arena_limits(tflite_model):
    nested_model, _ = nested(tflite_model("residual"))
    full = Runtime(nested_model)
    sizes = [full.arena_bytes(k) for k in range(full.num_subnets)]
    assert sizes[0] > sizes[-1]
    # the arena holds the model's tables at its tail and the subnet's activations at its head
    tables = full.persistent_bytes
    assert 0 < tables < 16 * 1024
    assert full.bytes_needed() == tables + sizes[0]
    # room for the last subnet only: init picks the first that fits, select(0) fails
    rt = Runtime(nested_model, arena_bytes=tables + sizes[-1] + 15)  # +15: internal alignment
    fits = [k for k, s in enumerate(sizes) if s <= sizes[-1]]
    assert rt.active_subnet == fits[0]
    with pytest.raises(RedsRuntimeError) as e:
        rt.select(0)
    assert e.value.name == "REDS_ERR_ARENA" and str(tables + sizes[0]) in e.value.message
    # smaller than the smallest subnet: init fails and says both numbers
    with pytest.raises(RedsRuntimeError) as e:
        Runtime(nested_model, arena_bytes=tables + sizes[-1] - 16)
    assert e.value.name == "REDS_ERR_ARENA" and str(tables + sizes[-1]) in e.value.message
    # too small for the tables themselves: the error says so, and how far the count got
    with pytest.raises(RedsRuntimeError) as e:
        Runtime(nested_model, arena_bytes=64)
    assert e.value.name == "REDS_ERR_ARENA" and "tables" in e.value.message


# ---------------------------------------------------------------- metadata corruption

def _args(model: bytes):
    meta = metadata.read_metadata(model)
    subnets = [{"macs": s.macs, "arena_bytes": s.arena_bytes, "widths": list(s.widths)} for s in meta.subnets]
    return meta.full_widths, meta.members, subnets


@pytest.fixture(scope="module")
def nested_residual(tflite_model):
    return nested(tflite_model("residual"))[0]


def expect_error(model: bytes, name: str, text: str = ""):
    with pytest.raises(RedsRuntimeError) as e:
        Runtime(model)
    assert e.value.name == name, e.value
    assert text in e.value.message
    return e.value


def test_bad_crc(nested_residual):
    blob = bytearray(blob_of(nested_residual))
    blob[-1] ^= 1
    expect_error(with_blob(nested_residual, bytes(blob)), "REDS_ERR_CRC")


def test_bad_version(nested_residual):
    blob = bytearray(blob_of(nested_residual))
    struct.pack_into("<H", blob, 4, 2)
    expect_error(with_blob(nested_residual, recrc(blob)), "REDS_ERR_VERSION", "version 2")


def test_macs_mismatch_reports_both_numbers(nested_residual):
    full_widths, members, subnets = _args(nested_residual)
    subnets[1]["macs"] += 1
    err = expect_error(with_blob(nested_residual, metadata.pack_blob(full_widths, members, subnets)),
                       "REDS_ERR_METADATA", f"macs={subnets[1]['macs']}")
    assert f"macs={subnets[1]['macs'] - 1}" in err.message


def test_arena_mismatch(nested_residual):
    full_widths, members, subnets = _args(nested_residual)
    subnets[0]["arena_bytes"] += 16
    expect_error(with_blob(nested_residual, metadata.pack_blob(full_widths, members, subnets)),
                 "REDS_ERR_METADATA", "arena_bytes")


def test_width_out_of_range(nested_residual):
    blob = bytearray(blob_of(nested_residual))
    g = struct.unpack_from("<H", blob, 16)[0]
    m = struct.unpack_from("<H", blob, 20)[0]
    first_width = 32 + 4 * g + 8 * m + 8
    struct.pack_into("<I", blob, first_width, 10_000)
    expect_error(with_blob(nested_residual, recrc(blob)), "REDS_ERR_METADATA", "width")


def test_member_tensor_out_of_range(nested_residual):
    blob = bytearray(blob_of(nested_residual))
    g = struct.unpack_from("<H", blob, 16)[0]
    struct.pack_into("<I", blob, 32 + 4 * g, 60_000)
    expect_error(with_blob(nested_residual, recrc(blob)), "REDS_ERR_METADATA", "does not exist")


def test_arena_bytes_needed_is_exact(tflite_model):
    """reds_arena_bytes_needed: REDS_ERR_ARENA while the work buffer cannot hold the tables, then
    the exact arena: an arena of that size runs every subnet, 16 bytes less cannot hold subnet 0."""
    import ctypes

    from reds.runtime.binding import load_library

    nested_model, _ = nested(tflite_model("residual"))
    lib = load_library()
    model = (ctypes.c_uint8 * len(nested_model)).from_buffer_copy(nested_model)
    needed = ctypes.c_size_t(123)
    small = (ctypes.c_uint8 * 64)()
    assert lib.reds_arena_bytes_needed(model, len(nested_model), small, 64, ctypes.byref(needed)) == -8
    assert needed.value == 0
    big = (ctypes.c_uint8 * (1 << 20))()
    assert lib.reds_arena_bytes_needed(model, len(nested_model), big, 1 << 20, ctypes.byref(needed)) == 0
    exact = Runtime(nested_model, arena_bytes=needed.value)
    assert exact.persistent_bytes + exact.arena_bytes(0) == needed.value
    for k in range(exact.num_subnets):
        exact.select(k)  # every subnet fits
    short = Runtime(nested_model, arena_bytes=needed.value - 16)
    assert short.active_subnet > 0  # init fell back to a narrower subnet
    with pytest.raises(RedsRuntimeError, match="REDS_ERR_ARENA"):
        short.select(0)
