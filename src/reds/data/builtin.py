"""Datasets: ``load_dataset(name, **opts) -> Dataset``.

* ``digits``: scikit-learn's bundled 8x8 digits (1797 images), float32 ``[0, 1]``,
  shape ``(8, 8, 1)``; a fixed stratified split (default 70/15/15, ``seed`` 0).
* ``speech_commands``: Google Speech Commands v0.02, 12 classes (yes no up down left right on
  off stop go _silence_ _unknown_), 49x10 MFCC (40 ms window, 20 ms stride, 40 mel bins
  20..4000 Hz, 10 coefficients; log-mel via ``tf.signal``), shape ``(49, 10, 1)``. From a local
  directory in the v0.02 layout (one folder per word of 16 kHz mono WAVs,
  ``validation_list.txt``, ``testing_list.txt``, ``_background_noise_/``), found by
  ``data_dir=`` / ``--data-dir``, the ``REDS_DATA_DIR`` env var (``$REDS_DATA_DIR`` or
  ``$REDS_DATA_DIR/speech_commands``), or else via tensorflow-datasets if installed. Features
  are cached as ``.npz`` (``<dir>/.reds_cache/`` or ``~/.cache/reds/``).
  ``_unknown_`` and ``_silence_`` are each ``unknown_fraction`` / ``silence_fraction`` (10 %)
  of the known words in every split, as in TensorFlow's speech_commands example; silence
  clips are random 1 s crops of the background-noise files times a random gain in [0, 1]
  (zeros if there is no noise folder).
* ``synthetic``: seeded random data of any shape (tests, smoke runs).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from reds.data.base import KWS_CLASSES, KWS_WORDS, MFCC, SAMPLE_RATE, Dataset, mfcc_features, read_wav
from reds.errors import DatasetError


# --------------------------------------------------------------------------- digits


def load_digits(seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15) -> Dataset:
    from sklearn.datasets import load_digits as _load
    from sklearn.model_selection import train_test_split

    d = _load()
    x = (d.images / 16.0).astype(np.float32)[..., None]
    y = d.target.astype(np.int32)
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=test_fraction, stratify=y,
                                                      random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_fraction / (1 - test_fraction), stratify=y_rest, random_state=seed)
    return Dataset(x_train, y_train, x_val, y_val, x_test, y_test, 10, (8, 8, 1), [str(i) for i in range(10)])


# --------------------------------------------------------------------------- synthetic


def load_synthetic(input_shape=(8, 8, 1), num_classes: int = 4, train: int = 64, val: int = 16,
                   test: int = 16, seed: int = 0) -> Dataset:
    """Random inputs whose label depends on them (so a model can fit it a little)."""
    rng = np.random.default_rng(seed)
    shape = tuple(input_shape)
    proj = rng.normal(size=(int(np.prod(shape)), num_classes))

    def make(n):
        x = rng.random((n,) + shape).astype(np.float32)
        y = np.argmax(x.reshape(n, -1) @ proj, axis=1).astype(np.int32)
        return x, y

    xs = [make(n) for n in (train, val, test)]
    return Dataset(*xs[0], *xs[1], *xs[2], num_classes, shape, [f"c{i}" for i in range(num_classes)])


# --------------------------------------------------------------------------- speech commands


_MISSING_HELP = (
    "Speech Commands v0.02 not found{where}. Provide it in one of these ways:\n"
    "  * download and unpack speech_commands_v0.02.tar.gz (one folder per word, validation_list.txt,\n"
    "    testing_list.txt, _background_noise_/) and pass its path: dataset: {{name: speech_commands,\n"
    "    data_dir: PATH}} in the recipe or `--data-dir PATH` on the command line;\n"
    "  * or set REDS_DATA_DIR to that folder (or to a folder containing speech_commands/);\n"
    "  * or `pip install tensorflow-datasets` with the data prepared in its data_dir (tfds name\n"
    "    'speech_commands')."
)


def _find_speech_dir(data_dir) -> Path | None:
    cands = []
    if data_dir:
        cands += [Path(data_dir), Path(data_dir) / "speech_commands"]
    elif os.environ.get("REDS_DATA_DIR"):
        root = Path(os.environ["REDS_DATA_DIR"])
        cands += [root / "speech_commands", root]
    for c in cands:
        if c.is_dir() and (c / "validation_list.txt").is_file() and (c / "testing_list.txt").is_file():
            return c
    return None


def _cache_path(root: Path, key: str, cache_dir) -> Path:
    name = f"speech_commands_{key}.npz"
    if cache_dir:
        return Path(cache_dir) / name
    local = root / ".reds_cache"
    try:
        local.mkdir(exist_ok=True)
        probe = local / ".write_test"
        probe.write_text("")
        probe.unlink()
        return local / name
    except OSError:
        return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "reds" / name


def _split_lists(root: Path):
    def read(name):
        return {ln.strip() for ln in (root / name).read_text().splitlines() if ln.strip()}
    return read("validation_list.txt"), read("testing_list.txt")


def load_speech_commands(data_dir=None, seed: int = 0, silence_fraction: float = 0.1,
                         unknown_fraction: float = 0.1, cache: bool = True, cache_dir=None,
                         progress: bool = True) -> Dataset:
    root = _find_speech_dir(data_dir)
    if root is None:
        try:
            if data_dir or os.environ.get("REDS_DATA_DIR"):
                raise ImportError  # an explicit location that is wrong: say so, do not guess
            import tensorflow_datasets  # noqa: F401
        except ImportError:
            where = (f" at {data_dir}" if data_dir else
                     f" under REDS_DATA_DIR={os.environ['REDS_DATA_DIR']}" if os.environ.get("REDS_DATA_DIR")
                     else " (no data_dir given, REDS_DATA_DIR unset, tensorflow-datasets not installed)")
            raise DatasetError(_MISSING_HELP.format(where=where)) from None
        return _load_speech_tfds(seed, progress)

    val_list, test_list = _split_lists(root)
    files = sorted(str(p.relative_to(root)).replace(os.sep, "/") for p in root.glob("*/*.wav")
                   if not p.parent.name.startswith("_"))
    if not files:
        raise DatasetError(f"{root}: no word folders with .wav files")
    noise_files = sorted(root.glob("_background_noise_/*.wav"))
    key_src = json.dumps({"files": len(files), "first": files[:3], "last": files[-3:], "seed": seed,
                          "silence": silence_fraction, "unknown": unknown_fraction, "mfcc": MFCC,
                          "val": len(val_list), "test": len(test_list), "noise": len(noise_files), "v": 1})
    key = hashlib.sha1(key_src.encode()).hexdigest()[:12]
    cpath = _cache_path(root, key, cache_dir)
    if cache and cpath.is_file():
        z = np.load(cpath)
        return Dataset(z["x_train"], z["y_train"], z["x_val"], z["y_val"], z["x_test"], z["y_test"],
                       len(KWS_CLASSES), (49, 10, 1), list(KWS_CLASSES))

    rng = np.random.default_rng(seed)
    splits = {"train": ([], []), "val": ([], []), "test": ([], [])}
    unknown = {"train": [], "val": [], "test": []}
    for f in files:
        split = "val" if f in val_list else "test" if f in test_list else "train"
        word = f.split("/")[0]
        if word in KWS_WORDS:
            splits[split][0].append(f)
            splits[split][1].append(KWS_WORDS.index(word))
        else:
            unknown[split].append(f)
    noise = [read_wav(p, None) for p in noise_files]

    chosen = {}
    for s in ("train", "val", "test"):
        names, labels = list(splits[s][0]), list(splits[s][1])
        n_unk = min(len(unknown[s]), int(np.ceil(unknown_fraction * len(names))))
        if n_unk:
            pick = rng.choice(len(unknown[s]), n_unk, replace=False)
            names += [unknown[s][i] for i in sorted(pick)]
            labels += [KWS_CLASSES.index("_unknown_")] * n_unk
        chosen[s] = (names, labels, len(splits[s][0]))
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=sum(len(c[0]) for c in chosen.values()), desc="speech_commands wav", unit="file",
                   leave=False)
    sets = {}
    for s, (names, labels, n_known) in chosen.items():
        audio = []
        for f in names:
            audio.append(read_wav(root / f))
            if bar is not None:
                bar.update(1)
        for _ in range(int(np.ceil(silence_fraction * n_known))):
            if noise:
                clip = noise[rng.integers(len(noise))]
                if len(clip) > SAMPLE_RATE:
                    start = rng.integers(len(clip) - SAMPLE_RATE)
                    clip = clip[start:start + SAMPLE_RATE]
                clip = np.pad(clip, (0, SAMPLE_RATE - len(clip))) * rng.uniform(0, 1)
            else:
                clip = np.zeros(SAMPLE_RATE, np.float32)
            audio.append(clip.astype(np.float32))
            labels.append(KWS_CLASSES.index("_silence_"))
        a = np.stack(audio) if audio else np.zeros((0, SAMPLE_RATE), np.float32)
        sets[s] = (mfcc_features(a), np.asarray(labels, np.int32))
    if bar is not None:
        bar.close()
    ds = Dataset(*sets["train"], *sets["val"], *sets["test"], len(KWS_CLASSES), (49, 10, 1), list(KWS_CLASSES))
    if cache:
        try:
            cpath.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(cpath, x_train=ds.x_train, y_train=ds.y_train, x_val=ds.x_val, y_val=ds.y_val,
                                x_test=ds.x_test, y_test=ds.y_test)
        except OSError:
            pass  # a read-only cache location only costs recomputation
    return ds


def _load_speech_tfds(seed: int, progress: bool) -> Dataset:  # pragma: no cover - needs tfds + data
    import tensorflow_datasets as tfds

    try:
        parts = tfds.load("speech_commands", split=["train", "validation", "test"], as_supervised=True,
                          download=False, data_dir=os.environ.get("TFDS_DATA_DIR"))
    except Exception as e:  # tfds raises many types when data is missing
        raise DatasetError(_MISSING_HELP.format(where=f" (tensorflow-datasets: {e})")) from None
    names = tfds.builder("speech_commands").info.features["label"].names
    remap = np.array([KWS_CLASSES.index(n) if n in KWS_CLASSES else KWS_CLASSES.index("_unknown_")
                      for n in names])
    out = []
    for part in parts:
        audio, labels = [], []
        for a, y in tfds.as_numpy(part):
            a = a.astype(np.float32) / 32768.0
            audio.append(np.pad(a[:SAMPLE_RATE], (0, max(0, SAMPLE_RATE - len(a)))))
            labels.append(remap[int(y)])
        out += [mfcc_features(np.stack(audio)), np.asarray(labels, np.int32)]
    return Dataset(*out, len(KWS_CLASSES), (49, 10, 1), list(KWS_CLASSES))


# --------------------------------------------------------------------------- cifar10 / vww (local files)


def load_cifar10(data_dir=None, seed: int = 0, val_fraction: float = 0.1) -> Dataset:
    """CIFAR-10 from the python pickle batches (``cifar-10-batches-py``), scaled to [0, 1]."""
    import pickle

    roots = [Path(data_dir)] if data_dir else []
    if os.environ.get("REDS_DATA_DIR"):
        roots += [Path(os.environ["REDS_DATA_DIR"])]
    root = None
    for r in roots:
        for c in (r, r / "cifar-10-batches-py", r / "cifar10"):
            if (c / "data_batch_1").is_file() and (c / "test_batch").is_file():
                root = c
                break
        if root:
            break
    if root is None:
        raise DatasetError("CIFAR-10 not found: unpack cifar-10-python.tar.gz and pass the "
                           "cifar-10-batches-py folder as dataset.data_dir / --data-dir, or set REDS_DATA_DIR")

    def batch(p):
        with open(p, "rb") as f:
            d = pickle.load(f, encoding="bytes")
        x = np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return x.astype(np.float32) / 255.0, np.asarray(d[b"labels"], np.int32)

    parts = [batch(p) for p in sorted(root.glob("data_batch_*"))]
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    x_test, y_test = batch(root / "test_batch")
    idx = np.random.default_rng(seed).permutation(len(x))
    n_val = int(len(x) * val_fraction)
    v, t = idx[:n_val], idx[n_val:]
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    return Dataset(x[t], y[t], x[v], y[v], x_test, y_test, 10, (32, 32, 3), names)


def load_vww(data_dir=None, image_size: int = 96, seed: int = 0, val_fraction: float = 0.1,
             test_fraction: float = 0.1) -> Dataset:
    """Visual Wake Words from a folder with ``person/`` and ``non_person/`` images (MLPerf Tiny
    layout, ``vw_coco2014_96``), resized to ``image_size``, scaled to [0, 1]."""
    roots = [Path(data_dir)] if data_dir else []
    if os.environ.get("REDS_DATA_DIR"):
        roots += [Path(os.environ["REDS_DATA_DIR"])]
    root = next((c for r in roots for c in (r, r / "vw_coco2014_96", r / "vww")
                 if (c / "person").is_dir() and (c / "non_person").is_dir()), None)
    if root is None:
        raise DatasetError("Visual Wake Words not found: pass a folder with person/ and non_person/ "
                           "image folders (MLPerf Tiny vw_coco2014_96) as dataset.data_dir / --data-dir, "
                           "or set REDS_DATA_DIR")
    import tensorflow as tf

    xs, ys = [], []
    for label, sub in enumerate(("non_person", "person")):
        for p in sorted((root / sub).iterdir()):
            if p.suffix.lower() not in (".jpg", ".jpeg", ".png", ".bmp"):
                continue
            img = tf.io.decode_image(tf.io.read_file(str(p)), channels=3, expand_animations=False)
            xs.append(tf.image.resize(img, (image_size, image_size)).numpy() / 255.0)
            ys.append(label)
    x, y = np.asarray(xs, np.float32), np.asarray(ys, np.int32)
    idx = np.random.default_rng(seed).permutation(len(x))
    n_val, n_test = int(len(x) * val_fraction), int(len(x) * test_fraction)
    v, te, tr = idx[:n_val], idx[n_val:n_val + n_test], idx[n_val + n_test:]
    return Dataset(x[tr], y[tr], x[v], y[v], x[te], y[te], 2, (image_size, image_size, 3),
                   ["non_person", "person"])


