"""Progress bars only on a terminal: in a file or a pipe their frames are noise."""
from __future__ import annotations

from reds.data import registry as datasets
from reds.pipeline.steps import Config, Pipeline


def test_dataset_progress_bar_is_off_when_stderr_is_not_a_terminal(tmp_path, monkeypatch):
    seen = {}

    def fake_loader(**opts):
        seen.update(opts)
        return "data"

    monkeypatch.setitem(datasets.DATASETS, "kws_synth", fake_loader)
    pipe = Pipeline(Config(arch="ds_cnn_s", dataset={"name": "kws_synth", "per_class": 5}), tmp_path)
    assert pipe.data == "data"  # pytest captures stderr: not a terminal
    assert seen["progress"] is False and seen["per_class"] == 5
