"""The dataset names a recipe may use: ``load_dataset(name, **opts) -> Dataset``."""
from __future__ import annotations

from reds.data.base import Dataset
from reds.data.builtin import load_cifar10, load_digits, load_speech_commands, load_synthetic, load_vww
from reds.data.kws_synth import load_kws_synth
from reds.data.user import load_folder, load_npz
from reds.errors import DatasetError, UserError


DATASETS = {
    "digits": load_digits,
    "kws_synth": load_kws_synth,
    "npz": load_npz,
    "folder": load_folder,
    "speech_commands": load_speech_commands,
    "synthetic": load_synthetic,
    "cifar10": load_cifar10,
    "vww": load_vww,
}


def load_dataset(name: str, **opts) -> Dataset:
    """Load dataset ``name`` (one of ``DATASETS``); ``opts`` go to its loader."""
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}")
    try:
        return DATASETS[name](**opts)
    except TypeError as e:
        if "unexpected keyword" in str(e) or "required positional argument" in str(e):
            msg = str(e).split(") ", 1)[-1]  # "got an unexpected keyword argument 'x'" / "missing ..."
            raise UserError(f"dataset {name!r}: {msg}") from None
        raise


__all__ = ["Dataset", "load_dataset", "DATASETS"]
