"""What every dataset loader shares: the ``Dataset`` splits and the audio front end
(16 kHz WAV reading and the MFCC features of the KWS recipes)."""
from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reds.errors import DatasetError


@dataclass
class Dataset:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    input_shape: tuple
    class_names: list

    def summary(self) -> dict:
        return {"train": int(len(self.y_train)), "val": int(len(self.y_val)), "test": int(len(self.y_test)),
                "num_classes": self.num_classes, "input_shape": list(self.input_shape),
                "class_names": list(self.class_names)}


KWS_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")


KWS_CLASSES = list(KWS_WORDS) + ["_silence_", "_unknown_"]


SAMPLE_RATE = 16000


MFCC = dict(window_ms=40, stride_ms=20, num_mel_bins=40, num_coefficients=10, lower_hz=20.0,
            upper_hz=4000.0, fft_length=1024)


def mfcc_features(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, batch: int = 512,
                  params: dict | None = None) -> np.ndarray:
    """``[N, samples]`` float audio in [-1, 1] -> ``[N, frames, coefficients, 1]`` float32 MFCC
    (tf.signal). ``params`` overrides entries of ``MFCC``; 1 s at 16 kHz gives 49x10."""
    unknown = set(params or {}) - set(MFCC)
    if unknown:
        raise DatasetError(f"unknown MFCC parameter(s) {', '.join(sorted(unknown))}; allowed: {', '.join(MFCC)}")
    p = {**MFCC, **(params or {})}
    import tensorflow as tf

    frame = sample_rate * p["window_ms"] // 1000
    step = sample_rate * p["stride_ms"] // 1000
    samples = audio.shape[1] if audio.ndim == 2 else sample_rate
    if frame < 1 or step < 1 or samples < frame:
        raise DatasetError(f"MFCC window {p['window_ms']} ms / stride {p['stride_ms']} ms do not fit "
                           f"{samples} samples at {sample_rate} Hz")
    mel = tf.signal.linear_to_mel_weight_matrix(p["num_mel_bins"], p["fft_length"] // 2 + 1, sample_rate,
                                                p["lower_hz"], p["upper_hz"])

    @tf.function(reduce_retracing=True)
    def feats(x):
        stft = tf.signal.stft(x, frame, step, p["fft_length"], window_fn=tf.signal.hann_window)
        spec = tf.abs(stft)
        log_mel = tf.math.log(tf.tensordot(spec, mel, 1) + 1e-6)
        return tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :p["num_coefficients"]]

    out = [feats(tf.convert_to_tensor(audio[i:i + batch], tf.float32)).numpy()
           for i in range(0, len(audio), batch)]
    n_frames = 1 + (samples - frame) // step
    if not out:
        return np.zeros((0, n_frames, p["num_coefficients"], 1), np.float32)
    return np.concatenate(out)[..., None].astype(np.float32)


def read_wav(path: Path, length: int | None = SAMPLE_RATE, sample_rate: int | None = None) -> np.ndarray:
    """PCM WAV (8/16/32-bit; the first channel) -> float32 in [-1, 1], resampled to
    ``sample_rate`` when given and different, zero-padded/truncated to ``length`` (if given)."""
    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except (wave.Error, EOFError, OSError) as e:
        raise DatasetError(f"{path}: not a readable WAV file ({e})") from None
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 4:
        data = np.frombuffer(raw, "<i4").astype(np.float32) / 2147483648.0
    else:
        raise DatasetError(f"{path}: {8 * width}-bit WAV is not supported (8, 16 or 32-bit PCM)")
    x = data.reshape(-1, channels)[:, 0] if channels > 1 else data
    if sample_rate and rate != sample_rate:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(rate, sample_rate)
        x = resample_poly(x, sample_rate // g, rate // g).astype(np.float32)
    if length is None:
        return x
    if len(x) >= length:
        return x[:length]
    return np.pad(x, (0, length - len(x)))
