"""Read and write TFLite flatbuffers.

``load_model(bytes)`` gives a small, friendly, read-only view of subgraph 0 (tensors, operators,
options, metadata). Edits go through the flatbuffer object API: ``unpack(bytes) -> ModelT``, change
it, then ``pack(ModelT) -> bytes``. ``pack`` writes every buffer's data 16-byte aligned (the
schema's ``force_align: 16``, which the generated Python object API ignores), so weights stay
aligned for the C runtime and TFLM after any re-packing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

import flatbuffers
import numpy as np

from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from reds.errors import ModelFormatError, UserError

FILE_IDENTIFIER = b"TFL3"
BUFFER_ALIGN = 16

_TENSOR_TYPES = {
    v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")
}
#: TFLite TensorType name -> numpy dtype (types the toolkit can hold data for).
NUMPY_DTYPES = {
    "FLOAT32": np.float32,
    "FLOAT16": np.float16,
    "FLOAT64": np.float64,
    "INT8": np.int8,
    "UINT8": np.uint8,
    "INT16": np.int16,
    "UINT16": np.uint16,
    "INT32": np.int32,
    "UINT32": np.uint32,
    "INT64": np.int64,
    "UINT64": np.uint64,
    "BOOL": np.bool_,
}
_OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_PADDING = {v: k for k, v in vars(schema.Padding).items() if not k.startswith("_")}
_ACTIVATION = {
    v: k for k, v in vars(schema.ActivationFunctionType).items() if not k.startswith("_")
}


@dataclass(frozen=True)
class Quantization:
    """Affine quantization: ``real = scale * (q - zero_point)``; per-channel along ``axis``."""

    scale: np.ndarray  # float32, 1 value (per tensor) or one per channel
    zero_point: np.ndarray  # int64, same length as scale
    axis: int  # quantized_dimension

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str  # TFLite type name: "INT8", "INT32", "FLOAT32", ...
    quantization: Quantization | None
    buffer: int
    data: np.ndarray | None  # constant data, shaped and typed; None for activations
    is_variable: bool = False

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def itemsize(self) -> int:
        np_dtype = NUMPY_DTYPES.get(self.dtype)
        if np_dtype is None:
            raise ModelFormatError(f"tensor {self.index} '{self.name}': unsupported type {self.dtype}")
        return np.dtype(np_dtype).itemsize

    @property
    def num_elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1


@dataclass(frozen=True)
class Operator:
    index: int
    op: str  # builtin operator name, "CONV_2D"; custom ops are "CUSTOM:<code>"
    inputs: tuple[int, ...]  # tensor indices, -1 for an omitted optional input
    outputs: tuple[int, ...]
    options: dict  # snake_case option names; padding/fused_activation_function as names
    version: int = 1


@dataclass
class Model:
    """Subgraph 0 of a TFLite model, plus the model-level metadata entries."""

    tensors: list[Tensor]
    operators: list[Operator]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    metadata: dict[str, bytes]  # Model.metadata name -> bytes of its buffer
    num_subgraphs: int = 1
    raw: bytes = b""
    _consumers: dict = field(default=None, repr=False)  # type: ignore[assignment]
    _producer: dict = field(default=None, repr=False)  # type: ignore[assignment]

    def consumers(self, tensor: int) -> list[Operator]:
        """Operators reading ``tensor``, in execution order."""
        if self._consumers is None:
            self._index()
        return self._consumers.get(tensor, [])

    def producer(self, tensor: int) -> Operator | None:
        """The operator writing ``tensor`` (None for inputs and constants)."""
        if self._producer is None:
            self._index()
        return self._producer.get(tensor)

    def _index(self) -> None:
        self._consumers, self._producer = {}, {}
        for op in self.operators:
            for t in op.inputs:
                if t >= 0:
                    self._consumers.setdefault(t, []).append(op)
            for t in op.outputs:
                self._producer[t] = op


ModelLike = Union[bytes, bytearray, memoryview, Model]


# --------------------------------------------------------------------------- reading


def _check_identifier(data: bytes) -> None:
    if len(data) < 8:
        raise ModelFormatError(f"not a TFLite model: only {len(data)} bytes")
    if bytes(data[4:8]) != FILE_IDENTIFIER:
        raise ModelFormatError(
            f"not a TFLite model: file identifier {bytes(data[4:8])!r}, expected {FILE_IDENTIFIER!r}"
        )


def read_model_file(path) -> bytes:
    """The bytes of a .tflite file, checked enough to fail early with a clear message.

    ``UserError`` if the file is missing, a directory or unreadable; ``ModelFormatError`` if it
    is empty, has no ``TFL3`` identifier, or is truncated (the flatbuffer does not parse).
    """
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        raise UserError(f"model file {str(p)!r} does not exist")
    if p.is_dir():
        raise UserError(f"model file {str(p)!r} is a directory, expected a .tflite file")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read model file {str(p)!r}: {e.strerror or e}") from None
    if not data:
        raise ModelFormatError(f"model file {str(p)!r} is empty")
    try:
        load_model(data)
    except ModelFormatError as e:
        what = "is truncated or corrupt" if str(e).startswith("corrupt") else "is not usable"
        raise ModelFormatError(f"model file {str(p)!r} ({len(data)} bytes) {what}: {e}") from None
    return data


def unpack(data: bytes) -> "schema.ModelT":
    """Parse a .tflite into the flatbuffer object API (``schema.ModelT``) for editing."""
    data = bytes(data)
    _check_identifier(data)
    try:
        model = schema.ModelT.InitFromPackedBuf(data, 0)
    except Exception as e:  # flatbuffers raises assorted errors on garbage
        raise ModelFormatError(f"corrupt TFLite flatbuffer: {type(e).__name__}: {e}") from e
    if not model.subgraphs:
        raise ModelFormatError("TFLite model has no subgraph")
    return model


def _name(s) -> str:
    if s is None:
        return ""
    return s.decode("utf-8", "replace") if isinstance(s, (bytes, bytearray)) else str(s)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _options(obj) -> dict:
    if obj is None:
        return {}
    out = {}
    for key, value in vars(obj).items():
        k = _snake(key)
        if k == "padding":
            value = _PADDING.get(value, value)
        elif k == "fused_activation_function":
            value = _ACTIVATION.get(value, value)
        elif isinstance(value, np.ndarray):
            value = [v.item() for v in value]
        elif isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        out[k] = value
    return out


def op_name(model_t, opcode_index: int) -> str:
    codes = model_t.operatorCodes or []
    if not 0 <= opcode_index < len(codes):
        raise ModelFormatError(f"operator code index {opcode_index} out of range ({len(codes)} codes)")
    code = codes[opcode_index]
    builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
    name = _OP_NAMES.get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
        return f"CUSTOM:{_name(code.customCode)}"
    return name


def _ints(v) -> tuple[int, ...]:
    return tuple(int(x) for x in v) if v is not None else ()


def load_model(data: ModelLike) -> Model:
    """Parse ``data`` (bytes of a .tflite) into a ``Model``; a ``Model`` is returned as is."""
    if isinstance(data, Model):
        return data
    raw = bytes(data)
    mt = unpack(raw)
    sg = mt.subgraphs[0]
    buffers = mt.buffers or []
    tensors: list[Tensor] = []
    for i, t in enumerate(sg.tensors or []):
        name = _name(t.name)
        where = f"tensor {i} '{name}'"
        tname = _TENSOR_TYPES.get(t.type, f"TYPE_{t.type}")
        shape = _ints(t.shape)
        if any(d < 0 for d in shape):
            raise ModelFormatError(f"{where}: dynamic shape {list(shape)} (export with a fixed batch)")
        if not 0 <= t.buffer < max(len(buffers), 1):
            raise ModelFormatError(f"{where}: buffer index {t.buffer} out of range ({len(buffers)} buffers)")
        arr = None
        if t.buffer > 0:
            buf = buffers[t.buffer]
            if buf.offset and buf.offset > 1:
                raise ModelFormatError(f"{where}: external buffer data (offset {buf.offset}) not supported")
            if buf.data is not None and len(buf.data) > 0:
                np_dtype = NUMPY_DTYPES.get(tname)
                if np_dtype is None:
                    raise ModelFormatError(f"{where}: constant of unsupported type {tname}")
                raw_bytes = np.asarray(buf.data, dtype=np.uint8).tobytes()
                count = int(np.prod(shape, dtype=np.int64)) if shape else 1
                need = count * np.dtype(np_dtype).itemsize
                if len(raw_bytes) != need:
                    raise ModelFormatError(
                        f"{where}: buffer {t.buffer} holds {len(raw_bytes)} bytes, shape {list(shape)} "
                        f"of {tname} needs {need}"
                    )
                arr = np.frombuffer(raw_bytes, dtype=np.dtype(np_dtype).newbyteorder("<")).astype(np_dtype)
                arr = arr.reshape(shape)
                arr.setflags(write=False)
        q = None
        if t.quantization is not None and t.quantization.scale is not None and len(t.quantization.scale):
            scale = np.asarray(t.quantization.scale, dtype=np.float32)
            zp = (
                np.asarray(t.quantization.zeroPoint, dtype=np.int64)
                if t.quantization.zeroPoint is not None
                else np.zeros(scale.shape, np.int64)
            )
            q = Quantization(scale, zp, int(t.quantization.quantizedDimension))
        tensors.append(Tensor(i, name, shape, tname, q, int(t.buffer), arr, bool(t.isVariable)))

    n = len(tensors)
    operators: list[Operator] = []
    for i, o in enumerate(sg.operators or []):
        name = op_name(mt, o.opcodeIndex)
        ins, outs = _ints(o.inputs), _ints(o.outputs)
        for t in ins + outs:
            if not -1 <= t < n:
                raise ModelFormatError(f"operator {i} ({name}): tensor index {t} out of range ({n} tensors)")
        code = mt.operatorCodes[o.opcodeIndex]
        operators.append(Operator(i, name, ins, outs, _options(o.builtinOptions), int(code.version)))

    metadata = {}
    for m in mt.metadata or []:
        if not 0 <= m.buffer < len(buffers):
            raise ModelFormatError(f"metadata '{_name(m.name)}': buffer {m.buffer} out of range")
        d = buffers[m.buffer].data
        metadata[_name(m.name)] = np.asarray(d, dtype=np.uint8).tobytes() if d is not None else b""

    for t in _ints(sg.inputs) + _ints(sg.outputs):
        if not 0 <= t < n:
            raise ModelFormatError(f"subgraph input/output tensor {t} out of range ({n} tensors)")
    return Model(
        tensors, operators, _ints(sg.inputs), _ints(sg.outputs), metadata, len(mt.subgraphs), raw
    )


# --------------------------------------------------------------------------- writing


class _AlignedBufferT(schema.BufferT):
    """``BufferT`` whose data vector starts on a 16-byte boundary of the finished file."""

    def Pack(self, builder):
        data = None
        if self.data is not None:
            payload = np.asarray(self.data, dtype=np.uint8).tobytes()
            builder.StartVector(1, len(payload), BUFFER_ALIGN)
            builder.head -= len(payload)
            builder.Bytes[builder.head : builder.head + len(payload)] = payload
            data = builder.EndVector()
        schema.BufferStart(builder)
        if data is not None:
            schema.BufferAddData(builder, data)
        schema.BufferAddOffset(builder, self.offset)
        schema.BufferAddSize(builder, self.size)
        return schema.BufferEnd(builder)


def pack(model_t) -> bytes:
    """Serialize a ``schema.ModelT`` with identifier ``TFL3``; every buffer's data 16-aligned."""
    buffers = model_t.buffers
    if buffers:
        model_t.buffers = [
            b if b is None or isinstance(b, _AlignedBufferT) else _retype(b) for b in buffers
        ]
    try:
        builder = flatbuffers.Builder(1024)
        root = model_t.Pack(builder)
        builder.Finish(root, file_identifier=FILE_IDENTIFIER)
    finally:
        model_t.buffers = buffers
    return bytes(builder.Output())


def _retype(b) -> _AlignedBufferT:
    a = _AlignedBufferT()
    a.data, a.offset, a.size = b.data, b.offset, b.size
    return a


def realign(data: bytes) -> bytes:
    """Re-pack ``data`` so that every buffer's data starts 16-byte aligned."""
    return pack(unpack(data))


def buffer_data_offsets(data: bytes) -> list[tuple[int, int, int]]:
    """``(buffer index, file offset of its data, length)`` for every non-empty buffer."""
    data = bytes(data)
    _check_identifier(data)
    model = schema.Model.GetRootAs(data, 0)
    out = []
    for i in range(model.BuffersLength()):
        buf = model.Buffers(i)
        o = flatbuffers.number_types.UOffsetTFlags.py_type(buf._tab.Offset(4))
        if o != 0 and buf.DataLength() > 0:
            out.append((i, buf._tab.Vector(o), buf.DataLength()))
    return out


def element_size(dtype: str) -> int:
    """Bytes per element of a TFLite type name ("INT8" -> 1)."""
    np_dtype = NUMPY_DTYPES.get(dtype)
    if np_dtype is None:
        raise ModelFormatError(f"unsupported tensor type {dtype}")
    return np.dtype(np_dtype).itemsize


def tensor_bytes(arr: np.ndarray) -> np.ndarray:
    """Little-endian raw bytes of ``arr`` as a uint8 vector (for ``BufferT.data``)."""
    a = np.ascontiguousarray(arr)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return np.frombuffer(a.tobytes(), dtype=np.uint8).copy()


__all__ = [
    "Model",
    "Operator",
    "Quantization",
    "Tensor",
    "buffer_data_offsets",
    "element_size",
    "load_model",
    "op_name",
    "pack",
    "read_model_file",
    "realign",
    "schema",
    "tensor_bytes",
    "unpack",
]
