import wave

import numpy as np
import pytest

from reds.data.base import KWS_CLASSES, mfcc_features
from reds.errors import DatasetError
from reds.data.registry import load_dataset


def test_digits_split():
    d = load_dataset("digits")
    assert d.x_train.shape[1:] == (8, 8, 1) and d.x_train.dtype == np.float32
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    assert len(d.y_train) + len(d.y_val) + len(d.y_test) == 1797
    assert d.num_classes == 10 and set(np.unique(d.y_val)) == set(range(10))
    d2 = load_dataset("digits")
    np.testing.assert_array_equal(d.y_test, d2.y_test)


def test_synthetic():
    d = load_dataset("synthetic", input_shape=(5, 4, 2), num_classes=3, train=10, val=4, test=4)
    assert d.x_train.shape == (10, 5, 4, 2) and d.y_val.shape == (4,) and d.input_shape == (5, 4, 2)


def _wav(path, samples):
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


@pytest.fixture
def fake_speech(tmp_path):
    root = tmp_path / "speech_commands_v0.02"
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    val, test = [], []
    for wi, word in enumerate(["yes", "no", "stop", "marvin", "tree"]):
        for k in range(5):
            rel = f"{word}/spk{k}_nohash_0.wav"
            n = 16000 if k != 4 else 12000  # one short clip: padded
            _wav(root / rel, 0.5 * np.sin(2 * np.pi * (200 + 100 * wi) * t[:n]) + 0.01 * rng.normal(size=n))
            if k == 3:
                val.append(rel)
            if k == 4:
                test.append(rel)
    _wav(root / "_background_noise_" / "white.wav", 0.1 * rng.normal(size=40000))
    (root / "validation_list.txt").write_text("\n".join(val) + "\n")
    (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    return root


def test_speech_commands_local(fake_speech, tmp_path):
    d = load_dataset("speech_commands", data_dir=fake_speech, progress=False, cache_dir=tmp_path / "c")
    assert d.input_shape == (49, 10, 1) and d.num_classes == 12 and d.class_names == KWS_CLASSES
    assert d.x_train.shape[1:] == (49, 10, 1) and np.isfinite(d.x_train).all()
    # train: 3 words x 3 known clips = 9, +1 unknown (10 %), +1 silence
    assert len(d.y_train) == 11
    assert sorted(np.unique(d.y_train)) == [0, 1, 8, 10, 11]
    assert len(d.y_val) == 5 and len(d.y_test) == 5
    # cached second load gives the same
    assert list((tmp_path / "c").glob("*.npz"))
    d2 = load_dataset("speech_commands", data_dir=fake_speech, progress=False, cache_dir=tmp_path / "c")
    np.testing.assert_array_equal(d.x_train, d2.x_train)


def test_speech_commands_env_var(fake_speech, monkeypatch, tmp_path):
    monkeypatch.setenv("REDS_DATA_DIR", str(fake_speech))
    d = load_dataset("speech_commands", progress=False, cache=False)
    assert len(d.y_val) == 5


def test_speech_commands_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("REDS_DATA_DIR", raising=False)
    with pytest.raises(DatasetError) as e:
        load_dataset("speech_commands", data_dir=tmp_path / "nowhere")
    msg = str(e.value)
    assert "nowhere" in msg and "--data-dir" in msg and "REDS_DATA_DIR" in msg and "tensorflow-datasets" in msg


def test_mfcc_shape():
    f = mfcc_features(np.zeros((2, 16000), np.float32))
    assert f.shape == (2, 49, 10, 1)


def test_unknown_dataset():
    with pytest.raises(DatasetError, match="unknown dataset 'imagenet'.*digits"):
        load_dataset("imagenet")
