"""REDS metadata blob (docs/metadata.md): round trip, every validation error, attach/read."""

import struct
import zlib

import numpy as np
import pytest

import tflite_models as tm
from metablob import recrc
from reds.tflite import groups as graph, metadata, flatbuffer as tflite_io
from reds.errors import MetadataError, ModelFormatError
from reds.tflite.metadata import attach_metadata, pack_blob, read_metadata, unpack_blob
from reds.runtime import golden

GROUPS = [7, 13, 5]
MEMBERS = [(11, 3, 0), (12, 3, 0), (15, 3, 1), (16, 1, 1), (17, 1, 2)]
SUBNETS = [
    {"macs": 1000, "arena_bytes": 900, "widths": [7, 13, 5]},
    {"macs": 600, "arena_bytes": 640, "widths": [5, 9, 3]},
    {"macs": 200, "arena_bytes": 384, "widths": [3, 9, 1]},
]


def blob():
    return pack_blob(GROUPS, MEMBERS, SUBNETS)


def patch(b: bytes, fmt: str, offset: int, *values, crc=True) -> bytes:
    b = bytearray(b)
    struct.pack_into(fmt, b, offset, *values)
    return recrc(bytes(b)) if crc else bytes(b)


# ----------------------------------------------------------------- layout and round trip


def test_layout_matches_the_document():
    b = blob()
    G, M, K = 3, 5, 3
    assert len(b) == 32 + 4 * G + 8 * M + K * (8 + 4 * G) and len(b) % 4 == 0
    magic, version, header, total, crc = struct.unpack_from("<4sHHII", b, 0)
    assert (magic, version, header, total) == (b"REDS", 1, 32, len(b))
    assert crc == zlib.crc32(b[16:])
    assert struct.unpack_from("<HHHHII", b, 16) == (G, K, M, 0, 0, 0)
    assert struct.unpack_from("<3I", b, 32) == (7, 13, 5)
    assert struct.unpack_from("<IHH", b, 44 + 8 * 3) == (16, 1, 1)
    sub1 = 44 + 8 * M + (8 + 4 * G)
    assert struct.unpack_from("<II3I", b, sub1) == (600, 640, 5, 9, 3)


def test_round_trip():
    meta = unpack_blob(blob())
    assert meta.full_widths == tuple(GROUPS)
    assert meta.members == tuple(MEMBERS)
    assert [(s.macs, s.arena_bytes, list(s.widths)) for s in meta.subnets] == [
        (s["macs"], s["arena_bytes"], s["widths"]) for s in SUBNETS
    ]
    assert meta.widths(2) == (3, 9, 1)
    with pytest.raises(MetadataError, match="subnet 3 out of range"):
        meta.widths(3)
    assert pack_blob(meta.full_widths, meta.members, meta.subnets) == blob()


def test_no_groups_one_subnet():
    b = pack_blob([], [], [{"macs": 5, "arena_bytes": 16, "widths": []}])
    assert len(b) == 40
    assert unpack_blob(b).num_subnets == 1


# ----------------------------------------------------------------- reader validation

READER_CASES = {
    "magic": (lambda b: patch(b, "<4s", 0, b"SDER"), "magic"),
    "version": (lambda b: patch(b, "<H", 4, 2), "version: 2"),
    "header_bytes": (lambda b: patch(b, "<H", 6, 36), "header_bytes: 36"),
    "truncated header": (lambda b: b[:20], "truncated"),
    "truncated body": (lambda b: b[:-4], "total_bytes.*larger"),
    "total not multiple of 4": (lambda b: patch(b + b"\0\0", "<I", 8, len(b) + 2), "multiple of 4"),
    "total mismatch": (lambda b: patch(b + b"\0" * 4, "<I", 8, len(b) + 4), "does not match"),
    "count mismatch": (lambda b: patch(b, "<H", 20, 4), "does not match"),
    "crc": (lambda b: patch(b, "<I", 32, 8, crc=False), "crc32"),
    "flags": (lambda b: patch(b, "<H", 22, 1), "flags"),
    "subgraph": (lambda b: patch(b, "<I", 24, 1), "subgraph: 1"),
    "reserved": (lambda b: patch(b, "<I", 28, 7), "reserved"),
    "group of member": (lambda b: patch(b, "<H", 44 + 6, 3), r"members\[0\].group: 3"),
    "duplicate member": (lambda b: patch(b, "<I", 44 + 8, 11), r"members\[1\].tensor_index: tensor 11 already"),
    "zero full width": (lambda b: patch(b, "<I", 32, 0), r"groups\[0\].full_width: 0"),
    "zero width": (lambda b: patch(b, "<I", 84 + 8, 0), r"subnets\[0\].width\[0\]: 0"),
    "width above full": (lambda b: patch(b, "<I", 84 + 8, 8), r"subnets\[0\].width\[0\]: 8"),
    "not nested": (lambda b: patch(b, "<I", 84 + 20 + 8 + 8, 14), r"subnets\[1\].width\[2\]"),
    "macs not sorted": (lambda b: patch(b, "<I", 84 + 40, 5000), r"subnets\[2\].macs"),
}


@pytest.mark.parametrize("case", sorted(READER_CASES))
def test_reader_rejects(case):
    corrupt, message = READER_CASES[case]
    bad = corrupt(blob())
    with pytest.raises(MetadataError, match=message):
        unpack_blob(bad)


def test_trailing_padding_after_total_is_accepted():
    assert unpack_blob(blob() + b"\0" * 8).num_subnets == 3


@pytest.mark.parametrize(
    "groups, members, subnets, message",
    [
        ([4], [], [], "num_subnets: 0"),
        ([4], [], [{"macs": 1, "arena_bytes": 0, "widths": [4, 4]}], r"2 widths for 1 groups"),
        ([4], [], [{"macs": 1, "widths": [4]}], "missing key 'arena_bytes'"),
        ([4], [], [{"macs": 2**32, "arena_bytes": 0, "widths": [4]}], "does not fit u32"),
        ([4], [(1, 0)], [{"macs": 1, "arena_bytes": 0, "widths": [4]}], r"members\[0\]: expected"),
        ([4], [(1, 0, 1)], [{"macs": 1, "arena_bytes": 0, "widths": [4]}], r"members\[0\].group: 1"),
        (
            [4],
            [],
            [{"macs": 9, "arena_bytes": 0, "widths": [2]}, {"macs": 8, "arena_bytes": 0, "widths": [3]}],
            "not nested",
        ),
    ],
)
def test_pack_rejects(groups, members, subnets, message):
    with pytest.raises(MetadataError, match=message):
        pack_blob(groups, members, subnets)


# ----------------------------------------------------------------- against a model


@pytest.fixture(scope="module")
def model():
    return tm.conv_flatten_dense()[1]


def model_blob(m, members, widths=None):
    g = graph.derive_groups(m)
    full = g.full_widths
    return pack_blob(full, members, [{"macs": 1, "arena_bytes": 16, "widths": widths or full}])


def test_model_checks(model):
    g = graph.derive_groups(model)
    ok = pack_blob(g.full_widths, g.members(), [{"macs": 1, "arena_bytes": 16, "widths": g.full_widths}])
    assert unpack_blob(ok, model).members == tuple(g.members())
    n = len(tflite_io.load_model(model).tensors)
    weights = next(t.index for t in tflite_io.load_model(model).tensors if t.is_constant)
    cases = [
        ((n, 0, 0), "tensor_index: %d out of range" % n),
        ((weights, 0, 0), "is constant"),
        ((12, 4, 0), r"members\[0\].axis: 4 out of range"),
        ((12, 1, 0), "not a multiple of groups\\[0\\].full_width 7"),  # dim 1 is H = 8
    ]
    for member, message in cases:
        with pytest.raises(MetadataError, match=message):
            unpack_blob(model_blob(model, [member]), model)
        with pytest.raises(MetadataError, match=message):
            attach_metadata(model, model_blob(model, [member]))


def test_attach_keeps_outputs_and_aligns(model):
    g = graph.derive_groups(model)
    b = pack_blob(
        g.full_widths,
        g.members(),
        [{"macs": 3, "arena_bytes": 16, "widths": g.full_widths}, {"macs": 2, "arena_bytes": 16, "widths": [1, 1, 1]}],
    )
    out = attach_metadata(model, b)
    # every buffer's data starts 16-byte aligned in the file
    offsets = tflite_io.buffer_data_offsets(out)
    assert offsets and all(off % 16 == 0 for _, off, _ in offsets)
    # the blob is there, byte for byte
    loaded = tflite_io.load_model(out)
    assert loaded.metadata["REDS"] == b
    assert read_metadata(out) == unpack_blob(b)
    # other metadata entries and tensors survive
    orig = tflite_io.load_model(model)
    assert set(orig.metadata) | {"REDS"} == set(loaded.metadata)
    for a, c in zip(orig.tensors, loaded.tensors):
        assert (a.shape, a.dtype, a.name) == (c.shape, c.dtype, c.name)
        if a.is_constant:
            np.testing.assert_array_equal(a.data, c.data)
    # stock interpreters run the full model unchanged
    shape = orig.tensors[orig.inputs[0]].shape
    for seed in range(3):
        x = tm.random_input(shape, seed)
        np.testing.assert_array_equal(golden.tflm_run(out, x), golden.tflm_run(model, x))
        np.testing.assert_array_equal(tm.run_litert(out, x), tm.run_litert(model, x))


def test_attach_replaces_existing_entry(model):
    g = graph.derive_groups(model)
    first = pack_blob(g.full_widths, g.members(), [{"macs": 3, "arena_bytes": 16, "widths": g.full_widths}])
    second = pack_blob(g.full_widths, g.members()[:2], [{"macs": 9, "arena_bytes": 32, "widths": g.full_widths}])
    twice = attach_metadata(attach_metadata(model, first), second)
    mt = tflite_io.unpack(twice)
    names = [m.name for m in mt.metadata]
    assert names.count(b"REDS") + names.count("REDS") == 1
    assert len(mt.buffers) == len(tflite_io.unpack(attach_metadata(model, first)).buffers)
    assert read_metadata(twice) == unpack_blob(second)
    assert read_metadata(metadata.remove_metadata(twice)) is None


def test_read_metadata_absent_and_corrupt(model):
    assert read_metadata(model) is None
    # a corrupt blob inside a model is reported by read_metadata
    g = graph.derive_groups(model)
    good = attach_metadata(model, pack_blob(g.full_widths, g.members(), [{"macs": 3, "arena_bytes": 16, "widths": g.full_widths}]))
    mt = tflite_io.unpack(good)
    entry = next(m for m in mt.metadata if m.name in (b"REDS", "REDS"))
    data = mt.buffers[entry.buffer].data.copy()
    data[40] ^= 0xFF
    mt.buffers[entry.buffer].data = data
    with pytest.raises(MetadataError, match="crc32"):
        read_metadata(tflite_io.pack(mt))


def test_garbage_model_is_a_format_error():
    with pytest.raises(ModelFormatError, match="file identifier"):
        tflite_io.load_model(b"\0" * 64)
    with pytest.raises(ModelFormatError, match="only 3 bytes"):
        tflite_io.load_model(b"abc")
    with pytest.raises(ModelFormatError):
        attach_metadata(b"\x10\0\0\0TFL3" + b"\xff" * 8, blob())
