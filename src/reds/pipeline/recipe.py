"""Recipe YAML: what to train, how to score, plan, fine-tune and export.

Schema (``?`` = optional, defaults in brackets)::

    arch: ds_cnn_s                 # a reds.model.zoo arch (ARCHS), a Keras file (model.keras, relative
                                   # to the recipe) or a builder package.module:function
    arch_options?: {}              # extra builder arguments, e.g. {channels: 8, blocks: 2}
    width_mult?: 1.0               # width multiplier (MobileNet alpha)
    dataset: {name: speech_commands, data_dir?: PATH, ...}   # reds.data.builtin loader + options;
                                   # npz/folder take path: FILE|DIR (relative to the recipe)
    input_shape?: [49, 10, 1]      # [from the dataset]
    classes?: 12                   # [from the dataset]
    pretrain: {epochs: 30, batch_size: 64, lr: 0.001}        # epochs 0 = skip
    importance: {method: taylor|magnitude|random [taylor], batches: [100], batch_size: [100]}
    plan: {budgets: [1.0, 0.75, 0.5, 0.25],  # MAC fractions of the full model, in (0, 1]
           peak_memory?: 65536 | "64KiB",    # arena bytes every subnet must fit
           min_width?: 1 | {group: n}}       # smallest width per group [1]
    finetune: {epochs: 10, batch_size: 64, lr: 0.0001, bn_epochs: [1]}
    export: {calibration_samples: [200]}
    seed?: 0

``load_recipe(path)`` validates everything and raises ``RecipeError`` (a ``UserError``) naming
the file, the key path (``pretrain.epochs``) and the allowed values.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from reds.errors import UserError


class RecipeError(UserError):
    """A recipe file is malformed; the message names the file and the key."""


IMPORTANCE_METHODS = ("taylor", "magnitude", "random")


@dataclass
class TrainConfig:
    epochs: int
    batch_size: int
    lr: float


@dataclass
class ImportanceConfig:
    method: str = "taylor"
    batches: int = 100
    batch_size: int = 100


@dataclass
class PlanConfig:
    budgets: list[float]
    peak_memory: int | None = None
    min_width: int | dict = 1
    budget_kind: str = "macs"  # "latency": budgets are fractions of the full model's latency
    latency_model: str | None = None  # latency_model.json (reds bench calibrate-latency)


@dataclass
class FinetuneConfig:
    epochs: int
    batch_size: int
    lr: float
    bn_epochs: int = 1


@dataclass
class ExportConfig:
    calibration_samples: int = 200


@dataclass
class Recipe:
    arch: str
    dataset: dict
    pretrain: TrainConfig
    importance: ImportanceConfig
    plan: PlanConfig
    finetune: FinetuneConfig
    export: ExportConfig = field(default_factory=ExportConfig)
    input_shape: tuple | None = None
    classes: int | None = None
    width_mult: float = 1.0
    arch_options: dict = field(default_factory=dict)
    seed: int = 0
    path: str | None = None
    arch_dir: str | None = None

    @property
    def dataset_name(self) -> str:
        return self.dataset["name"]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape) if self.input_shape else None
        return d


# --------------------------------------------------------------------------- validation helpers


class _V:
    def __init__(self, where: str):
        self.where = where

    def err(self, key: str, msg: str):
        raise RecipeError(f"{self.where}: {key}: {msg}")

    def mapping(self, data, key: str, allowed: dict, required=()):
        if not isinstance(data, dict):
            self.err(key, f"must be a mapping, got {type(data).__name__}")
        for k in data:
            if k not in allowed:
                where = f"in {key}" if key != "(top level)" else "at the top level"
                raise RecipeError(f"{self.where}: unknown key {k!r} {where}; allowed: {', '.join(allowed)}")
        for k in required:
            if k not in data or data[k] is None:
                self.err(f"{key}.{k}" if key != "(top level)" else k, "is required")
        return data

    def int_(self, v, key, minimum=0):
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            self.err(key, f"must be an integer >= {minimum}, got {v!r}")
        return int(v)

    def float_(self, v, key, lo=0.0, hi=None, lo_open=True):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.err(key, f"must be a number, got {v!r}")
        v = float(v)
        if (v <= lo if lo_open else v < lo) or (hi is not None and v > hi):
            rng = f"({lo}, {hi}]" if hi is not None else f"> {lo}"
            self.err(key, f"must be in {rng}, got {v!r}")
        return v

    def choice(self, v, key, allowed):
        if v not in allowed:
            self.err(key, f"{v!r} is not allowed; allowed: {', '.join(allowed)}")
        return v


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000 ** 2, "mb": 1000 ** 2, "mib": 1024 ** 2}


def parse_bytes(v, key="peak_memory", where="recipe") -> int:
    """``65536``, ``"64KiB"``, ``"64 kB"``, ``"1MiB"`` -> bytes."""
    if isinstance(v, int) and not isinstance(v, bool) and v > 0:
        return v
    if isinstance(v, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", v)
        if m and m.group(2).lower() in _UNITS:
            n = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
            if n > 0:
                return n
    raise RecipeError(f"{where}: {key}: must be a positive byte count like 65536 or \"64KiB\" "
                      f"(units B, kB, KiB, MB, MiB), got {v!r}")


# --------------------------------------------------------------------------- loading

DATASET_PATH_KEYS = ("path", "data_dir", "cache_dir")

TOP_KEYS = {"arch": None, "arch_options": None, "width_mult": None, "dataset": None, "input_shape": None,
            "classes": None, "pretrain": None, "importance": None, "plan": None, "finetune": None,
            "export": None, "seed": None}


def parse_recipe(data, where: str = "recipe") -> Recipe:
    """Validate a recipe already loaded from YAML (a dict)."""
    from reds.data.registry import DATASETS
    from reds.model.user import arch_error, arch_kind

    v = _V(where)
    if data is None:
        raise RecipeError(f"{where}: empty recipe")
    v.mapping(data, "(top level)", TOP_KEYS, required=("arch", "dataset", "pretrain", "plan", "finetune"))
    arch = data["arch"]
    if arch_kind(arch) is None:
        v.err("arch", arch_error(arch))
    arch_options = data.get("arch_options") or {}
    if not isinstance(arch_options, dict):
        v.err("arch_options", "must be a mapping")
    width_mult = v.float_(data.get("width_mult", 1.0), "width_mult", 0.0, 4.0)

    ds = data["dataset"]
    if isinstance(ds, str):
        ds = {"name": ds}
    if not isinstance(ds, dict) or "name" not in ds:
        v.err("dataset", "must be a mapping with a 'name' (or just the name)")
    v.choice(ds["name"], "dataset.name", list(DATASETS))

    input_shape = data.get("input_shape")
    if input_shape is not None:
        if (not isinstance(input_shape, (list, tuple)) or not input_shape
                or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in input_shape)):
            v.err("input_shape", f"must be a list of positive integers like [49, 10, 1], got {input_shape!r}")
        input_shape = tuple(input_shape)
    classes = data.get("classes")
    if classes is not None:
        classes = v.int_(classes, "classes", 2)

    p = v.mapping(data["pretrain"], "pretrain", {"epochs": 0, "batch_size": 0, "lr": 0},
                  required=("epochs", "batch_size", "lr"))
    pretrain = TrainConfig(v.int_(p["epochs"], "pretrain.epochs", 0), v.int_(p["batch_size"], "pretrain.batch_size", 1),
                           v.float_(p["lr"], "pretrain.lr"))

    imp = v.mapping(data.get("importance") or {}, "importance", {"method": 0, "batches": 0, "batch_size": 0})
    importance = ImportanceConfig(
        v.choice(imp.get("method", "taylor"), "importance.method", IMPORTANCE_METHODS),
        v.int_(imp.get("batches", 100), "importance.batches", 1),
        v.int_(imp.get("batch_size", 100), "importance.batch_size", 1))

    pl = v.mapping(data["plan"], "plan", {"budgets": 0, "peak_memory": 0, "min_width": 0, "budget_kind": 0,
                                          "latency_model": 0}, required=("budgets",))
    budgets = pl["budgets"]
    if not isinstance(budgets, list) or not budgets:
        v.err("plan.budgets", f"must be a non-empty list of MAC fractions in (0, 1], got {budgets!r}")
    budgets = [v.float_(b, f"plan.budgets[{i}]", 0.0, 1.0) for i, b in enumerate(budgets)]
    if len(set(budgets)) != len(budgets):
        v.err("plan.budgets", f"has duplicates: {budgets}")
    budgets = sorted(budgets, reverse=True)
    peak = pl.get("peak_memory")
    peak = parse_bytes(peak, "plan.peak_memory", where) if peak is not None else None
    mw = pl.get("min_width", 1)
    if isinstance(mw, dict):
        mw = {str(k): v.int_(n, f"plan.min_width.{k}", 1) for k, n in mw.items()}
    else:
        mw = v.int_(mw, "plan.min_width", 1)
    kind = v.choice(pl.get("budget_kind", "macs"), "plan.budget_kind", ("macs", "latency"))
    lat = pl.get("latency_model")
    if kind == "latency" and not lat:
        v.err("plan.latency_model", "is required with budget_kind: latency (a latency_model.json)")
    if lat is not None and not isinstance(lat, str):
        v.err("plan.latency_model", f"must be a file path, got {lat!r}")
    plan = PlanConfig(budgets, peak, mw, kind, lat)

    f = v.mapping(data["finetune"], "finetune", {"epochs": 0, "batch_size": 0, "lr": 0, "bn_epochs": 0},
                  required=("epochs", "batch_size", "lr"))
    finetune = FinetuneConfig(v.int_(f["epochs"], "finetune.epochs", 0),
                              v.int_(f["batch_size"], "finetune.batch_size", 1),
                              v.float_(f["lr"], "finetune.lr"), v.int_(f.get("bn_epochs", 1), "finetune.bn_epochs", 0))

    e = v.mapping(data.get("export") or {}, "export", {"calibration_samples": 0})
    export = ExportConfig(v.int_(e.get("calibration_samples", 200), "export.calibration_samples", 1))
    seed = v.int_(data.get("seed", 0), "seed", 0)
    return Recipe(arch=arch, dataset=dict(ds), pretrain=pretrain, importance=importance, plan=plan,
                  finetune=finetune, export=export, input_shape=input_shape, classes=classes,
                  width_mult=width_mult, arch_options=dict(arch_options), seed=seed)


def load_recipe(path) -> Recipe:
    """Read and validate a recipe YAML file."""
    from reds.model.user import arch_kind

    path = Path(path)
    if path.is_dir():
        path = path / "recipe.yaml"
    try:
        text = path.read_text()
    except OSError as e:
        raise RecipeError(f"cannot read recipe {path}: {e.strerror or e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise RecipeError(f"{path}: not valid YAML: {e}") from None
    recipe = parse_recipe(data, str(path))
    recipe.path = str(path)
    if arch_kind(recipe.arch) != "zoo":  # a model file or builder module lives beside the recipe
        recipe.arch_dir = str(path.parent.resolve())
    for key in DATASET_PATH_KEYS:  # relative dataset paths are relative to the recipe's folder
        value = recipe.dataset.get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            recipe.dataset[key] = str((path.parent / value).resolve())
    return recipe
