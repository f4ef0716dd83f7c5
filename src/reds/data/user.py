"""Datasets a user brings: ``npz`` arrays and ``folder`` trees of WAV recordings or images.

* ``npz``: one ``.npz`` file with ``x_train, y_train`` and optionally ``x_val, y_val`` and
  ``x_test, y_test``; splits that are absent are drawn from the training arrays with the seed
  (stratified when every class has enough samples). Any input shape; integer labels
  ``0..C-1``; optional ``class_names`` array.
* ``folder``: one subfolder per class (class names = folder names, sorted); each holds WAV files
  (16 kHz mono; other rates are resampled, stereo keeps the first channel) turned into the
  Speech Commands MFCC front end (parameters from the recipe's ``mfcc:`` mapping), or images
  (PNG/JPEG/BMP) resized to ``image_size`` in RGB or grayscale. A class folder may not be empty
  and may not mix audio and images. Splits are stratified with the seed.

Every problem is one :class:`DatasetError` line naming the file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from reds.errors import DatasetError

AUDIO_SUFFIXES = (".wav",)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def split_arrays(x: np.ndarray, y: np.ndarray, seed: int, val_fraction: float, test_fraction: float):
    """Seeded split of ``(x, y)`` into train/val/test, stratified when every class allows it."""
    from sklearn.model_selection import train_test_split

    if not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise DatasetError(f"val_fraction {val_fraction} and test_fraction {test_fraction} must be in [0, 1) "
                           "and sum to less than 1")
    parts = {}
    rest_x, rest_y = x, y
    for name, frac in (("test", test_fraction), ("val", val_fraction)):
        n = int(round(len(y) * frac))
        if n == 0:
            parts[name] = (x[:0], y[:0])
            continue
        present = np.bincount(rest_y)
        present = present[present > 0]
        # stratify when every class can give a sample to both sides
        strat = rest_y if present.min() >= 2 and len(present) <= min(n, len(rest_y) - n) else None
        rest_x, px, rest_y, py = train_test_split(rest_x, rest_y, test_size=n, stratify=strat,
                                                  random_state=seed)
        parts[name] = (px, py)
    return (rest_x, rest_y), parts["val"], parts["test"]


# --------------------------------------------------------------------------- npz


def load_npz(path, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15):
    from reds.data.base import Dataset

    import zipfile

    path = Path(path)
    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file (dataset npz)") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DatasetError(f"{path}: not a readable .npz file ({e})") from None
    if not hasattr(z, "files"):
        raise DatasetError(f"{path}: a single array, expected an .npz archive with x_train and y_train")
    keys = set(z.files)
    for need in ("x_train", "y_train"):
        if need not in keys:
            raise DatasetError(f"{path}: missing array {need!r} (has: {', '.join(sorted(keys)) or 'nothing'})")
    for a, b in (("x_val", "y_val"), ("x_test", "y_test")):
        if (a in keys) != (b in keys):
            raise DatasetError(f"{path}: {a} and {b} must come together")

    def arrays(xk, yk):
        x, y = np.asarray(z[xk]), np.asarray(z[yk])
        if x.ndim < 2:
            raise DatasetError(f"{path}: {xk} has shape {list(x.shape)}; expected [samples, ...input shape]")
        if not np.issubdtype(x.dtype, np.number):
            raise DatasetError(f"{path}: {xk} has dtype {x.dtype}; expected numbers")
        y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise DatasetError(f"{path}: {yk} must be a 1-D array of integer class labels, "
                               f"got {y.dtype} of shape {list(y.shape)}")
        if len(x) != len(y):
            raise DatasetError(f"{path}: {xk} has {len(x)} samples but {yk} has {len(y)}")
        if len(y) and y.min() < 0:
            raise DatasetError(f"{path}: {yk} has negative labels")
        return x.astype(np.float32), y.astype(np.int32)

    x_train, y_train = arrays("x_train", "y_train")
    if len(y_train) == 0:
        raise DatasetError(f"{path}: x_train is empty")
    shape = x_train.shape[1:]
    have_val, have_test = "x_val" in keys, "x_test" in keys
    given = {}
    for split in ("val", "test"):
        if f"x_{split}" in keys:
            x, y = arrays(f"x_{split}", f"y_{split}")
            if x.shape[1:] != shape:
                raise DatasetError(f"{path}: x_{split} samples have shape {list(x.shape[1:])}, "
                                   f"x_train samples {list(shape)}")
            given[split] = (x, y)
    (x_train, y_train), val, test = split_arrays(x_train, y_train, seed,
                                                 0.0 if have_val else val_fraction,
                                                 0.0 if have_test else test_fraction)
    val, test = given.get("val", val), given.get("test", test)
    num_classes = int(max(y_train.max(), *(s[1].max() for s in (val, test) if len(s[1])))) + 1
    if "class_names" in keys:
        names = [str(n) for n in np.asarray(z["class_names"]).reshape(-1)]
        if len(names) != num_classes:
            raise DatasetError(f"{path}: class_names has {len(names)} names but the labels need {num_classes}")
    else:
        names = [str(i) for i in range(num_classes)]
    return Dataset(x_train, y_train, *val, *test, num_classes, tuple(int(d) for d in shape), names)


# --------------------------------------------------------------------------- folder


def _read_image(path: Path, size: tuple, color: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("RGB" if color == "rgb" else "L").resize((size[1], size[0]), Image.BILINEAR)
            x = np.asarray(img, np.float32) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DatasetError(f"{path}: not a readable image ({e})") from None
    return x if x.ndim == 3 else x[..., None]


def class_files(root: Path) -> tuple[list[str], list[list[Path]], str]:
    """Class names, their files and the kind ("audio" or "image") of a folder dataset."""
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder (dataset folder: one subfolder per class)")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DatasetError(f"{root}: found {len(classes)} class folder(s); a folder dataset needs one "
                           "subfolder per class and at least two classes")
    files, kinds = [], set()
    for c in classes:
        fs = sorted(p for p in c.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES + IMAGE_SUFFIXES)
        if not fs:
            raise DatasetError(f"{c}: empty class folder (no .wav, .png, .jpg or .bmp files)")
        kinds |= {"audio" if p.suffix.lower() in AUDIO_SUFFIXES else "image" for p in fs}
        files.append(fs)
    if len(kinds) > 1:
        raise DatasetError(f"{root}: mixes WAV files and images; use one kind per dataset")
    return [c.name for c in classes], files, kinds.pop()


def load_folder(path, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15,
                image_size=None, color: str = "rgb", sample_rate: int = 16000, clip_seconds: float = 1.0,
                mfcc: dict | None = None, progress: bool = True):
    from reds.data.base import Dataset, mfcc_features, read_wav

    root = Path(path)
    names, files, kind = class_files(root)
    if color not in ("rgb", "grayscale"):
        raise DatasetError(f"dataset folder: color must be 'rgb' or 'grayscale', got {color!r}")
    flat = [(p, label) for label, fs in enumerate(files) for p in fs]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(flat), desc=f"{root.name} {kind}", unit="file", leave=False)
    xs = []
    if kind == "audio":
        length = int(round(sample_rate * clip_seconds))
        for p, _ in flat:
            xs.append(read_wav(p, length, sample_rate=sample_rate))
            if bar is not None:
                bar.update(1)
        x = mfcc_features(np.stack(xs), sample_rate, params=mfcc)
    else:
        size = _image_size(image_size, flat[0][0])
        for p, _ in flat:
            xs.append(_read_image(p, size, color))
            if bar is not None:
                bar.update(1)
        x = np.stack(xs)
    if bar is not None:
        bar.close()
    y = np.asarray([label for _, label in flat], np.int32)
    train, val, test = split_arrays(x, y, seed, val_fraction, test_fraction)
    return Dataset(*train, *val, *test, len(names), tuple(int(d) for d in x.shape[1:]), names)


def _image_size(image_size, first: Path) -> tuple:
    if image_size is None:  # the first image's size
        from PIL import Image
        try:
            with Image.open(first) as img:
                return img.size[1], img.size[0]
        except OSError as e:
            raise DatasetError(f"{first}: not a readable image ({e})") from None
    if isinstance(image_size, int) and not isinstance(image_size, bool) and image_size > 0:
        return image_size, image_size
    if (isinstance(image_size, (list, tuple)) and len(image_size) == 2
            and all(isinstance(d, int) and d > 0 for d in image_size)):
        return tuple(image_size)
    raise DatasetError(f"dataset folder: image_size must be a positive integer or [height, width], got {image_size!r}")


__all__ = ["load_npz", "load_folder", "split_arrays", "class_files"]
