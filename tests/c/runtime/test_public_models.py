"""Public architectures at full size run bit-exact with tflite_micro on the host, every subnet.

MLPerf Tiny KWS (DS-CNN), VWW (MobileNetV1 a=0.25, 96x96x3, stride-2 depthwise), IC (ResNet-8,
32x32x3, ADD), AD (dense autoencoder 640 -> 128x4 -> 8 -> 128x4 -> 640), and Hello Edge DNN /
CNN / DS-CNN in S, M and L: seeded weights, converted by TF's converter in int8-IO and float-IO
(QUANTIZE / DEQUANTIZE around int8) forms, cached under build/test_models. Each model gets REDS
metadata for subnets at 100/75/50/30/10 % of every channel group (`modelgen.nested`); the
runtime's output at subnet k must equal tflite_micro's on the physically sliced model k
(`reds.tflite.slicing.slice_model`) for several seeded inputs. The old fixed context (REDS_MAX_*)
refused VWW and DS-CNN-L; these must load now.
"""
from __future__ import annotations

import numpy as np
import pytest

from modelgen import PUBLIC, nested, random_input
from reds.tflite import slicing
from reds.runtime import golden
from reds.runtime.binding import Runtime

INPUTS = 2  # per subnet; more would only repeat the same kernels


@pytest.mark.parametrize("io", ["int8", "float"])
@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_model_every_subnet_bitexact(tflite_model, name, io):
    nested_model, widths = nested(tflite_model(f"{name}_{io}"))
    rt = Runtime(nested_model)
    assert rt.num_subnets == len(widths)
    rng = np.random.default_rng(sum(map(ord, name)))
    for k in range(rt.num_subnets):
        ref = slicing.slice_model(nested_model, k)
        rt.select(k)
        for _ in range(INPUTS):
            x = random_input(ref, rng)
            want = golden.tflm_run(ref, x)
            got = rt.invoke(x)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got.reshape(-1), want.reshape(-1),
                                          err_msg=f"{name} {io}-IO subnet {k}")
