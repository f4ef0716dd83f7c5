"""The REDS pipeline as resumable steps over a run directory.

pretrain → importance → plan → permute → finetune → export → verify
(`reds train` runs up to finetune, `reds export` the export, `reds demo` all of them plus the
firmware build, the bench and the report). Every step writes its artifacts into the run
directory and is journaled (see `rundir.RunDir`), so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reds.errors import UserError
from reds.plan.problem import plan_problem
from reds.pipeline.rundir import RunDir, write_bytes

TRAIN_STEPS = ["pretrain", "importance", "plan", "permute", "finetune"]


@dataclass
class Config:
    """Everything the pipeline needs, flattened from a recipe (`recipe.load_recipe`)."""

    arch: str
    dataset: dict
    seed: int = 0
    input_shape: tuple | None = None
    classes: int | None = None
    width_mult: float = 1.0
    arch_options: dict | None = None
    arch_dir: str | None = None  # where a recipe's model file or builder module is found
    pretrain_epochs: int = 10
    pretrain_batch: int = 64
    pretrain_lr: float = 3e-3
    importance_method: str = "taylor"
    importance_batches: int = 100
    importance_batch_size: int = 100
    budgets: tuple = (1.0, 0.75, 0.5, 0.25)
    peak_memory: int | None = None
    min_width: int = 1
    finetune_epochs: int = 10
    finetune_batch: int = 64
    finetune_lr: float = 1e-3
    bn_epochs: int = 1
    calibration_samples: int = 300
    plan_time_limit: float = 60.0
    budget_kind: str = "macs"
    latency_model: str | None = None

    @classmethod
    def from_recipe(cls, recipe) -> "Config":
        r = recipe if isinstance(recipe, dict) else recipe.to_dict()
        pre, imp = r.get("pretrain", {}), r.get("importance", {})
        plan, ft, ex = r.get("plan", {}), r.get("finetune", {}), r.get("export", {})
        budgets = tuple(float(b) for b in plan.get("budgets", cls.budgets))
        if 1.0 not in budgets:
            budgets = (1.0,) + budgets  # subnet 0 is always the full model
        return cls(
            arch=r["arch"], dataset=dict(r["dataset"]), seed=int(r.get("seed", 0)),
            input_shape=tuple(r["input_shape"]) if r.get("input_shape") else None,
            classes=r.get("classes"), width_mult=float(r.get("width_mult", 1.0)),
            arch_options=dict(r.get("arch_options") or {}), arch_dir=r.get("arch_dir"),
            pretrain_epochs=pre.get("epochs", cls.pretrain_epochs),
            pretrain_batch=pre.get("batch_size", cls.pretrain_batch),
            pretrain_lr=pre.get("lr", cls.pretrain_lr),
            importance_method=imp.get("method", cls.importance_method),
            importance_batches=imp.get("batches", cls.importance_batches),
            importance_batch_size=imp.get("batch_size", cls.importance_batch_size),
            budgets=tuple(sorted(budgets, reverse=True)),
            peak_memory=plan.get("peak_memory"), min_width=plan.get("min_width", 1),
            finetune_epochs=ft.get("epochs", cls.finetune_epochs),
            finetune_batch=ft.get("batch_size", cls.finetune_batch),
            finetune_lr=ft.get("lr", cls.finetune_lr), bn_epochs=ft.get("bn_epochs", cls.bn_epochs),
            calibration_samples=ex.get("calibration_samples", cls.calibration_samples),
            budget_kind=plan.get("budget_kind") or "macs", latency_model=plan.get("latency_model"),
        )


class Pipeline:
    """Runs the steps of one run directory; each `step_*` returns (summary line, result)."""

    def __init__(self, cfg: Config, out: str | Path, console=None):
        self.cfg = cfg
        self.run = RunDir(out)
        self.console = console
        self._data = None
        self.warnings: list[str] = []  # quality-gate lines of the running step
        # config.json is written once a step has finished: a run that fails at its first step
        # leaves nothing behind, and `reds export` reads it without rewriting it
        if console is not None and self.run.journal.dropped:
            console.print(f"[yellow]{self.run.journal.path}: set aside "
                          f"{len(self.run.journal.dropped)} incomplete line(s) in "
                          f"{self.run.journal.path.name}.torn; those steps rerun")

    # ------------------------------------------------------------------ helpers
    @property
    def progress_bars(self) -> bool:
        """Epoch bars only on a terminal: in a file or a pipe their frames are noise."""
        return sys.stderr.isatty()

    @property
    def data(self):
        """The recipe's dataset, loaded on first use (another pipeline may share its own)."""
        if self._data is None:
            from reds.data.registry import load_dataset

            opts = dict(self.cfg.dataset)
            name = opts.pop("name")
            if name in ("speech_commands", "kws_synth"):  # the loaders that draw a progress bar
                opts.setdefault("progress", self.progress_bars)
            self._data = load_dataset(name, seed=self.cfg.seed, **opts)
        return self._data

    @data.setter
    def data(self, value) -> None:
        self._data = value

    def seed(self) -> None:
        """Seed Keras, NumPy and Python with the recipe's seed; TF ops run deterministically."""
        from reds.train.pretrain import set_determinism

        set_determinism(self.cfg.seed)

    def load(self, name):
        """A Keras model saved in the run directory (`name` relative to it, or a full path)."""
        import keras

        from reds.model import zoo

        del zoo
        return keras.models.load_model(self.run / name, compile=False)

    def save(self, model, name: str) -> None:
        save_model(model, self.run / name)

    def plan_problem(self, model):
        """The planner's problem of `model` with this run's importance scores (`scores.npz`)."""
        scores = dict(np.load(self.run / "scores.npz"))
        lat = self.cfg.latency_model if self.cfg.budget_kind == "latency" else None
        if lat is not None and self.cfg.arch_dir and not Path(lat).is_absolute():
            lat = str(Path(self.cfg.arch_dir) / lat)  # a recipe's file names are beside it
        return plan_problem(model, scores, self.data.x_train, self.cfg.min_width, lat)[0]

    def build_model(self):
        """The untrained (or, for a user's model file, as-saved) model of this run's arch."""
        from reds.model.user import build_arch

        d = self.data
        return build_arch(self.cfg.arch, self.cfg.input_shape or d.input_shape, self.cfg.classes or d.num_classes,
                          seed=self.cfg.seed, width_mult=self.cfg.width_mult, arch_options=self.cfg.arch_options,
                          arch_dir=self.cfg.arch_dir)

    def groups(self, model):
        from reds.model.groups import channel_groups

        return channel_groups(model, min_width=self.cfg.min_width)

    def subnet_widths(self) -> list[dict]:
        return [s["widths"] for s in self.run.read_json("plan.json")["subnets"]]

    def step(self, name: str, fn):
        def gated():
            self.warnings = []
            summary, result = fn()
            return summary, result, list(self.warnings)

        out = self.run.run(name, gated, self.console)
        if not (self.run / "config.json").exists() or name == TRAIN_STEPS[0]:
            self.run.write_json("config.json", self.cfg.__dict__)
        return out

    def check_accuracies(self, kind: str, accs, samples: int, label: str = "subnet {k}") -> None:
        """Quality gate: a subnet at or near chance accuracy, or far below the full model, is
        worth a warning, not a ✓."""
        classes = self.cfg.classes or self.data.num_classes
        for line in accuracy_warnings(kind, accs, samples, classes, label):
            self.warn(line)

    def warn(self, text: str) -> None:
        """A quality-gate finding of the running step: printed, journaled, shown in report.md."""
        self.warnings.append(text)

    # ------------------------------------------------------------------ steps
    def step_pretrain(self):
        from reds.train.finetune import evaluate_subnets
        from reds.train.pretrain import pretrain

        self.seed()
        d = self.data
        model = self.build_model()
        pretrain(model, d, epochs=self.cfg.pretrain_epochs, batch_size=self.cfg.pretrain_batch,
                 lr=self.cfg.pretrain_lr, seed=self.cfg.seed, progress=self.progress_bars)
        self.save(model, "pretrained.keras")
        full = {g.name: g.width for g in self.groups(model)}
        acc = evaluate_subnets(model, d.x_test, d.y_test, [full], groups=self.groups(model))[0]
        self.check_accuracies("float", [acc], len(d.y_test), label="the pretrained model")
        return (f"{self.cfg.arch}: {model.count_params():,} parameters, test accuracy "
                f"{100 * acc:.1f} %", {"test_accuracy": acc})

    def step_importance(self):
        from reds.train.importance import compute_scores

        model = self.load("pretrained.keras")
        d = self.data
        scores = compute_scores(model, self.cfg.importance_method, data=(d.x_train, d.y_train),
                                batches=self.cfg.importance_batches,
                                batch_size=self.cfg.importance_batch_size, seed=self.cfg.seed,
                                groups=self.groups(model), progress=self.progress_bars)
        np.savez(self.run / "scores.npz", **scores)
        return (f"{self.cfg.importance_method} scores for {len(scores)} channel groups",
                {"groups": list(scores)})

    def step_plan(self):
        from reds.plan import planner

        problem = self.plan_problem(self.load("pretrained.keras"))
        t0 = time.perf_counter()
        plan = planner.solve(problem, list(self.cfg.budgets), peak_memory=self.cfg.peak_memory,
                             time_limit=self.cfg.plan_time_limit,
                             budget_kind="latency" if self.cfg.budget_kind == "latency" else "auto")
        seconds = time.perf_counter() - t0
        doc = planner.plan_to_json(plan, self.cfg.arch, list(self.cfg.budgets), seconds)
        self.run.write_json("plan.json", doc)
        for line in plan_warnings(doc):
            self.warn(line)
        subs = doc["subnets"]
        return ("; ".join(f"{100 * s['budget']:.0f}%→{s['macs']:,} MACs ({s['status']})" for s in subs)
                + f" in {seconds:.2f} s", {"solve_seconds": seconds})

    def step_permute(self):
        from reds.train.permute import permute_model

        model = self.load("pretrained.keras")
        scores = dict(np.load(self.run / "scores.npz"))
        permuted = permute_model(model, scores, groups=self.groups(model))
        self.save(permuted, "permuted.keras")
        return "units sorted by importance in every group", None

    def step_finetune(self):
        from reds.train.finetune import evaluate_subnets, finetune_joint

        self.seed()
        model = self.load("permuted.keras")
        widths = self.subnet_widths()
        groups = self.groups(model)
        d = self.data
        finetune_joint(model, d, widths, epochs=self.cfg.finetune_epochs,
                       batch_size=self.cfg.finetune_batch, lr=self.cfg.finetune_lr,
                       bn_epochs=self.cfg.bn_epochs, groups=groups, seed=self.cfg.seed,
                       progress=self.progress_bars)
        self.save(model, "model.keras")
        accs = evaluate_subnets(model, d.x_test, d.y_test, widths, groups=groups)
        self.update_metrics(float_accuracy=accs)
        self.record_samples(float=len(d.y_test))
        self.check_accuracies("float", accs, len(d.y_test))
        return ("float accuracy " + " / ".join(f"{100 * a:.1f}" for a in accs) + " %",
                {"float_accuracy": accs})

    def step_export(self, out: Path | None = None):
        from reds.export.nested import export_nested, subnet_accuracies
        from reds.export.c_array import write_c_array

        model = self.load("model.keras")
        # activation ranges calibrated over every subnet, not only the full model (calibrate.py)
        calibration: dict = {}
        nested = export_nested(model, self.groups(model), self.subnet_widths(), self.data.x_train,
                               all_subnets=True, max_samples=self.cfg.calibration_samples,
                               report=calibration)
        elsewhere = out is not None and Path(out).resolve() != (self.run / "model.tflite").resolve()
        out = Path(out) if out else self.run / "model.tflite"
        if elsewhere:  # the run folder's own export stays as it was
            write_bytes(out, nested)
        else:
            self.run.write_json("calibration.json", calibration)
            write_bytes(out, nested)
            write_c_array(nested, self.run / "model_data.c", source=out.name)
        accs = subnet_accuracies(nested, self.data.x_test, self.data.y_test)
        n = len(self.data.y_test)
        if not elsewhere:
            self.update_metrics(int8_accuracy=accs)
            self.record_samples(int8=n)
        self.check_accuracies("int8", accs, n)
        return (f"{out.name}: {len(nested):,} bytes, int8 accuracy "
                + " / ".join(f"{100 * a:.1f}" for a in accs) + " %", {"int8_accuracy": accs})

    def step_verify(self, n: int = 20):
        from reds.export.convert import quantize_input
        from reds.runtime.verify import verify_model

        nested = (self.run / "model.tflite").read_bytes()
        xs = quantize_input(nested, self.data.x_test[:n])
        rep = verify_model(nested, xs)
        self.run.write_json("verify.json", rep.to_dict())
        if not rep.ok:
            raise UserError("runtime differs from TFLM: " + "; ".join(map(str, rep.mismatches[:5])))
        return (f"runtime == TFLM bit for bit on {n} inputs × {len(rep.subnets)} subnets", rep.to_dict())

    # ------------------------------------------------------------------ metrics
    def record_samples(self, **counts: int) -> None:
        """How many test samples each accuracy column of metrics.json rests on."""
        metrics = self.run.read_json("metrics.json")
        metrics.setdefault("samples", {}).update({k: int(v) for k, v in counts.items()})
        self.run.write_json("metrics.json", metrics)

    def update_metrics(self, **columns: list) -> None:
        """Set per-subnet columns of metrics.json (one value per subnet of plan.json)."""
        path = self.run / "metrics.json"
        metrics = self.run.read_json("metrics.json") if path.exists() else {"subnets": []}
        plan = self.run.read_json("plan.json")["subnets"]
        rows = metrics["subnets"]
        while len(rows) < len(plan):
            rows.append({"subnet": len(rows)})
        for k, row in enumerate(rows):
            row["macs"] = plan[k]["macs"]
            for key, values in columns.items():
                row[key] = values[k]
        # what the accuracies are measured on: class names (e.g. a folder dataset's) and counts
        metrics["dataset"] = {"name": self.cfg.dataset.get("name"), **self.data.summary()}
        self.run.write_json("metrics.json", metrics)

    def uniform_baseline(self, model, problem, progress: bool | None = None):
        """The uniform-width baseline (slimmable-style): for each budget the largest single
        width multiplier that fits (`planner.uniform_widths`), all jointly fine-tuned from
        `model` in its own unit order. Returns (UniformWidths per budget, float accuracies,
        fine-tuning history); `model` is tuned in place."""
        from reds.plan import planner
        from reds.train.finetune import evaluate_subnets, finetune_joint

        progress = self.progress_bars if progress is None else progress
        subs = [planner.uniform_widths(problem, b) for b in self.cfg.budgets]
        widths = [s.widths for s in subs]
        groups = self.groups(model)
        d = self.data
        hist = finetune_joint(model, d, widths, epochs=self.cfg.finetune_epochs,
                              batch_size=self.cfg.finetune_batch, lr=self.cfg.finetune_lr,
                              bn_epochs=self.cfg.bn_epochs, groups=groups, seed=self.cfg.seed,
                              progress=progress)
        accs = evaluate_subnets(model, d.x_test, d.y_test, widths, groups=groups)
        return subs, accs, hist

    def run_steps(self, names: list[str]) -> RunDir:
        """Run the steps `names` in order (`step_<name>`), each skipped when already finished:
        the one step runner of `reds train`, `reds demo` and `reds compare`."""
        for name in names:
            self.step(name, getattr(self, f"step_{name}"))
        return self.run

    def train(self) -> RunDir:
        return self.run_steps(TRAIN_STEPS)


def near_chance(accuracy: float, classes: int) -> bool:
    """At most a tenth of the way from chance (1/classes) to perfect."""
    chance = 1.0 / max(classes, 1)
    return accuracy < chance + 0.1 * (1.0 - chance)


def accuracy_warnings(kind: str, accs, samples: int, classes: int, label: str = "subnet {k}") -> list[str]:
    """A line per accuracy near chance, and per smaller subnet that keeps less than half of the
    full model's (subnet 0's) gain over chance: both are results nobody should deploy unseen."""
    chance = 1.0 / max(classes, 1)
    full = accs[0] if len(accs) else None
    out = []
    for k, a in enumerate(accs):
        who = label.format(k=k)
        if near_chance(a, classes):
            out.append(f"{who}: {kind} accuracy {100 * a:.1f} % on {samples} samples is near chance "
                       f"({100 * chance:.1f} % for {classes} classes); train longer or choose a "
                       "larger budget")
        elif k > 0 and full > chance and a - chance < 0.5 * (full - chance):
            out.append(f"{who}: {kind} accuracy {100 * a:.1f} % on {samples} samples keeps less than "
                       f"half of the full model's gain over chance ({100 * full:.1f} % vs "
                       f"{100 * chance:.1f} %); choose a larger budget or fine-tune longer")
    return out


def plan_warnings(doc: dict) -> list[str]:
    """Quality gate of a plan: a group of width 1 (a one-channel bottleneck) and a subnet
    identical to its larger neighbour (a budget that buys nothing)."""
    out = []
    subs = doc["subnets"]
    label = lambda s: f"{100 * s['budget']:.0f} %" if s["budget"] <= 1 else f"{s['budget']:,.0f} MACs"  # noqa: E731
    for k, s in enumerate(subs):
        ones = [g for g, w in s["widths"].items() if w == 1]
        if ones:
            out.append(f"subnet {k} ({label(s)}): width 1 in {', '.join(ones)}; "
                       "a one-channel layer rarely learns: raise --min-width or the budget")
        if k and s["widths"] == subs[k - 1]["widths"]:
            out.append(f"subnet {k} ({label(s)}) is identical to subnet {k - 1}: "
                       "the constraints (e.g. peak memory) leave no room between them; drop a "
                       "budget or relax the constraint")
    return out


def save_model(model, path: Path) -> None:
    """Save a Keras model under a temporary name, then rename: never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.keras")
    model.save(tmp)
    tmp.replace(path)
