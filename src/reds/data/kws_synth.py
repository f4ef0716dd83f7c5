"""Synthetic keyword spotting: spoken words rendered offline by ``espeak-ng``, no download.

The ten Speech Commands keywords plus ``_silence_`` (background noise only) and ``_unknown_``
(other Speech Commands words). Each clip is one utterance rendered with a voice, a voice
variant, a speed, a pitch and an amplitude drawn with the seed, then resampled to 16 kHz,
placed at a random offset in a 1 s clip, scaled by a random gain and mixed with coloured noise
(white, pink or brown) at a random signal-to-noise ratio. Generation is deterministic: the same
seed and sizes give byte-identical WAV files (espeak-ng renders a given text and settings
identically, given the environment of ``_espeak_env``), so the result is cached under a key of
its parameters.

The files are written in the ``folder`` dataset layout (one subfolder per class), so the
dataset is loaded with the same MFCC front end as Speech Commands (49x10 for 1 s at 16 kHz).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from reds.errors import DatasetError

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN_WORDS = ("bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin", "nine",
                 "one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero", "learn",
                 "follow", "forward", "visual", "backward")
CLASSES = list(KEYWORDS) + ["_silence_", "_unknown_"]
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3", "+f4", "+f5",
            "+klatt", "+klatt2")
SAMPLE_RATE = 16000
GENERATOR_VERSION = 1
INSTALL_HINT = "install it with: sudo apt-get install -y espeak-ng (make bootstrap does this when run as root)"


def espeak_binary() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DatasetError(f"the kws_synth dataset needs espeak-ng, which is not installed; {INSTALL_HINT}")
    return exe


def _espeak_env() -> dict:
    """The environment espeak-ng renders in: ours, with PulseAudio pointed at no server.

    espeak-ng (1.51) probes the sound server even when it writes a file, and the breathy voice
    variants (+f2, +f3, +f5) draw their breath noise from C ``rand()``, unseeded, so from the
    same sequence in every process. When the user's PulseAudio runtime directory is missing
    (a fresh machine, or /tmp cleaned by a reboot) libpulse names a new one with ``rand()`` first
    (12 calls or more), and that one render comes out different. An explicit, absent server makes
    libpulse fail at once without touching its runtime directory (nor starting a daemon)."""
    return {**os.environ, "PULSE_SERVER": "unix:/nonexistent/reds-kws-synth-renders-offline"}


def _render(exe: str, text: str, voice: str, speed: int, pitch: int, amplitude: int, tmp: Path) -> np.ndarray:
    out = tmp / "u.wav"
    out.unlink(missing_ok=True)  # espeak-ng exits 0 when it cannot write: never read the last clip
    cmd = [exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-a", str(amplitude), "-w", str(out), text]
    r = subprocess.run(cmd, capture_output=True, text=True, env=_espeak_env())
    if r.returncode != 0 or not out.is_file():
        raise DatasetError(f"espeak-ng failed for {text!r} with voice {voice}: {r.stderr.strip() or r.returncode}")
    with wave.open(str(out), "rb") as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0
    if rate != SAMPLE_RATE:
        from math import gcd

        from scipy.signal import resample_poly
        g = gcd(rate, SAMPLE_RATE)
        x = resample_poly(x, SAMPLE_RATE // g, rate // g).astype(np.float32)
    nz = np.flatnonzero(np.abs(x) > 1e-3)  # trim espeak's leading/trailing silence
    return x[nz[0]:nz[-1] + 1] if len(nz) else x


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-RMS white, pink (1/f) or brown (1/f^2) noise."""
    white = rng.standard_normal(n)
    colour = rng.integers(3)
    if colour:
        spec = np.fft.rfft(white)
        f = np.arange(len(spec), dtype=np.float64)
        f[0] = 1.0
        spec /= f ** (0.5 * colour)
        white = np.fft.irfft(spec, n)
    return (white / (np.sqrt(np.mean(white ** 2)) + 1e-12)).astype(np.float32)


def _clip(rng: np.random.Generator, speech: np.ndarray | None) -> np.ndarray:
    """One 1 s clip: the utterance at a random offset and gain, plus noise at a random SNR."""
    clip = np.zeros(SAMPLE_RATE, np.float32)
    if speech is not None:
        speech = speech[:SAMPLE_RATE]
        start = int(rng.integers(0, SAMPLE_RATE - len(speech) + 1))
        clip[start:start + len(speech)] = speech * rng.uniform(0.3, 1.0)
        rms = np.sqrt(np.mean(clip[start:start + len(speech)] ** 2)) + 1e-9
        snr_db = rng.uniform(5.0, 30.0)
        clip += _noise(rng, SAMPLE_RATE) * (rms / 10 ** (snr_db / 20))
    else:  # silence: background noise only, from inaudible to loud
        clip += _noise(rng, SAMPLE_RATE) * rng.uniform(0.0, 0.1)
    return np.clip(clip, -1.0, 1.0)


def _write_wav(path: Path, x: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.round(x * 32767).astype("<i2").tobytes())


def _params(per_class: int, seed: int) -> dict:
    return {"per_class": per_class, "seed": seed, "classes": CLASSES, "unknown": list(UNKNOWN_WORDS),
            "voices": list(VOICES), "variants": list(VARIANTS), "version": GENERATOR_VERSION}


def generate(out_dir, per_class: int = 300, seed: int = 0, progress: bool = True) -> Path:
    """Write ``per_class`` clips of every class into ``out_dir/<class>/NNNNN.wav`` (plus
    ``manifest.json``) and return ``out_dir``. Reuses a complete earlier run with the same
    parameters; a partial one is regenerated."""
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise DatasetError(f"kws_synth: per_class must be a positive integer, got {per_class!r}")
    out = Path(out_dir)
    params = _params(per_class, seed)
    manifest = out / "manifest.json"
    if manifest.is_file():
        try:
            if json.loads(manifest.read_text()).get("params") == params:
                return out
        except (OSError, ValueError):
            pass
    exe = espeak_binary()
    rng = np.random.default_rng(seed)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=per_class * len(CLASSES), desc="kws_synth espeak-ng", unit="clip", leave=False)
    out.mkdir(parents=True, exist_ok=True)
    if manifest.exists():
        manifest.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        for name in CLASSES:
            folder = out / name
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir()
            for i in range(per_class):
                speech = None
                if name != "_silence_":
                    word = name if name in KEYWORDS else UNKNOWN_WORDS[int(rng.integers(len(UNKNOWN_WORDS)))]
                    voice = VOICES[int(rng.integers(len(VOICES)))] + VARIANTS[int(rng.integers(len(VARIANTS)))]
                    speech = _render(exe, word, voice, int(rng.integers(110, 221)), int(rng.integers(20, 81)),
                                     int(rng.integers(80, 181)), Path(tmp))
                _write_wav(folder / f"{i:05d}.wav", _clip(rng, speech))
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    manifest.write_text(json.dumps({"params": params, "sha256": tree_hash(out)}, indent=1) + "\n")
    return out


def tree_hash(root) -> str:
    """SHA-256 over every class folder's WAV files (names and bytes), in sorted order."""
    h = hashlib.sha256()
    root = Path(root)
    for p in sorted(root.glob("*/*.wav")):
        h.update(str(p.relative_to(root)).replace(os.sep, "/").encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "reds" / "kws_synth"


def load_kws_synth(per_class: int = 300, seed: int = 0, cache_dir=None, val_fraction: float = 0.15,
                   test_fraction: float = 0.15, progress: bool = True):
    """Generate (or reuse) the synthetic keyword set and load it as 49x10x1 MFCC features."""
    from reds.data.user import load_folder

    root = Path(cache_dir) if cache_dir else default_cache_dir()
    folder = generate(root / f"n{per_class}_s{seed}_v{GENERATOR_VERSION}", per_class, seed, progress)
    return load_folder(folder, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction,
                       progress=progress)


__all__ = ["generate", "load_kws_synth", "tree_hash", "CLASSES", "KEYWORDS", "UNKNOWN_WORDS"]
