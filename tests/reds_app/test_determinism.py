"""Same seed, same steps: the exported model file is identical byte for byte."""
from __future__ import annotations

import pytest

from reds_app.demo import demo_config
from reds.pipeline.steps import Pipeline, TRAIN_STEPS

pytestmark = pytest.mark.slow


def _export(out):
    cfg = demo_config(fast=True)
    cfg.pretrain_epochs, cfg.finetune_epochs, cfg.importance_batches = 2, 1, 4
    run = Pipeline(cfg, out).run_steps(TRAIN_STEPS + ["export"])
    return (run / "model.tflite").read_bytes()


def test_two_runs_export_the_same_file(tmp_path):
    first = _export(tmp_path / "a")
    second = _export(tmp_path / "b")
    assert len(first) > 1000
    assert first == second
