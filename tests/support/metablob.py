"""Deliberately broken REDS metadata (docs/metadata.md) for the reader and runtime tests.

``recrc`` recomputes the header CRC after an edit, so the check behind the CRC is reached;
``with_blob`` / ``patch_blob`` put an edited blob into a model without the validation of
``reds.tflite.metadata.attach_metadata`` (which rejects bad blobs).
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

from reds.tflite import flatbuffer as tflite_io
from reds.tflite import metadata

_CRC_AT = 12  # header: "REDS" u16 version u16 header_bytes u32 total_bytes u32 crc32 ...
_CRC_FROM = 16  # crc32 covers bytes [16, total_bytes)


def recrc(blob) -> bytes:
    """``blob`` with its CRC recomputed over ``[16, total_bytes)`` (clamped to the blob);
    blobs shorter than the CRC field come back unchanged."""
    b = bytearray(blob)
    if len(b) >= _CRC_FROM:
        total = min(struct.unpack_from("<I", b, 8)[0], len(b))
        struct.pack_into("<I", b, _CRC_AT, zlib.crc32(bytes(b[_CRC_FROM:total])) & 0xFFFFFFFF)
    return bytes(b)


def blob_of(model: bytes) -> bytes:
    """The model's REDS blob (validated: read and packed again by reds.tflite.metadata)."""
    meta = metadata.read_metadata(model)
    return metadata.pack_blob(meta.full_widths, meta.members, meta.subnets)


def _entry(mt):
    name = metadata.METADATA_NAME
    return next(m for m in mt.metadata
                if (m.name.decode() if isinstance(m.name, bytes) else m.name) == name)


def with_blob(model: bytes, blob: bytes) -> bytes:
    """``model`` with the bytes of its REDS buffer replaced by ``blob``, unvalidated."""
    mt = tflite_io.unpack(model)
    mt.buffers[_entry(mt).buffer].data = np.frombuffer(bytes(blob), dtype=np.uint8).copy()
    return tflite_io.pack(mt)


def patch_blob(model: bytes, edit, fix_crc: bool = True) -> bytes:
    """``model`` with its REDS blob edited in place by ``edit(bytearray)``, the CRC recomputed
    unless ``fix_crc`` is false."""
    mt = tflite_io.unpack(model)
    buf = mt.buffers[_entry(mt).buffer]
    blob = bytearray(np.asarray(buf.data, dtype=np.uint8).tobytes())
    edit(blob)
    buf.data = np.frombuffer(recrc(blob) if fix_crc else bytes(blob), dtype=np.uint8).copy()
    return tflite_io.pack(mt)
