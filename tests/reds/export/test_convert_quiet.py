"""The converter is quiet wherever Python's stdout points (`reds compare` points it at stderr),
and `reds -v` (REDS_VERBOSE) lets its listing through."""
from __future__ import annotations

import contextlib
import io

import keras
import numpy as np
import pytest

from reds.export import convert
from reds.export.convert import quiet_converter, to_int8_tflite

LISTING = "Saved artifact"  # the start of Keras' export listing (`Captures: TensorSpec ...`)


def _tiny():
    return keras.Sequential([keras.Input((4,), batch_size=1), keras.layers.Dense(3)])


def _calibration():
    return np.random.default_rng(0).random((8, 4), dtype=np.float32)


def test_conversion_prints_nothing_when_stdout_is_redirected(capfd, monkeypatch):
    monkeypatch.delenv(convert.VERBOSE_ENV, raising=False)
    elsewhere = io.StringIO()
    with contextlib.redirect_stdout(elsewhere), contextlib.redirect_stderr(elsewhere):
        data = to_int8_tflite(_tiny(), _calibration(), check_ops=False)
    assert data[4:8] == b"TFL3"
    assert elsewhere.getvalue() == ""
    out, err = capfd.readouterr()
    assert LISTING not in out + err


@pytest.mark.filterwarnings("ignore::UserWarning")  # verbose: the converter's warnings come through too
def test_verbose_lets_the_listing_through(monkeypatch):
    monkeypatch.setenv(convert.VERBOSE_ENV, "1")
    seen = io.StringIO()
    with contextlib.redirect_stdout(seen):
        to_int8_tflite(_tiny(), _calibration(), check_ops=False)
    assert LISTING in seen.getvalue()


def test_a_failure_carries_what_was_printed(monkeypatch):
    monkeypatch.delenv(convert.VERBOSE_ENV, raising=False)
    import os

    with pytest.raises(RuntimeError) as info, quiet_converter():
        print("python side")
        os.write(2, b"native side\n")
        raise RuntimeError("conversion failed")
    note = "".join(info.value.__notes__)
    assert "python side" in note and "native side" in note
