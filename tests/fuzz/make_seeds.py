"""Write the seed corpus of the model fuzzer (tests/fuzz/corpus/model/) from the runtime's test
models: each architecture of tests/support/modelgen.py, plain and with REDS metadata for nested
subnets, plus the firmware's default model. Re-run after changing modelgen or the metadata format:

    python tests/fuzz/make_seeds.py
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import modelgen
from paths import REPO

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus" / "model"
PLAIN = ("conv_dw_gap", "mlp_per_tensor", "float_io")
NESTED = ("conv_dw_gap", "residual", "pools", "one_by_one", "gap_keepdims", "mlp_per_channel",
          "float_io", "softmaxes")


def main() -> int:
    CORPUS.mkdir(parents=True, exist_ok=True)
    for old in CORPUS.glob("*.tflite"):
        old.unlink()
    built = {name: modelgen.build(name, 0) for name in sorted(set(PLAIN) | set(NESTED))}
    for name in PLAIN:
        (CORPUS / f"{name}.tflite").write_bytes(built[name])
    for name in NESTED:
        (CORPUS / f"{name}_nested.tflite").write_bytes(modelgen.nested(built[name])[0])
    shutil.copy(REPO / "boards" / "firmware" / "default_model.tflite", CORPUS / "firmware_default.tflite")
    print(f"wrote {len(list(CORPUS.glob('*.tflite')))} seeds to {CORPUS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
