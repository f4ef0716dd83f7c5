"""Every check reds_init makes on a model: a valid model rewritten to break exactly one rule must
be refused with the expected status and an error text naming the problem (docs/robustness.md
lists these checks; each row of its table is a case here).

The bad models are made by editing a valid flatbuffer with the toolkit's reader/writer
(``reds.tflite.flatbuffer``), so each case breaks one rule and keeps the rest of the model valid."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from reds.tflite import flatbuffer as tflite_io
from reds.runtime.binding import RedsRuntimeError, Runtime
from metablob import patch_blob
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

# Operator indices of modelgen.residual (checked by test_residual_layout):
#  0 CONV_2D x -> a   1 CONV_2D a -> b   2 CONV_2D x -> c   3 ADD b,c -> s
#  4 DEPTHWISE s -> d 5 ADD s,d -> r     6 MAX_POOL_2D      7 RESHAPE   8 FULLY_CONNECTED -> y
RESIDUAL_OPS = ["CONV_2D", "CONV_2D", "CONV_2D", "ADD", "DEPTHWISE_CONV_2D", "ADD", "MAX_POOL_2D",
                "RESHAPE", "FULLY_CONNECTED"]


@pytest.fixture(scope="module")
def residual(tflite_model) -> bytes:
    return tflite_model("residual")


@pytest.fixture(scope="module")
def nested_residual(residual) -> bytes:
    from modelgen import nested

    return nested(residual)[0]


def init_error(model: bytes) -> tuple[str, str]:
    """(status name, error text) of reds_init on `model`; fails the test if init succeeds."""
    try:
        Runtime(model)
    except RedsRuntimeError as e:
        return e.name, e.message
    raise AssertionError("reds_init accepted the model")


def rewrite(model: bytes, edit) -> bytes:
    """`model` after `edit(model_t, subgraph_t)` on the flatbuffer object API."""
    mt = tflite_io.unpack(model)
    edit(mt, mt.subgraphs[0])
    return tflite_io.pack(mt)


def op_out(sg, i: int) -> int:
    return int(sg.operators[i].outputs[0])


def op_in(sg, i: int, j: int = 0) -> int:
    return int(sg.operators[i].inputs[j])


def set_out(sg, i: int, t: int) -> None:
    sg.operators[i].outputs = np.array([t], dtype=np.int32)


def set_in(sg, i: int, j: int, t: int) -> None:
    ins = np.array(sg.operators[i].inputs, dtype=np.int32)
    ins[j] = t
    sg.operators[i].inputs = ins


def add_tensor(sg, like: int) -> int:
    """Append a copy of tensor `like` (an activation with nothing writing it); returns its index."""
    import copy

    sg.tensors.append(copy.deepcopy(sg.tensors[like]))
    return len(sg.tensors) - 1


def test_residual_layout(residual):
    """The indices the cases below rely on."""
    m = tflite_io.load_model(residual)
    assert [op.op for op in m.operators] == RESIDUAL_OPS
    assert Runtime(residual).num_subnets == 1


def test_valid_models_still_load(residual, nested_residual, tflite_model):
    for data in (residual, nested_residual, tflite_model("conv_dw_gap"), tflite_model("float_io")):
        Runtime(data)


# ------------------------------------------------------------------------------ data flow

def _drop_last_op(mt, sg):
    sg.operators = sg.operators[:-1]


def _read_before_written(mt, sg):  # op 1 reads the ADD output s, written only by op 3
    set_in(sg, 1, 0, op_out(sg, 3))


def _read_never_written(mt, sg):  # op 2 reads a fresh activation tensor nothing writes
    set_in(sg, 2, 0, add_tensor(sg, op_out(sg, 2)))


def _write_own_input(mt, sg):  # the depthwise conv writes its own input s
    set_out(sg, 4, op_in(sg, 4))


def _two_writers(mt, sg):  # op 2 (reads x) writes a, already written by op 0
    set_out(sg, 2, op_out(sg, 0))


def _write_subgraph_input(mt, sg):  # op 1 (reads a) writes the subgraph input x
    set_out(sg, 1, int(sg.inputs[0]))


def _output_never_written(mt, sg):  # the subgraph output is a tensor no op writes
    sg.outputs = np.array([add_tensor(sg, int(sg.outputs[0]))], dtype=np.int32)


DATA_FLOW = [
    # (case, edit, expected substrings of the error text)
    ("op count lowered by one", _drop_last_op,
     ["subgraph output 0 (tensor 19) is never written by an op"]),
    ("op reads a tensor written only later", _read_before_written,
     ["op 1 (CONV_2D): reads tensor 14 before any op writes it"]),
    ("op reads a tensor nothing writes", _read_never_written,
     ["op 2 (CONV_2D): reads tensor 20 before any op writes it",
      "not a constant, not a subgraph input"]),
    ("op writes its own input", _write_own_input,
     ["op 4 (DEPTHWISE_CONV_2D): writes tensor 14, one of its own inputs"]),
    ("two ops write one tensor", _two_writers,
     ["op 2 (CONV_2D): writes tensor 11, already written by op 0"]),
    ("op writes a subgraph input", _write_subgraph_input,
     ["op 1 (CONV_2D): writes tensor 0, a subgraph input"]),
    ("subgraph output written by no op", _output_never_written,
     ["subgraph output 0 (tensor 20) is never written by an op"]),
]


@pytest.mark.parametrize("case,edit,texts", DATA_FLOW, ids=[c[0] for c in DATA_FLOW])
def test_data_flow_is_validated(residual, case, edit, texts):
    name, msg = init_error(rewrite(residual, edit))
    assert name == "REDS_ERR_MODEL", msg
    for t in texts:
        assert t in msg, f"{case}: {msg!r}"


# ------------------------------------------------------------------- flatbuffer structure

def _no_subgraph(mt, sg):
    mt.subgraphs = []


def _dynamic_dim(mt, sg):
    sg.tensors[0].shape = np.array([1, -1, 7, 3], dtype=np.int32)


def _huge_tensor(mt, sg):
    sg.tensors[0].shape = np.array([1, 65536, 65536, 3], dtype=np.int32)


def _buffer_index(mt, sg):
    sg.tensors[10].buffer = 9999


def _zero_point_range(mt, sg):
    sg.tensors[0].quantization.zeroPoint = np.array([1 << 40], dtype=np.int64)


def _zero_points_differ(mt, sg):
    q = sg.tensors[10].quantization  # per-channel conv weights
    zp = np.zeros(len(q.scale), dtype=np.int64)
    zp[1] = 3
    q.zeroPoint = zp


def _no_inputs(mt, sg):
    sg.inputs = np.array([], dtype=np.int32)


def _input_index(mt, sg):
    sg.inputs = np.array([999], dtype=np.int32)


def _no_outputs(mt, sg):
    sg.outputs = np.array([], dtype=np.int32)


def _no_operators(mt, sg):
    sg.operators = []


def _opcode_index(mt, sg):
    sg.operators[3].opcodeIndex = 99


def _tanh(mt, sg):
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = 28  # TANH
    mt.operatorCodes.append(code)
    sg.operators[6].opcodeIndex = len(mt.operatorCodes) - 1


def _four_inputs(mt, sg):
    sg.operators[0].inputs = np.array([0, 10, 6, 6], dtype=np.int32)


def _two_outputs(mt, sg):
    sg.operators[6].outputs = np.array([17, 18], dtype=np.int32)


def _op_tensor_index(mt, sg):
    set_in(sg, 3, 1, 500)


def _wrong_options(mt, sg):
    sg.operators[0].builtinOptionsType = schema.BuiltinOptions.FullyConnectedOptions
    sg.operators[0].builtinOptions = schema.FullyConnectedOptionsT()


def _shuffled_fc(mt, sg):
    sg.operators[8].builtinOptions.weightsFormat = 1


def _dilation(mt, sg):
    sg.operators[1].builtinOptions.dilationWFactor = 2


def _input_constant(mt, sg):
    sg.inputs = np.array([0, 10], dtype=np.int32)  # x and the conv weights


def _output_constant(mt, sg):
    sg.outputs = np.array([10], dtype=np.int32)


STRUCTURE = [
    ("no subgraph", _no_subgraph, "REDS_ERR_MODEL", "model has no subgraph"),
    ("dynamic dimension", _dynamic_dim, "REDS_ERR_SHAPE", "tensor 0 has a dimension below 1"),
    ("too many elements", _huge_tensor, "REDS_ERR_CAPACITY", "tensor 0 has too many elements"),
    ("buffer index out of range", _buffer_index, "REDS_ERR_MODEL", "buffer index 9999 out of range"),
    ("zero point beyond int32", _zero_point_range, "REDS_ERR_QUANT", "tensor 0 zero point out of int32 range"),
    ("per-channel zero points differ", _zero_points_differ, "REDS_ERR_QUANT",
     "tensor 10 has differing per-channel zero points"),
    ("no subgraph inputs", _no_inputs, "REDS_ERR_MODEL", "subgraph has no inputs"),
    ("input tensor index out of range", _input_index, "REDS_ERR_MODEL", "tensor index 999 out of range (20 tensors)"),
    ("no subgraph outputs", _no_outputs, "REDS_ERR_MODEL", "subgraph has no outputs"),
    ("no operators", _no_operators, "REDS_ERR_MODEL", "subgraph has no operators"),
    ("opcode index out of range", _opcode_index, "REDS_ERR_MODEL", "operator 3 has opcode index out of range"),
    ("unsupported operator", _tanh, "REDS_ERR_UNSUPPORTED_OP", "op 6 (TANH): not supported by the REDS runtime"),
    ("four operator inputs", _four_inputs, "REDS_ERR_UNSUPPORTED_OP", "op 0 (CONV_2D): too many inputs or outputs"),
    ("two operator outputs", _two_outputs, "REDS_ERR_UNSUPPORTED_OP",
     "op 6 (MAX_POOL_2D): operator must have exactly one output"),
    ("operator tensor index out of range", _op_tensor_index, "REDS_ERR_MODEL", "tensor index 500 out of range"),
    ("options of another op", _wrong_options, "REDS_ERR_MODEL", "op 0 (CONV_2D): builtin options of the wrong type"),
    ("shuffled FC weights", _shuffled_fc, "REDS_ERR_UNSUPPORTED_OP", "op 8 (FULLY_CONNECTED): shuffled weights format"),
    ("dilation", _dilation, "REDS_ERR_UNSUPPORTED_OP", "op 1 (CONV_2D): dilation other than 1"),
    ("constant subgraph input", _input_constant, "REDS_ERR_MODEL", "a subgraph input is a constant tensor"),
    ("constant subgraph output", _output_constant, "REDS_ERR_MODEL", "a subgraph output is a constant tensor"),
]


@pytest.mark.parametrize("case,edit,status,text", STRUCTURE, ids=[c[0] for c in STRUCTURE])
def test_structure_is_validated(residual, case, edit, status, text):
    name, msg = init_error(rewrite(residual, edit))
    assert (name, text in msg) == (status, True), f"{case}: {name} {msg!r}"


def test_short_and_foreign_files(residual):
    assert init_error(residual[:7]) == ("REDS_ERR_TRUNCATED", "model shorter than 8 bytes")
    name, msg = init_error(residual[:4] + b"XXXX" + residual[8:])
    assert name == "REDS_ERR_MODEL" and "file identifier is not TFL3" in msg


# ------------------------------------------------------------------------- REDS metadata

def _u16(off, v):
    return lambda b: struct.pack_into("<H", b, off, v)


def _u32(off, v):
    return lambda b: struct.pack_into("<I", b, off, v)


def _header(b):
    return dict(zip(("G", "K", "M"), struct.unpack_from("<HHH", b, 16)))


def _member(i, field, v):  # field: 0 tensor (u32), 4 axis (u16), 6 group (u16)
    def edit(b):
        off = 32 + 4 * _header(b)["G"] + 8 * i + field
        struct.pack_into("<I" if field == 0 else "<H", b, off, v)
    return edit


def _width(k, g, v):
    def edit(b):
        h = _header(b)
        struct.pack_into("<I", b, 32 + 4 * h["G"] + 8 * h["M"] + k * (8 + 4 * h["G"]) + 8 + 4 * g, v)
    return edit


def _full_width(g, v):
    return lambda b: struct.pack_into("<I", b, 32 + 4 * g, v)


def _second_member_is_first(b):
    off = 32 + 4 * _header(b)["G"]
    b[off + 8:off + 16] = b[off:off + 8]


METADATA = [
    ("blob shorter than its header", lambda b: b.__delitem__(slice(20, None)), "REDS_ERR_METADATA",
     "REDS blob has 20 bytes, less than its 32-byte header"),
    ("magic", lambda b: b.__setitem__(slice(0, 4), b"XXXX"), "REDS_ERR_METADATA", "REDS blob magic is not"),
    ("version", _u16(4, 2), "REDS_ERR_VERSION", "REDS metadata version 2 not supported"),
    ("header size", _u16(6, 36), "REDS_ERR_METADATA", "REDS header_bytes is not 32"),
    ("total_bytes beyond the buffer", _u32(8, 1 << 20), "REDS_ERR_METADATA", "REDS total_bytes 1048576 invalid"),
    ("total_bytes disagrees with the tables", _u16(20, 1), "REDS_ERR_METADATA", "does not match the table sizes"),
    ("subgraph other than 0", _u32(24, 1), "REDS_ERR_METADATA", "REDS subgraph is not 0"),
    ("full width 0", _full_width(0, 0), "REDS_ERR_METADATA", "REDS group 0 has full width 0"),
    ("member tensor missing", _member(0, 0, 999), "REDS_ERR_METADATA", "REDS member 0 names tensor 999"),
    ("member is a constant", _member(0, 0, 10), "REDS_ERR_METADATA", "REDS member 0 names constant tensor 10"),
    ("member axis", _member(0, 4, 9), "REDS_ERR_METADATA", "REDS member 0 axis 9 out of range"),
    ("member group", _member(0, 6, 99), "REDS_ERR_METADATA", "REDS member 0 group 99 out of range"),
    ("tensor listed twice", _second_member_is_first, "REDS_ERR_METADATA", "is listed twice"),
    ("width 0", _width(0, 0, 0), "REDS_ERR_METADATA", "REDS subnet 0 has a width out of range in group 0"),
    ("width above the full width", _width(1, 0, 10_000), "REDS_ERR_METADATA",
     "REDS subnet 1 has a width out of range in group 0"),
    ("subnets not nested", _width(0, 0, 1), "REDS_ERR_METADATA",
     "REDS subnets not nested: subnet 1 is wider than the previous one in group 0"),
]


@pytest.mark.parametrize("case,edit,status,text", METADATA, ids=[c[0] for c in METADATA])
def test_metadata_is_validated(nested_residual, case, edit, status, text):
    name, msg = init_error(patch_blob(nested_residual, edit))
    assert (name, text in msg) == (status, True), f"{case}: {name} {msg!r}"


def test_metadata_crc(nested_residual):
    bad = patch_blob(nested_residual, _u32(12, 0x12345678), fix_crc=False)
    name, msg = init_error(bad)
    assert name == "REDS_ERR_CRC" and "REDS CRC-32 mismatch: stored 305419896" in msg


# ------------------------------------------------------------------ operator preparation

@pytest.fixture(scope="module")
def conv_dw_gap(tflite_model) -> bytes:
    return tflite_model("conv_dw_gap")


@pytest.fixture(scope="module")
def float_io(tflite_model) -> bytes:
    return tflite_model("float_io")


# modelgen.conv_dw_gap: 0 CONV_2D (in 0, filter 8, bias 7) -> 9; 1 DEPTHWISE (9, 6, 5) -> 10;
# 2 CONV_2D 1x1 (10, 4, 3) -> 11; 3 MEAN (11, axes 1) -> 12; 4 FULLY_CONNECTED (12, 2) -> 13;
# 5 SOFTMAX 13 -> 14.  float_io: 0 QUANTIZE 0 -> 9, the same ops, 7 DEQUANTIZE 15 -> 16.

def _t(sg, i):
    return sg.tensors[i]


def _shape(i, *dims):
    def edit(mt, sg):
        _t(sg, i).shape = np.array(dims, dtype=np.int32)
    return edit


def _type(i, code):
    def edit(mt, sg):
        _t(sg, i).type = code
    return edit


def _opt(op, **values):
    def edit(mt, sg):
        for k, v in values.items():
            setattr(sg.operators[op].builtinOptions, k, v)
    return edit


def _inputs(op, *ts):
    def edit(mt, sg):
        sg.operators[op].inputs = np.array(ts, dtype=np.int32)
    return edit


def _scales(i, fn):
    def edit(mt, sg):
        q = _t(sg, i).quantization
        q.scale = np.asarray(fn(np.array(q.scale, dtype=np.float32)), dtype=np.float32)
        if q.zeroPoint is not None and len(q.zeroPoint) != len(q.scale):
            q.zeroPoint = np.zeros(len(q.scale), dtype=np.int64)
    return edit


def _zero_points(i, v):
    def edit(mt, sg):
        q = _t(sg, i).quantization
        q.zeroPoint = np.full(len(q.zeroPoint), v, dtype=np.int64)
    return edit


def _short_buffer(i, n):
    def edit(mt, sg):
        b = mt.buffers[_t(sg, i).buffer]
        b.data = np.array(b.data[:n], dtype=np.uint8)
    return edit


def _axes(*axes):
    def edit(mt, sg):
        mt.buffers[_t(sg, 1).buffer].data = np.frombuffer(np.array(axes, dtype="<i4").tobytes(), np.uint8).copy()
    return edit


UINT8, INT16, INT8 = 3, 7, 9
PREPARE = [
    # (model, case, edit, status, text)
    ("conv_dw_gap", "constant activation", _inputs(3, 3, 1), "REDS_ERR_UNSUPPORTED_OP",
     "op 3 (MEAN): constant activation input or output"),
    ("conv_dw_gap", "activation without scale", _scales(9, lambda s: s * 0), "REDS_ERR_QUANT",
     "op 0 (CONV_2D): int8 activation without a valid scale / zero point"),
    ("conv_dw_gap", "input type", _type(0, UINT8), "REDS_ERR_UNSUPPORTED_OP", "op 0 (CONV_2D): input type (int8 only)"),
    ("conv_dw_gap", "weights not constant", _inputs(0, 0, 0, 7), "REDS_ERR_UNSUPPORTED_OP",
     "op 0 (CONV_2D): weights must be constant int8"),
    ("conv_dw_gap", "weight buffer short", _short_buffer(8, 10), "REDS_ERR_TRUNCATED",
     "op 0 (CONV_2D): weight buffer too short"),
    ("conv_dw_gap", "weight zero point", _zero_points(8, 1), "REDS_ERR_QUANT", "op 0 (CONV_2D): weight zero point is not 0"),
    ("conv_dw_gap", "bias not int32", _inputs(0, 0, 8, 8), "REDS_ERR_UNSUPPORTED_OP",
     "op 0 (CONV_2D): bias must be constant int32"),
    ("conv_dw_gap", "bias length", _shape(7, 12), "REDS_ERR_SHAPE", "op 0 (CONV_2D): bias length differs from outputs"),
    ("conv_dw_gap", "filter rank", _shape(8, 13, 3, 9), "REDS_ERR_SHAPE", "op 0 (CONV_2D): filter must be 4-D"),
    ("conv_dw_gap", "stride disagrees with shapes", _opt(0, strideW=1), "REDS_ERR_SHAPE",
     "op 0 (CONV_2D): output size does not match padding / stride"),
    ("conv_dw_gap", "stride 0", _opt(0, strideH=0), "REDS_ERR_UNSUPPORTED_OP", "op 0 (CONV_2D): stride below 1"),
    ("conv_dw_gap", "filter channels", _shape(4, 7, 1, 1, 12), "REDS_ERR_SHAPE",
     "op 2 (CONV_2D): filter [O,kh,kw,I] does not match input/output channels"),
    ("conv_dw_gap", "depth multiplier", _shape(6, 1, 3, 3, 12), "REDS_ERR_UNSUPPORTED_OP",
     "op 1 (DEPTHWISE_CONV_2D): depth multiplier other than 1"),
    ("conv_dw_gap", "fused TANH", _opt(0, fusedActivationFunction=4), "REDS_ERR_UNSUPPORTED_OP",
     "op 0 (CONV_2D): fused activation (supported: NONE, RELU, RELU_N1_TO_1, RELU6)"),
    ("conv_dw_gap", "weight scale count", _scales(8, lambda s: s[:2]), "REDS_ERR_QUANT",
     "op 0 (CONV_2D): weight scales count differs from outputs"),
    ("conv_dw_gap", "weight scale 0", _scales(8, lambda s: np.where(np.arange(len(s)) == 3, 0, s)), "REDS_ERR_QUANT",
     "op 0 (CONV_2D): weight scale not positive and finite"),
    ("conv_dw_gap", "mean axis type", _type(1, INT8), "REDS_ERR_UNSUPPORTED_OP",
     "op 3 (MEAN): axis must be a constant int32 pair"),
    ("conv_dw_gap", "mean over C", _axes(1, 3), "REDS_ERR_UNSUPPORTED_OP",
     "op 3 (MEAN): only the mean over H and W of a 4-D input"),
    ("conv_dw_gap", "mean keep_dims", _opt(3, keepDims=True), "REDS_ERR_SHAPE",
     "op 3 (MEAN): output shape does not match keep_dims"),
    ("conv_dw_gap", "FC weights rank", _shape(2, 5, 7, 1), "REDS_ERR_SHAPE", "op 4 (FULLY_CONNECTED): weights must be 2-D [O, I]"),
    ("conv_dw_gap", "FC sizes", _shape(2, 5, 6), "REDS_ERR_SHAPE",
     "op 4 (FULLY_CONNECTED): input/output sizes do not match weights [O, I]"),
    ("conv_dw_gap", "softmax output quantization", _scales(14, lambda s: s * 2), "REDS_ERR_QUANT",
     "op 5 (SOFTMAX): int8 output must have scale 1/256, zero point -128"),
    ("conv_dw_gap", "softmax shapes", _shape(14, 1, 6), "REDS_ERR_SHAPE", "op 5 (SOFTMAX): input and output shapes differ"),
    ("float_io", "quantize input type", _type(0, INT16), "REDS_ERR_UNSUPPORTED_OP",
     "op 0 (QUANTIZE): input type (float32 -> int8 only)"),
    ("float_io", "quantize element count", _shape(9, 1, 9, 9, 2), "REDS_ERR_SHAPE", "op 0 (QUANTIZE): element counts differ"),
    ("residual", "ADD shapes", _inputs(3, 12, 0), "REDS_ERR_UNSUPPORTED_OP", "op 3 (ADD): broadcasting ADD (shapes differ)"),
    ("residual", "ADD one input", _inputs(3, 12), "REDS_ERR_MODEL", "op 3 (ADD): missing second input"),
    ("residual", "no input", _inputs(6), "REDS_ERR_MODEL", "op 6 (MAX_POOL_2D): missing input"),
    ("residual", "pool channels", _shape(17, 1, 3, 3, 12), "REDS_ERR_SHAPE", "op 6 (MAX_POOL_2D): channels differ"),
    ("residual", "reshape element count", _shape(18, 1, 118), "REDS_ERR_SHAPE", "op 7 (RESHAPE): element counts differ"),
]


@pytest.mark.parametrize("model,case,edit,status,text", PREPARE, ids=[c[1] for c in PREPARE])
def test_operators_are_validated(request, model, case, edit, status, text):
    name, msg = init_error(rewrite(request.getfixturevalue(model), edit))
    assert (name, text in msg) == (status, True), f"{case}: {name} {msg!r}"


def _subnet_field(k, field, v):  # field 0: macs, 4: arena_bytes
    def edit(b):
        h = _header(b)
        struct.pack_into("<I", b, 32 + 4 * h["G"] + 8 * h["M"] + k * (8 + 4 * h["G"]) + field, v)
    return edit


def test_metadata_numbers_are_checked(nested_residual):
    name, msg = init_error(patch_blob(nested_residual, _subnet_field(0, 0, 12345)))
    assert name == "REDS_ERR_METADATA" and "REDS metadata says macs=12345 but the runtime counts macs=" in msg
    name, msg = init_error(patch_blob(nested_residual, _subnet_field(0, 4, 16)))
    assert name == "REDS_ERR_METADATA" and "REDS metadata says arena_bytes=16" in msg


def test_arena_too_small(residual):
    with pytest.raises(RedsRuntimeError) as e:
        Runtime(residual, arena_bytes=64)
    assert e.value.name == "REDS_ERR_ARENA" and "arena too small" in e.value.message
