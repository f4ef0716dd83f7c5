"""The golden reference: TFLM's own reference kernels (the ``tflite-micro`` package) run a
model on the host; every output of the C runtime and of every board is compared with these."""
from __future__ import annotations

import numpy as np

from reds.tflite import flatbuffer as tflite_io


def tflm_run(model_bytes: bytes, x) -> np.ndarray:
    """One inference on TFLM's reference interpreter (the bit-exact golden): output 0 in its
    shape. ``x``: the input array (with its batch axis), or its raw bytes."""
    from tflite_micro.python.tflite_micro import runtime as tflm

    interp = tflm.Interpreter.from_bytes(bytes(model_bytes))
    if isinstance(x, (bytes, bytearray, memoryview)):
        det = interp.get_input_details(0)
        x = np.frombuffer(bytes(x), dtype=det["dtype"]).reshape(det["shape"])
    return _invoke(interp, x)


def tflm_outputs(model_bytes: bytes, xs: np.ndarray) -> np.ndarray:
    """Run TFLM's reference interpreter on each sample of xs (leading batch axis); one
    flattened output row per sample."""
    from tflite_micro.python.tflite_micro import runtime as tflm

    interp = tflm.Interpreter.from_bytes(bytes(model_bytes))
    return np.stack([_invoke(interp, x[None]).reshape(-1) for x in xs])


def _invoke(interp, x: np.ndarray) -> np.ndarray:
    interp.set_input(x, 0)
    interp.invoke()
    return np.array(interp.get_output(0))


def input_spec(model_bytes: bytes) -> tuple[tuple, np.dtype]:
    """Shape (with the batch axis) and NumPy dtype of the model's input 0."""
    m = tflite_io.load_model(model_bytes)
    t = m.tensors[m.inputs[0]]
    return tuple(int(d) for d in t.shape), np.dtype(tflite_io.NUMPY_DTYPES[t.dtype])


def random_inputs(model_bytes: bytes, n: int, seed: int = 0) -> np.ndarray:
    """n random inputs (leading batch axis): integer inputs cover their type's whole range,
    float inputs are standard normal."""
    full, dtype = input_spec(model_bytes)
    rng = np.random.default_rng(seed)
    shape = (n,) + full[1:]
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max + 1, size=shape, dtype=dtype)
    return rng.standard_normal(shape).astype(dtype)
