"""Full-size public architectures run bit-exact with tflite_micro on the emulated boards.

The DSP kernels on qemu_m4, and a smoke on qemu_m7 / qemu_m33, through ``reds_app.execute.execute``
(the path of ``reds exec --target``), against tflite_micro on the physically sliced model:
MLPerf Tiny KWS, VWW (MobileNetV1 a=0.25, 96x96x3: 292 KB, 27,648-byte input), IC ResNet-8
(92 KB), AD (float IO: QUANTIZE / DEQUANTIZE), DS-CNN-L (489 KB), Hello Edge DNN-L and CNN-L.
Most are over the 64 KB upload slot of the firmware's first release: they need the firmware
sized per target (issue 12, item 4), which compiles a model into the firmware when it does not
fit the slot. To keep CI time bounded: the full and the narrowest subnet of each, 2 inputs.
"""
from __future__ import annotations

import pytest

from modelgen import assert_board_matches_tflm

pytestmark = pytest.mark.qemu

N_INPUTS = 2
CASES = [  # (target, model, subnets: 0 full, -1 narrowest)
    ("qemu_m4", "kws_ds_cnn_int8", (0, -1)),
    ("qemu_m4", "vww_mobilenet_v1_025_int8", (0, -1)),
    ("qemu_m4", "ic_resnet8_int8", (0, -1)),
    ("qemu_m4", "ad_autoencoder_float", (0, -1)),
    ("qemu_m4", "ds_cnn_l_int8", (0, -1)),
    ("qemu_m4", "dnn_l_int8", (0,)),
    ("qemu_m4", "cnn_l_float", (0,)),
    ("qemu_m7", "vww_mobilenet_v1_025_int8", (-1,)),
    ("qemu_m33", "ic_resnet8_int8", (-1,)),
]


@pytest.mark.parametrize("target,name,subnets", CASES, ids=[f"{t}-{n}" for t, n, _ in CASES])
def test_public_model_on_qemu(tflite_model, target, name, subnets):
    assert_board_matches_tflm(tflite_model(name), target, subnets, n_inputs=N_INPUTS, seed=sum(map(ord, name)))
