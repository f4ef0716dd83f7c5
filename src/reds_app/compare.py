"""`reds compare`: REDS against its baselines on one dataset, architecture and set of budgets.

Methods (all at the same MAC budgets: fractions of the exact MACs of the int8 graph, as the
planner counts them):

* ``reds``: the pipeline itself: pretrain → Taylor importance → exact plan → permute → joint
  fine-tune (``reds.pipeline.steps.Pipeline`` on ``OUT/reds``).
* ``uniform``: one width multiplier for every group, the largest that fits each budget
  (``planner.uniform_widths``), jointly fine-tuned from the pretrained model in its original
  unit order (slimmable-style).
* ``magnitude`` / ``random``: the REDS pipeline with L1-magnitude or random unit scores
  instead of Taylor (same exact planner, permutation and joint fine-tuning; ``OUT/magnitude``,
  ``OUT/random``).
* ``independent``: every REDS subnet's widths trained from scratch as its own physically
  sliced model (no shared weights, no nesting of weights), for ``pretrain + finetune`` epochs
  with the pretraining schedule (Adam, cosine-decayed ``pretrain.lr``, last epoch kept).

With ``int8`` (the default) every method's subnets are also converted to int8 the way they
would be deployed and run by the C runtime (bit-exact with TFLM) on the test split: the three
nested methods and ``uniform`` as one nested file each (``reds export``: activation ranges
calibrated over every subnet), ``independent`` as one file per subnet. Rows then carry
``int8_accuracy`` beside ``float_accuracy``.

The full model is pretrained once (in ``OUT/reds``) and shared by every method that starts from
it. Each method's steps are journaled (``reds.pipeline.rundir.RunDir``), so an interrupted comparison
resumes; ``OUT/reds``, ``OUT/magnitude`` and ``OUT/random`` are ordinary run directories that
``reds export`` accepts. Results: ``OUT/compare.json`` (rewritten after every method, so nothing
measured is lost) and ``OUT/compare.md`` (accuracy table: rows = budgets, columns = methods).

Everything is seeded with the recipe's seed and TF ops run deterministically.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Iterable

from reds.errors import UserError
from reds.pipeline.steps import Config, Pipeline, save_model
from reds.pipeline.rundir import RunDir, write_text

METHODS = ("reds", "uniform", "magnitude", "random", "independent")
DESCRIPTIONS = {
    "reds": "Taylor importance, exact plan, permute, joint fine-tune",
    "uniform": "uniform width multiplier, joint fine-tune (slimmable-style)",
    "magnitude": "L1-magnitude importance, exact plan, permute, joint fine-tune",
    "random": "random importance, exact plan, permute, joint fine-tune",
    "independent": "each REDS subnet's widths trained alone from scratch (pretrain+finetune epochs)",
}
# `--fast`: a quick look at every method (shorter than `reds demo --fast`, which keeps 12
# pretrain / 6 fine-tune epochs and 20 importance batches for its one method)
FAST = dict(pretrain_epochs=4, finetune_epochs=3, bn_epochs=1, importance_batches=10,
            calibration_samples=100)


# --------------------------------------------------------------------------- inputs


def parse_methods(methods: str | Iterable[str] | None) -> list[str]:
    """``"reds,uniform"`` or ``["reds", "uniform"]`` → validated list, duplicates dropped."""
    if methods is None:
        return list(METHODS)
    if isinstance(methods, str):
        methods = methods.split(",")
    out: list[str] = []
    for m in methods:
        m = str(m).strip().lower()
        if not m:
            continue
        if m not in METHODS:
            raise UserError(f"unknown comparison method {m!r}; allowed: {', '.join(METHODS)}")
        if m not in out:
            out.append(m)
    if not out:
        raise UserError(f"no comparison method given; allowed: {', '.join(METHODS)}")
    return out


def make_config(recipe_or_config, fast: bool = False, pretrain_epochs: int | None = None,
                finetune_epochs: int | None = None, seed: int | None = None) -> tuple[Config, str | None]:
    """A pipeline ``Config`` (a copy) from a recipe path, ``Recipe``, recipe dict or ``Config``,
    with the ``fast`` reduction and the epoch / seed overrides applied. Returns (config, recipe
    path)."""
    from reds.pipeline.recipe import Recipe, load_recipe, parse_recipe

    path = None
    if isinstance(recipe_or_config, Config):
        cfg = dataclasses.replace(recipe_or_config)
    elif isinstance(recipe_or_config, Recipe):
        cfg, path = Config.from_recipe(recipe_or_config), recipe_or_config.path
    elif isinstance(recipe_or_config, dict):
        cfg = Config.from_recipe(parse_recipe(recipe_or_config))
    elif isinstance(recipe_or_config, (str, os.PathLike)):
        recipe = load_recipe(recipe_or_config)
        cfg, path = Config.from_recipe(recipe), recipe.path
    else:
        raise UserError(f"compare: expected a recipe path, Recipe, dict or Config, "
                        f"got {type(recipe_or_config).__name__}")
    if fast:
        cfg = dataclasses.replace(cfg, **FAST)
    for name, value in (("pretrain_epochs", pretrain_epochs), ("finetune_epochs", finetune_epochs),
                        ("seed", seed)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UserError(f"{name} must be an integer >= 0, got {value!r}")
            cfg = dataclasses.replace(cfg, **{name: value})
    return cfg, path


def _config_doc(cfg: Config) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(cfg), default=str))


# --------------------------------------------------------------------------- the comparison


class _Comparison:
    def __init__(self, cfg: Config, out_dir, methods: list[str], progress: bool, console,
                 int8: bool = True):
        self.cfg, self.methods, self.progress, self.console = cfg, methods, progress, console
        self.int8 = int8
        # absolute: a relative OUT would be joined once more onto OUT/reds when the base
        # pipeline loads a file of another method's folder
        self.run = RunDir(Path(out_dir).resolve())
        self._check_config()
        self.base = Pipeline(cfg, self.run / "reds", console)
        self._problem = None

    def _check_config(self) -> None:
        """Refuse to resume a directory made with another configuration (mixed results)."""
        doc = _config_doc(self.cfg)
        path = self.run / "compare_config.json"
        if path.exists():
            old = json.loads(path.read_text())
            diff = sorted(k for k in set(old) | set(doc) if old.get(k) != doc.get(k))
            if diff:
                raise UserError(f"{self.run.path} holds a comparison made with another configuration "
                                f"(differs in: {', '.join(diff)}); use another --out or delete it")
        else:
            self.run.write_json("compare_config.json", doc)

    def say(self, text: str) -> None:
        if self.console is not None:
            self.console.rule(f"[bold]{text}")

    # ------------------------------------------------------------ shared pieces
    def shared(self) -> dict:
        """Pretrain once (and score with Taylor, needed for the cost model), in OUT/reds."""
        self.say("shared: pretrain")
        self.base.run_steps(["pretrain", "importance"])
        if "reds" in self.methods or "independent" in self.methods:
            self.base.run_steps(["plan"])
        rec = self.base.run.finished["pretrain"]
        return {"pretrain_seconds": rec["seconds"],
                "pretrain_test_accuracy": (rec.get("result") or {}).get("test_accuracy")}

    def pretrained(self):
        return self.base.load("pretrained.keras")

    def problem(self):
        """The planner's problem (exact int8 MACs) of the pretrained model: the cost model
        every method's MACs are counted with."""
        if self._problem is None:
            self._problem = self.base.plan_problem(self.pretrained())
        return self._problem

    def _seconds(self, run: RunDir, steps: Iterable[str]) -> float:
        return round(sum(run.finished[s]["seconds"] for s in steps if s in run.finished), 3)

    def _row(self, budget: float, widths: dict, acc: float, status: str | None = None) -> dict:
        from reds.plan import planner

        problem = self.problem()
        full = planner.full_macs(problem)
        macs = planner.problem_macs(problem, widths)
        row = {"budget": float(budget), "budget_macs": planner.budget_caps([budget], full, "auto")[0],
               "widths": {k: int(v) for k, v in widths.items()}, "macs": int(macs),
               "macs_fraction": round(macs / full, 6), "float_accuracy": float(acc)}
        if status is not None:
            row["status"] = status
        return row

    # ------------------------------------------------------------ methods
    def _pipeline_rows(self, pipe: Pipeline) -> list[dict]:
        plan = pipe.run.read_json("plan.json")["subnets"]
        accs = pipe.run.result("finetune")["float_accuracy"]
        rows = [self._row(s["budget"], s["widths"], a, s["status"]) for s, a in zip(plan, accs)]
        if self.int8:  # the pipeline's own export: one nested int8 file, as deployed
            pipe.run_steps(["export"])
            _add_int8(rows, pipe.run.result("export")["int8_accuracy"])
        return rows

    def _int8_step(self, name: str, fn) -> list[float]:
        """Journaled int8 evaluation `fn() -> accuracies` (skipped when done earlier)."""
        def step():
            accs = fn()
            return "int8 accuracy " + " / ".join(f"{100 * a:.1f}" for a in accs) + " %", accs

        return self.run.run(name, step, self.console)

    def method_reds(self) -> dict:
        self.base.run_steps(["permute", "finetune"])
        return {"subnets": self._pipeline_rows(self.base), "run_dir": str(self.base.run.path),
                "seconds": self._seconds(self.base.run, ["importance", "plan", "permute", "finetune"])}

    def _scored_pipeline(self, method: str) -> dict:
        pipe = Pipeline(dataclasses.replace(self.cfg, importance_method=method), self.run / method,
                        self.console)
        pipe.data = self.base.data
        if not pipe.run.done("pretrain"):  # share the pretrained model instead of training again
            shutil.copy2(self.base.run / "pretrained.keras", pipe.run / "pretrained.keras")
            rec = self.base.run.finished["pretrain"]
            pipe.run.mark("pretrain", f"shared with {self.base.run.path}: {rec['summary']}", 0.0,
                          rec.get("result"))
        pipe.run_steps(["importance", "plan", "permute", "finetune"])
        return {"subnets": self._pipeline_rows(pipe), "run_dir": str(pipe.run.path),
                "seconds": self._seconds(pipe.run, ["importance", "plan", "permute", "finetune"])}

    def method_magnitude(self) -> dict:
        return self._scored_pipeline("magnitude")

    def method_random(self) -> dict:
        return self._scored_pipeline("random")

    def method_uniform(self) -> dict:
        def step():
            self.base.seed()
            model = self.pretrained()
            subs, accs, hist = self.base.uniform_baseline(model, self.problem(), self.progress)
            save_model(model, self.run / "uniform" / "model.keras")
            rows = [dict(self._row(s.budget, s.widths, a, "uniform"), multiplier=s.multiplier)
                    for s, a in zip(subs, accs)]
            return ("uniform width: " + " / ".join(f"{100 * a:.1f}" for a in accs) + " %",
                    {"subnets": rows, "bn_choice": hist.get("bn_choice")})

        res = self.run.run("uniform", step, self.console)
        rows = [dict(r) for r in res["subnets"]]
        if self.int8:
            def int8():
                from reds.export.nested import export_nested, subnet_accuracies
                from reds.pipeline.rundir import write_bytes

                model = self.base.load(self.run / "uniform" / "model.keras")
                nested = export_nested(model, self.base.groups(model), [r["widths"] for r in rows],
                                       self.base.data.x_train, max_samples=self.cfg.calibration_samples)
                write_bytes(self.run / "uniform" / "model.tflite", nested)
                return subnet_accuracies(nested, self.base.data.x_test, self.base.data.y_test)

            _add_int8(rows, self._int8_step("uniform_int8", int8))
        return {"subnets": rows, "run_dir": str(self.run / "uniform"),
                "seconds": self._seconds(self.run, ["uniform"])}

    def method_independent(self) -> dict:
        cfg = self.cfg
        plan = self.base.run.read_json("plan.json")["subnets"]
        epochs = cfg.pretrain_epochs + cfg.finetune_epochs
        names = []
        for k, sub in enumerate(plan):
            def step(k=k, sub=sub):
                from reds.train.finetune import evaluate_subnets
                from reds.train.pretrain import pretrain, set_determinism
                from reds.model.slimmable import slice_keras_model
                from reds.model.groups import channel_groups

                d = self.base.data
                set_determinism(cfg.seed)
                full = self.base.build_model()
                # the fresh full model's initial weights cut to the subnet's widths
                model = slice_keras_model(full, sub["widths"], self.base.groups(full))
                pretrain(model, d, epochs=epochs, batch_size=cfg.pretrain_batch, lr=cfg.pretrain_lr,
                         seed=cfg.seed, progress=self.progress)
                save_model(model, self.run / "independent" / f"subnet{k}.keras")
                acc = evaluate_subnets(model, d.x_test, d.y_test, [{}], groups=channel_groups(model))[0]
                row = self._row(sub["budget"], sub["widths"], acc, "independent")
                return (f"subnet {k} ({100 * row['macs_fraction']:.1f} % MACs, {epochs} epochs from "
                        f"scratch): {100 * acc:.1f} %", row)

            names.append(f"independent{k}")
            self.run.run(names[-1], step, self.console)
        rows = [dict(self.run.result(n)) for n in names]
        if self.int8:
            def int8(k):
                from reds.export.nested import subnet_accuracies
                from reds.export.convert import to_int8_tflite
                from reds.pipeline.rundir import write_bytes
                from reds.model.zoo import with_batch

                path = self.run / "independent" / f"subnet{k}.keras"
                tfl = to_int8_tflite(with_batch(self.base.load(path), 1), self.base.data.x_train,
                                     max_samples=self.cfg.calibration_samples)
                write_bytes(path.with_suffix(".tflite"), tfl)
                return subnet_accuracies(tfl, self.base.data.x_test, self.base.data.y_test)

            for k, row in enumerate(rows):
                _add_int8([row], self._int8_step(f"independent{k}_int8", lambda k=k: int8(k)))
        return {"subnets": rows, "epochs": epochs,
                "run_dir": str(self.run / "independent"), "seconds": self._seconds(self.run, names)}


def _add_int8(rows: list[dict], accs: list[float]) -> None:
    for row, a in zip(rows, accs):
        row["int8_accuracy"] = float(a)


def compare(recipe_or_config, out_dir, methods=METHODS, fast: bool = False, progress: bool = True, *,
            pretrain_epochs: int | None = None, finetune_epochs: int | None = None,
            seed: int | None = None, int8: bool = True, console=None) -> dict:
    """Run ``methods`` (see ``METHODS``) side by side; write ``compare.json`` and ``compare.md``
    into ``out_dir`` and return the JSON document.

    ``recipe_or_config``: a recipe path, ``Recipe``, recipe dict or pipeline ``Config``.
    ``fast``: ``FAST`` (4 pretrain / 3 fine-tune / 1 batch-norm epochs, 10 importance batches,
    100 calibration samples). ``pretrain_epochs`` / ``finetune_epochs`` override the epochs (after
    ``fast``); ``independent`` trains for their sum. ``seed`` overrides the recipe's seed (it
    also picks the dataset split, weight init and batch order). ``progress``: one line per step and
    progress bars on stderr (``console``: a rich Console to print to). ``int8``: also the int8
    accuracy of every subnet as deployed (see the module's docs); a resumed comparison adds it
    to methods finished without it."""
    methods = parse_methods(methods)
    cfg, recipe_path = make_config(recipe_or_config, fast, pretrain_epochs, finetune_epochs, seed)
    if console is None and progress:
        from rich.console import Console

        console = Console(stderr=True)
    t0 = time.perf_counter()
    cmp = _Comparison(cfg, out_dir, methods, progress, console, int8=int8)
    shared = cmp.shared()
    now = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    started = now
    if (cmp.run / "compare.json").exists():  # resumed: keep when the comparison began
        started = cmp.run.read_json("compare.json").get("started", now)
    doc = {
        "recipe": recipe_path, "arch": cfg.arch, "dataset": cfg.dataset, "seed": cfg.seed,
        "budgets": list(cfg.budgets), "full_macs": None, "groups": None, "fast": bool(fast),
        "epochs": {"pretrain": cfg.pretrain_epochs, "finetune": cfg.finetune_epochs,
                   "independent": cfg.pretrain_epochs + cfg.finetune_epochs},
        "methods_requested": methods, "descriptions": {m: DESCRIPTIONS[m] for m in methods},
        "shared": shared, "methods": {}, "complete": False,
        "date": now, "started": started,
        "machine": machine_note(), "config": _config_doc(cfg),
    }
    from reds.plan import planner

    doc["full_macs"] = planner.full_macs(cmp.problem())
    doc["groups"] = [g.name for g in cmp.problem().groups]
    for m in methods:
        cmp.say(f"{m}: {DESCRIPTIONS[m]}")
        doc["methods"][m] = getattr(cmp, f"method_{m}")()
        doc["wall_seconds_this_run"] = round(time.perf_counter() - t0, 1)
        _write(cmp.run, doc)
    doc["complete"] = True
    _write(cmp.run, doc)
    return doc


def machine_note() -> dict:
    import numpy as np
    import tensorflow as tf

    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "tensorflow": tf.__version__, "numpy": np.__version__}


# --------------------------------------------------------------------------- output


def _write(run: RunDir, doc: dict) -> None:
    run.write_json("compare.json", doc)
    write_text(run / "compare.md", to_markdown(doc))


def measured_int8(doc: dict) -> bool:
    """Whether any row of the comparison carries an int8 accuracy (its tables then show it)."""
    return any("int8_accuracy" in r for res in doc["methods"].values() for r in res["subnets"])


def table_rows(doc: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the accuracy table: one row per budget, one column per method;
    a cell is "float test accuracy % (MACs % of the full model)", with " / int8 %" after the
    float accuracy when the comparison measured it."""
    methods = list(doc["methods"])
    header = ["budget", "MAC cap"] + methods
    rows = []
    for k, b in enumerate(doc["budgets"]):
        cap = None
        cells = []
        for m in methods:
            subs = doc["methods"][m]["subnets"]
            if k >= len(subs):
                cells.append("–")
                continue
            s = subs[k]
            cap = s["budget_macs"]
            int8 = f" / {100 * s['int8_accuracy']:.1f}" if "int8_accuracy" in s else ""
            cells.append(f"{100 * s['float_accuracy']:.1f}{int8} ({100 * s['macs_fraction']:.1f})")
        rows.append([f"{100 * b:.0f} %", f"{cap:,}" if cap is not None else "–"] + cells)
    return header, rows


def to_markdown(doc: dict) -> str:
    methods = list(doc["methods"])
    header, rows = table_rows(doc)
    out = [f"# Baselines: {doc['arch']} on {doc['dataset'].get('name')}", ""]
    if not doc.get("complete"):
        out += ["*Incomplete: the comparison was interrupted; rerun the same command to resume.*", ""]
    kind = "Float / int8 (C runtime, as deployed)" if measured_int8(doc) else "Float"
    out += [f"{kind} test accuracy % of each subnet (in brackets: its MACs as % of the full model's "
            f"{doc['full_macs']:,} MACs, counted on the int8 graph). A budget is a cap; a method may "
            f"use less. Epochs: pretrain {doc['epochs']['pretrain']}, joint fine-tune "
            f"{doc['epochs']['finetune']}, independent {doc['epochs']['independent']} from scratch; "
            f"seed {doc['seed']}.", ""]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join(["---"] * 2 + ["---:"] * len(methods)) + "|")
    out += ["| " + " | ".join(r) + " |" for r in rows]
    secs = ", ".join(f"{m} {doc['methods'][m]['seconds']:.0f} s" for m in methods)
    out += ["", f"Seconds per method: {secs} (plus {doc['shared']['pretrain_seconds']:.0f} s of shared "
            f"pretraining, which `independent` does not use).", "",
            "Widths per channel group (" + ", ".join(doc["groups"] or []) + "):", ""]
    out.append("| budget | " + " | ".join(methods) + " |")
    out.append("|---|" + "|".join(["---"] * len(methods)) + "|")
    for k, b in enumerate(doc["budgets"]):
        cells = []
        for m in methods:
            subs = doc["methods"][m]["subnets"]
            cells.append("–" if k >= len(subs) else "-".join(str(subs[k]["widths"][g]) for g in doc["groups"]))
        out.append(f"| {100 * b:.0f} % | " + " | ".join(cells) + " |")
    out += ["", "Methods:", ""] + [f"- `{m}`: {doc['descriptions'][m]}" for m in methods]
    return "\n".join(out) + "\n"


__all__ = ["compare", "METHODS", "DESCRIPTIONS", "parse_methods", "make_config", "to_markdown",
           "table_rows", "measured_int8"]
