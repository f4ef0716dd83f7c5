"""ctypes binding to the REDS C runtime (``boards/runtime``) for the host.

The shared library is built on demand from the runtime sources with the system ``gcc``
(``-std=c99 -O2 -fPIC -shared -Wall -Wextra -Werror``) and cached under ``build/host/`` of the
repository, keyed by a hash of the sources and flags, so edits to the C code rebuild it.

    rt = Runtime(model_bytes)              # arena sized for the widest subnet
    rt.select(2)                           # O(1) switch
    y = rt.invoke(x)                       # one sample, dtype of the model input
    rt.time_per_inference_ns(x, repeat=50) # timed in C with clock_gettime
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from reds.errors import RedsError
from reds.runtime.sources import REPO_ROOT, RUNTIME_DIR, WARNINGS, host_sources, include_flags

BUILD_DIR = REPO_ROOT / "build" / "host"
CFLAGS = [*WARNINGS, "-O2", "-fPIC", "-shared"]

# TFLite TensorType -> numpy dtype (types the runtime moves through its inputs/outputs)
_DTYPES = {0: np.float32, 2: np.int32, 3: np.uint8, 7: np.int16, 9: np.int8}


class RedsRuntimeError(RedsError):
    """A REDS runtime call failed: ``code`` (negative status), ``name`` and the runtime's text."""

    def __init__(self, code: int, name: str, message: str):
        self.code = code
        self.name = name
        self.message = message
        super().__init__(f"{name} ({code}): {message}")


def _source_hash(extra_flags: list[str]) -> str:
    h = hashlib.sha256()
    h.update(" ".join(CFLAGS + extra_flags).encode())
    headers = sorted(RUNTIME_DIR.rglob("*.h"))
    for path in host_sources() + headers:
        h.update(str(path.relative_to(RUNTIME_DIR)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def build_library(extra_flags: list[str] | None = None) -> Path:
    """Compile (if not cached) and return the path of the host shared library."""
    extra = list(extra_flags or [])
    out = BUILD_DIR / f"libreds_{_source_hash(extra)}.so"
    if out.exists():
        return out
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=BUILD_DIR)
    os.close(fd)
    cmd = ["gcc", *CFLAGS, *extra, *include_flags(), *map(str, host_sources()), "-o", tmp]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        os.unlink(tmp)
        raise RedsRuntimeError(-1, "BUILD", f"gcc failed:\n{proc.stderr}")
    os.replace(tmp, out)  # atomic: concurrent builders never see a partial file
    return out


_LIB: ctypes.CDLL | None = None


def load_library() -> ctypes.CDLL:
    global _LIB
    if _LIB is not None:
        return _LIB
    lib = ctypes.CDLL(str(build_library()))
    c = ctypes
    sigs = {
        "reds_ctx_size": (c.c_size_t, []),
        "reds_init": (c.c_int, [c.c_void_p, c.c_void_p, c.c_size_t, c.c_void_p, c.c_size_t]),
        "reds_select": (c.c_int, [c.c_void_p, c.c_uint32]),
        "reds_invoke": (c.c_int, [c.c_void_p]),
        "reds_num_subnets": (c.c_uint32, [c.c_void_p]),
        "reds_active_subnet": (c.c_uint32, [c.c_void_p]),
        "reds_num_groups": (c.c_uint32, [c.c_void_p]),
        "reds_group_width": (c.c_uint32, [c.c_void_p, c.c_uint32, c.c_uint32]),
        "reds_group_full_width": (c.c_uint32, [c.c_void_p, c.c_uint32]),
        "reds_subnet_macs": (c.c_uint64, [c.c_void_p, c.c_uint32]),
        "reds_subnet_arena_bytes": (c.c_size_t, [c.c_void_p, c.c_uint32]),
        "reds_max_arena_bytes": (c.c_size_t, [c.c_void_p]),
        "reds_arena_used_bytes": (c.c_size_t, [c.c_void_p]),
        "reds_persistent_bytes": (c.c_size_t, [c.c_void_p]),
        "reds_arena_bytes_needed": (
            c.c_int,
            [c.c_void_p, c.c_size_t, c.c_void_p, c.c_size_t, c.POINTER(c.c_size_t)],
        ),
        "reds_num_inputs": (c.c_uint32, [c.c_void_p]),
        "reds_num_outputs": (c.c_uint32, [c.c_void_p]),
        "reds_input_data": (c.c_void_p, [c.c_void_p, c.c_uint32]),
        "reds_output_data": (c.c_void_p, [c.c_void_p, c.c_uint32]),
        "reds_input_bytes": (c.c_size_t, [c.c_void_p, c.c_uint32]),
        "reds_output_bytes": (c.c_size_t, [c.c_void_p, c.c_uint32]),
        "reds_input_type": (c.c_int, [c.c_void_p, c.c_uint32]),
        "reds_output_type": (c.c_int, [c.c_void_p, c.c_uint32]),
        "reds_input_shape": (c.c_int, [c.c_void_p, c.c_uint32, c.POINTER(c.c_int32), c.c_int]),
        "reds_output_shape": (c.c_int, [c.c_void_p, c.c_uint32, c.POINTER(c.c_int32), c.c_int]),
        "reds_last_error": (c.c_char_p, [c.c_void_p]),
        "reds_status_str": (c.c_char_p, [c.c_int]),
        "reds_status_name": (c.c_char_p, [c.c_int]),
        "reds_host_time_invoke": (
            c.c_int64,
            [c.c_void_p, c.c_void_p, c.c_size_t, c.c_int, c.POINTER(c.c_int64)],
        ),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    _LIB = lib
    return lib


def _aligned_buffer(nbytes: int, align: int = 16) -> tuple[np.ndarray, int]:
    """A numpy byte buffer and the address of an `align`-aligned region of `nbytes` in it."""
    raw = np.zeros(nbytes + align, dtype=np.uint8)
    addr = raw.ctypes.data
    return raw, addr + (-addr % align)


class Runtime:
    """One REDS model loaded into the C runtime (one context, one arena)."""

    def __init__(self, model_bytes: bytes, arena_bytes: int | None = None):
        self._lib = load_library()
        model = bytes(model_bytes)
        # keep the model and context alive and 16-byte aligned for the runtime's lifetime
        self._model_buf, self._model_addr = _aligned_buffer(len(model))
        ctypes.memmove(self._model_addr, model, len(model))
        self._model_len = len(model)
        self._ctx_buf, self._ctx = _aligned_buffer(self._lib.reds_ctx_size())
        if arena_bytes is None:
            arena_bytes = self.bytes_needed()
        self._arena_buf, self._arena = _aligned_buffer(int(arena_bytes))
        self._check(
            self._lib.reds_init(self._ctx, self._model_addr, self._model_len, self._arena, int(arena_bytes))
        )

    def bytes_needed(self) -> int:
        """Arena bytes of this model (persistent tables + the widest subnet's activations)."""
        work_bytes = 1 << 14
        needed = ctypes.c_size_t(0)
        while True:  # the tables must fit the work buffer before the activations can be planned
            work, addr = _aligned_buffer(work_bytes)
            code = self._lib.reds_arena_bytes_needed(
                self._model_addr, self._model_len, addr, work_bytes, ctypes.byref(needed)
            )
            if code == 0:
                return max(int(needed.value), 16)
            if code != -8 or work_bytes >= 1 << 34:  # REDS_ERR_ARENA: the tables did not fit
                code = self._lib.reds_init(self._ctx, self._model_addr, self._model_len, addr, work_bytes)
                self._raise(code)
            work_bytes *= 4

    @property
    def persistent_bytes(self) -> int:
        """Bytes of the model's tables at the tail of the arena."""
        return int(self._lib.reds_persistent_bytes(self._ctx))

    # -- errors
    def _raise(self, code: int):
        name = self._lib.reds_status_name(code).decode()
        msg = (self._lib.reds_last_error(self._ctx) or b"").decode(errors="replace")
        if not msg:
            msg = self._lib.reds_status_str(code).decode()
        raise RedsRuntimeError(code, name, msg)

    def _check(self, code: int):
        if code != 0:
            self._raise(code)

    # -- subnets
    @property
    def num_subnets(self) -> int:
        return int(self._lib.reds_num_subnets(self._ctx))

    @property
    def active_subnet(self) -> int:
        return int(self._lib.reds_active_subnet(self._ctx))

    @property
    def num_groups(self) -> int:
        return int(self._lib.reds_num_groups(self._ctx))

    def select(self, k: int) -> None:
        if k < 0:
            raise RedsRuntimeError(-12, "REDS_ERR_SUBNET", f"subnet {k} out of range")
        self._check(self._lib.reds_select(self._ctx, int(k)))

    def arena_bytes(self, k: int | None = None) -> int:
        return int(self._lib.reds_subnet_arena_bytes(self._ctx, self.active_subnet if k is None else k))

    def macs(self, k: int | None = None) -> int:
        return int(self._lib.reds_subnet_macs(self._ctx, self.active_subnet if k is None else k))

    def widths(self, k: int | None = None) -> list[int]:
        k = self.active_subnet if k is None else k
        return [int(self._lib.reds_group_width(self._ctx, k, g)) for g in range(self.num_groups)]

    def full_widths(self) -> list[int]:
        return [int(self._lib.reds_group_full_width(self._ctx, g)) for g in range(self.num_groups)]

    # -- tensors
    def _shape(self, fn, i: int) -> tuple[int, ...]:
        dims = (ctypes.c_int32 * 8)()
        n = fn(self._ctx, i, dims, 8)
        return tuple(int(d) for d in dims[:n])

    def input_shape(self, i: int = 0) -> tuple[int, ...]:
        return self._shape(self._lib.reds_input_shape, i)

    def output_shape(self, i: int = 0) -> tuple[int, ...]:
        return self._shape(self._lib.reds_output_shape, i)

    def input_dtype(self, i: int = 0):
        return np.dtype(_DTYPES[self._lib.reds_input_type(self._ctx, i)])

    def output_dtype(self, i: int = 0):
        return np.dtype(_DTYPES[self._lib.reds_output_type(self._ctx, i)])

    def _set_input(self, x: np.ndarray) -> np.ndarray:
        shape, dtype = self.input_shape(0), self.input_dtype(0)
        x = np.asarray(x)
        if x.dtype != dtype:
            raise TypeError(f"input dtype {x.dtype} but the model takes {dtype}")
        if x.size != int(np.prod(shape)):
            raise ValueError(f"input of {x.size} elements but the model takes shape {shape}")
        x = np.ascontiguousarray(x.reshape(shape))
        nbytes = int(self._lib.reds_input_bytes(self._ctx, 0))
        ctypes.memmove(self._lib.reds_input_data(self._ctx, 0), x.ctypes.data, nbytes)
        return x

    def invoke(self, x: np.ndarray) -> np.ndarray:
        """Run one sample through the active subnet; returns output 0 (active shape)."""
        self._set_input(x)
        self._check(self._lib.reds_invoke(self._ctx))
        shape, dtype = self.output_shape(0), self.output_dtype(0)
        y = np.empty(shape, dtype=dtype)
        ctypes.memmove(y.ctypes.data, self._lib.reds_output_data(self._ctx, 0), y.nbytes)
        return y

    def run_batch(self, x: np.ndarray, subnet: int | None = None) -> np.ndarray:
        """Run every sample x[i] (each the model's input shape) and stack the outputs."""
        if subnet is not None:
            self.select(subnet)
        return np.stack([self.invoke(xi) for xi in np.asarray(x)])

    def time_per_inference_ns(self, x: np.ndarray, repeat: int = 20) -> float:
        """Median wall time of one reds_invoke, measured in C (clock_gettime)."""
        xs = self._set_input(x)
        times = (ctypes.c_int64 * repeat)()
        total = self._lib.reds_host_time_invoke(self._ctx, xs.ctypes.data, xs.nbytes, int(repeat), times)
        if total < 0:
            self._raise(int(total))
        return float(np.median(np.frombuffer(times, dtype=np.int64)))
