"""`reds export --standalone`: one plain sliced .tflite per subnet, equal to the nested subnet."""

import numpy as np
import pytest

from reds.tflite import metadata
from reds.errors import UserError
from reds.export.nested import write_standalone
from reds.runtime.binding import Runtime

from paths import DEFAULT_MODEL as MODEL
from reds.runtime import golden


def test_one_plain_file_per_subnet_with_the_subnets_outputs(tmp_path):
    nested = MODEL.read_bytes()
    paths = write_standalone(nested, tmp_path / "sub")
    rt = Runtime(nested)
    assert [p.name for p in paths] == [f"subnet{k}.tflite" for k in range(rt.num_subnets)]
    sizes = [p.stat().st_size for p in paths]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < sizes[0]
    x = golden.random_inputs(nested, 3, seed=4)
    for k, p in enumerate(paths):
        plain = p.read_bytes()
        assert metadata.read_metadata(plain) is None
        rt.select(k)
        for xi in x:
            want = rt.invoke(xi[None])
            got = golden.tflm_run(plain, xi[None])
            assert np.array_equal(got.reshape(want.shape), want), f"subnet {k}"


def test_a_plain_model_has_no_subnets_to_write(tmp_path):
    plain = metadata.remove_metadata(MODEL.read_bytes())
    with pytest.raises(UserError, match="no REDS metadata"):
        write_standalone(plain, tmp_path)
