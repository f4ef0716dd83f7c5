"""The REDS metadata blob (docs/metadata.md, version 1): pack, unpack/validate, attach, read.

The blob lives in a ``Model.metadata`` entry named ``REDS``. Layout (little-endian)::

    header  32 bytes: "REDS" u16 version u16 header_bytes u32 total_bytes u32 crc32
                      u16 G u16 K u16 M u16 flags u32 subgraph u32 reserved
    groups   G x { u32 full_width }
    members  M x { u32 tensor_index; u16 axis; u16 group }
    subnets  K x { u32 macs; u32 arena_bytes; u32 width[G] }

``crc32`` is ``zlib.crc32`` of bytes ``[16, total_bytes)``.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from reds.tflite import flatbuffer as tflite_io
from reds.errors import MetadataError, ModelFormatError
from reds.tflite.flatbuffer import ModelLike, load_model

MAGIC = b"REDS"
VERSION = 1
HEADER_BYTES = 32
METADATA_NAME = "REDS"

_HEADER = struct.Struct("<4sHHII HHHH II")
assert _HEADER.size == HEADER_BYTES
_U32_MAX = 0xFFFFFFFF
_U16_MAX = 0xFFFF


@dataclass(frozen=True)
class Subnet:
    macs: int
    arena_bytes: int
    widths: tuple[int, ...]


@dataclass(frozen=True)
class RedsMetadata:
    full_widths: tuple[int, ...]  # per group
    members: tuple[tuple[int, int, int], ...]  # (tensor_index, axis, group)
    subnets: tuple[Subnet, ...]  # sorted by macs descending; subnet 0 is the largest
    version: int = VERSION
    subgraph: int = 0

    @property
    def num_groups(self) -> int:
        return len(self.full_widths)

    @property
    def num_subnets(self) -> int:
        return len(self.subnets)

    def widths(self, subnet: int) -> tuple[int, ...]:
        if not 0 <= subnet < len(self.subnets):
            raise MetadataError(f"subnet {subnet} out of range: the model has {len(self.subnets)}")
        return self.subnets[subnet].widths


def blob_size(num_groups: int, num_members: int, num_subnets: int) -> int:
    return HEADER_BYTES + 4 * num_groups + 8 * num_members + num_subnets * (8 + 4 * num_groups)


def _subnet(s, i: int) -> Subnet:
    if isinstance(s, Subnet):
        return s
    if isinstance(s, Mapping):
        try:
            return Subnet(int(s["macs"]), int(s["arena_bytes"]), tuple(int(w) for w in s["widths"]))
        except KeyError as e:
            raise MetadataError(f"subnets[{i}]: missing key {e.args[0]!r}") from None
    raise MetadataError(f"subnets[{i}]: expected a dict(macs, arena_bytes, widths), got {type(s).__name__}")


def _validate(meta: RedsMetadata) -> None:
    """Checks that need no model (docs/metadata.md "Validation")."""
    G, M, K = len(meta.full_widths), len(meta.members), len(meta.subnets)
    if G > _U16_MAX or M > _U16_MAX or K > _U16_MAX:
        raise MetadataError(f"num_groups/num_members/num_subnets ({G}/{M}/{K}) exceed u16")
    if K < 1:
        raise MetadataError("num_subnets: 0, at least 1 subnet is required")
    if meta.subgraph != 0:
        raise MetadataError(f"subgraph: {meta.subgraph}, only subgraph 0 is supported")
    for g, w in enumerate(meta.full_widths):
        if not 1 <= w <= _U32_MAX:
            raise MetadataError(f"groups[{g}].full_width: {w}, must be 1..{_U32_MAX}")
    seen = {}
    for i, (t, axis, g) in enumerate(meta.members):
        if not 0 <= t <= _U32_MAX:
            raise MetadataError(f"members[{i}].tensor_index: {t} out of range")
        if not 0 <= axis <= _U16_MAX:
            raise MetadataError(f"members[{i}].axis: {axis} out of range")
        if not 0 <= g < G:
            raise MetadataError(f"members[{i}].group: {g} out of range (num_groups {G})")
        if t in seen:
            raise MetadataError(f"members[{i}].tensor_index: tensor {t} already listed as members[{seen[t]}]")
        seen[t] = i
    for k, s in enumerate(meta.subnets):
        if len(s.widths) != G:
            raise MetadataError(f"subnets[{k}].width: {len(s.widths)} widths for {G} groups")
        if not 0 <= s.macs <= _U32_MAX:
            raise MetadataError(f"subnets[{k}].macs: {s.macs} does not fit u32")
        if not 0 <= s.arena_bytes <= _U32_MAX:
            raise MetadataError(f"subnets[{k}].arena_bytes: {s.arena_bytes} does not fit u32")
        for g, w in enumerate(s.widths):
            if not 1 <= w <= meta.full_widths[g]:
                raise MetadataError(
                    f"subnets[{k}].width[{g}]: {w}, must be 1..full_width {meta.full_widths[g]}"
                )
        if k:
            prev = meta.subnets[k - 1]
            for g, (a, b) in enumerate(zip(prev.widths, s.widths)):
                if b > a:
                    raise MetadataError(
                        f"subnets[{k}].width[{g}]: {b} > subnets[{k - 1}].width[{g}] {a}: "
                        "subnets are not nested"
                    )
            if s.macs > prev.macs:
                raise MetadataError(
                    f"subnets[{k}].macs: {s.macs} > subnets[{k - 1}].macs {prev.macs}: "
                    "subnets must be sorted by macs descending"
                )


def validate_against_model(meta: RedsMetadata, model: ModelLike) -> None:
    """Member checks that need the model: tensor/axis range, not constant, divisible dims."""
    m = load_model(model)
    n = len(m.tensors)
    for i, (t, axis, g) in enumerate(meta.members):
        if not 0 <= t < n:
            raise MetadataError(f"members[{i}].tensor_index: {t} out of range (model has {n} tensors)")
        tensor = m.tensors[t]
        if tensor.is_constant:
            raise MetadataError(f"members[{i}].tensor_index: tensor {t} '{tensor.name}' is constant")
        if not 0 <= axis < len(tensor.shape):
            raise MetadataError(
                f"members[{i}].axis: {axis} out of range for tensor {t} of rank {len(tensor.shape)}"
            )
        full = meta.full_widths[g]
        if tensor.shape[axis] % full:
            raise MetadataError(
                f"members[{i}]: tensor {t} '{tensor.name}' dim {axis} = {tensor.shape[axis]} is not a "
                f"multiple of groups[{g}].full_width {full}"
            )


def pack_blob(groups: Sequence[int], members: Sequence[Sequence[int]], subnets: Sequence) -> bytes:
    """Serialize a blob. ``groups``: full widths; ``members``: ``(tensor, axis, group)``;
    ``subnets``: ``dict(macs, arena_bytes, widths)`` (or ``Subnet``), largest first."""
    meta = RedsMetadata(
        tuple(int(w) for w in groups),
        tuple(tuple(int(v) for v in mem) for mem in members),  # type: ignore[misc]
        tuple(_subnet(s, i) for i, s in enumerate(subnets)),
    )
    for i, mem in enumerate(meta.members):
        if len(mem) != 3:
            raise MetadataError(f"members[{i}]: expected (tensor_index, axis, group), got {mem}")
    _validate(meta)
    G, M, K = meta.num_groups, len(meta.members), meta.num_subnets
    total = blob_size(G, M, K)
    body = bytearray()
    body += struct.pack(f"<{G}I", *meta.full_widths)
    for t, axis, g in meta.members:
        body += struct.pack("<IHH", t, axis, g)
    for s in meta.subnets:
        body += struct.pack(f"<II{G}I", s.macs, s.arena_bytes, *s.widths)
    tail = struct.pack("<HHHHII", G, K, M, 0, meta.subgraph, 0) + bytes(body)
    crc = zlib.crc32(tail) & _U32_MAX
    blob = struct.pack("<4sHHII", MAGIC, VERSION, HEADER_BYTES, total, crc) + tail
    assert len(blob) == total
    return blob


def unpack_blob(blob: bytes, model: ModelLike | None = None) -> RedsMetadata:
    """Parse and validate a blob; with ``model``, also check members against its tensors."""
    blob = bytes(blob)
    if len(blob) < HEADER_BYTES:
        raise MetadataError(f"truncated: {len(blob)} bytes, the header alone is {HEADER_BYTES}")
    (magic, version, header_bytes, total, crc, G, K, M, flags, subgraph, reserved) = _HEADER.unpack_from(
        blob, 0
    )
    if magic != MAGIC:
        raise MetadataError(f"magic: {magic!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise MetadataError(f"version: {version} unsupported (this toolkit reads version {VERSION})")
    if header_bytes != HEADER_BYTES:
        raise MetadataError(f"header_bytes: {header_bytes}, expected {HEADER_BYTES}")
    if total > len(blob):
        raise MetadataError(f"total_bytes: {total} larger than the {len(blob)}-byte buffer (truncated)")
    if total % 4:
        raise MetadataError(f"total_bytes: {total} is not a multiple of 4")
    expected = blob_size(G, M, K)
    if total != expected:
        raise MetadataError(
            f"total_bytes: {total} does not match {expected} computed from "
            f"num_groups {G}, num_members {M}, num_subnets {K}"
        )
    actual_crc = zlib.crc32(blob[16:total]) & _U32_MAX
    if crc != actual_crc:
        raise MetadataError(f"crc32: stored 0x{crc:08x}, computed 0x{actual_crc:08x}")
    if flags != 0:
        raise MetadataError(f"flags: 0x{flags:04x}, expected 0 (reserved)")
    if reserved != 0:
        raise MetadataError(f"reserved: {reserved}, expected 0")
    if K < 1:
        raise MetadataError("num_subnets: 0, at least 1 subnet is required")
    off = HEADER_BYTES
    full = struct.unpack_from(f"<{G}I", blob, off)
    off += 4 * G
    members = []
    for _ in range(M):
        members.append(struct.unpack_from("<IHH", blob, off))
        off += 8
    subnets = []
    for _ in range(K):
        vals = struct.unpack_from(f"<II{G}I", blob, off)
        off += 8 + 4 * G
        subnets.append(Subnet(vals[0], vals[1], tuple(vals[2:])))
    meta = RedsMetadata(tuple(full), tuple(members), tuple(subnets), version, subgraph)
    _validate(meta)
    if model is not None:
        validate_against_model(meta, model)
    return meta


def attach_metadata(model_bytes: bytes, blob: bytes) -> bytes:
    """Add (or replace) the ``REDS`` metadata entry; all buffers come out 16-byte aligned."""
    unpack_blob(blob, model_bytes)  # validate against this model before writing anything
    mt = tflite_io.unpack(model_bytes)
    data = np.frombuffer(bytes(blob), dtype=np.uint8).copy()
    existing = [m for m in (mt.metadata or []) if _str(m.name) == METADATA_NAME]
    if len(existing) > 1:
        raise ModelFormatError(f"model has {len(existing)} '{METADATA_NAME}' metadata entries")
    if mt.buffers is None:
        mt.buffers = [tflite_io.schema.BufferT()]
    if existing:
        entry = existing[0]
        if not 0 < entry.buffer < len(mt.buffers):
            raise ModelFormatError(f"'{METADATA_NAME}' metadata points at buffer {entry.buffer}, out of range")
        if _buffer_shared(mt, entry.buffer):
            raise ModelFormatError(f"'{METADATA_NAME}' metadata buffer {entry.buffer} is shared with a tensor")
        mt.buffers[entry.buffer].data = data
    else:
        buf = tflite_io.schema.BufferT()
        buf.data = data
        mt.buffers.append(buf)
        entry = tflite_io.schema.MetadataT()
        entry.name = METADATA_NAME
        entry.buffer = len(mt.buffers) - 1
        mt.metadata = list(mt.metadata or []) + [entry]
    return tflite_io.pack(mt)


def remove_metadata(model_bytes: bytes) -> bytes:
    """The model without its ``REDS`` entry (its buffer is emptied, indices stay valid)."""
    mt = tflite_io.unpack(model_bytes)
    strip_metadata(mt)
    return tflite_io.pack(mt)


def strip_metadata(mt) -> None:
    """Drop the ``REDS`` entry of a ``ModelT`` in place and empty its buffer."""
    keep = []
    for m in mt.metadata or []:
        if _str(m.name) == METADATA_NAME:
            if 0 < m.buffer < len(mt.buffers or []) and not _buffer_shared(mt, m.buffer):
                mt.buffers[m.buffer].data = None
        else:
            keep.append(m)
    mt.metadata = keep or None


def read_metadata(model_bytes: ModelLike) -> RedsMetadata | None:
    """The validated REDS metadata of a model, or None if it has no ``REDS`` entry."""
    m = load_model(model_bytes)
    blob = m.metadata.get(METADATA_NAME)
    if blob is None:
        return None
    return unpack_blob(blob, m)


def _str(s) -> str:
    return s.decode("utf-8", "replace") if isinstance(s, (bytes, bytearray)) else (s or "")


def _buffer_shared(mt, index: int) -> bool:
    for sg in mt.subgraphs or []:
        for t in sg.tensors or []:
            if t.buffer == index:
                return True
    return sum(1 for m in (mt.metadata or []) if m.buffer == index) > 1


__all__ = [
    "RedsMetadata",
    "Subnet",
    "attach_metadata",
    "blob_size",
    "pack_blob",
    "read_metadata",
    "remove_metadata",
    "strip_metadata",
    "unpack_blob",
    "validate_against_model",
]
