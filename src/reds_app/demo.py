"""`reds demo`: the whole REDS pipeline end to end, on scikit-learn's bundled digits
(`--task digits`, the default) or on offline-synthesized keywords (`--task kws`).

pretrain → Taylor importance → exact plan → permutation → joint fine-tune → int8 export →
verify (runtime == TFLM) → uniform-width baseline → firmware with the model compiled in →
boot (QEMU with icount, or the host build) → bench → scheduler policies on a bursty trace →
report. Each step prints one line (and a warning line per quality-gate finding) and is
journaled in the run directory, so a rerun after Ctrl-C or a failure resumes where it stopped.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from reds.pipeline.steps import TRAIN_STEPS, Config, Pipeline
from reds.pipeline.recipe import load_recipe

from reds_bench.board.targets import REPO_ROOT

TASKS = {  # task: (recipe, default run directory, what the report calls the data)
    "digits": (REPO_ROOT / "models" / "digits_ds_cnn" / "recipe.yaml", "runs/demo",
               "scikit-learn digits (8×8, 10 classes)"),
    "kws": (REPO_ROOT / "models" / "kws_synth" / "recipe.yaml", "runs/demo-kws",
            "synthesized keywords (espeak-ng, 49×10 MFCC, 12 classes)"),
}
DEMO_RECIPE = TASKS["digits"][0]
DEMO_STEPS = TRAIN_STEPS + ["export", "verify", "baseline", "firmware", "bench", "sched", "report"]
SMOKE_NOTE = ("--fast is a smoke test of the pipeline (fewer epochs and samples): its smaller "
              "subnets may sit near chance; run without --fast for usable models")


def demo_config(fast: bool, task: str = "digits") -> Config:
    cfg = Config.from_recipe(load_recipe(TASKS[task][0]))
    if fast:  # the variant `make test` runs: same steps, fewer epochs and samples
        cfg.pretrain_epochs, cfg.finetune_epochs, cfg.bn_epochs = 12, 6, 1
        cfg.importance_batches, cfg.calibration_samples = 20, 100
    return cfg


class Demo(Pipeline):
    def __init__(self, out, target: str = "qemu_m4", fast: bool = False, console=None,
                 task: str = "digits"):
        super().__init__(demo_config(fast, task), out, console)
        self.target, self.fast, self.task = target, fast, task

    def step_baseline(self):
        """Uniform width multiplier (slimmable-style) at the same MAC budgets, jointly tuned."""
        self.seed()
        model = self.load("pretrained.keras")
        subs, accs, _ = self.uniform_baseline(model, self.plan_problem(model))
        rows = [{"budget": b, "widths": u.widths, "macs": u.macs, "float_accuracy": a}
                for b, u, a in zip(self.cfg.budgets, subs, accs)]
        self.run.write_json("baseline.json", {"method": "uniform width", "subnets": rows})
        return ("uniform width: " + " / ".join(f"{100 * a:.1f}" for a in accs) + " %", rows)

    def step_firmware(self):
        from reds_bench.board.firmware import build

        program = build(self.target, model_source=self.run / "model_data.c",
                        build_dir=self.run / "build")
        return f"{self.target} firmware with the model compiled in: {program.name}", str(program)

    def step_bench(self):
        from reds_bench.measure.runner import run_bench

        from reds.export.convert import quantize_input

        model = self.run / "model.tflite"
        d = self.data
        np.savez(self.run / "holdout.npz", x=quantize_input(model.read_bytes(), d.x_test), y=d.y_test)
        res = run_bench(self.target, model=model, out=self.run / "bench",
                        firmware=self.run.result("firmware"), upload=False,
                        runs=10 if self.fast else 30, switch_runs=50 if self.fast else 200,
                        inputs=4, dataset=self.run / "holdout.npz",
                        max_samples=60 if self.fast else None, resume=True,
                        progress=self.console is not None and self.console.is_terminal)
        exact = all(c["bit_exact"] for c in res["correctness"])
        if not exact:
            from reds.errors import UserError

            raise UserError("device outputs differ from the golden model: see "
                            f"{self.run / 'bench' / 'results.json'}")
        device = [a["int8_accuracy"] for a in res.get("accuracy", [])]
        self.update_metrics(device_accuracy=device)
        samples = max((a.get("samples", 0) for a in res.get("accuracy", [])), default=0)
        self.record_samples(device=samples)
        self.check_accuracies("device", device, samples)
        adapt = res["adaptation"]
        if adapt.get("mean_instructions") is not None:  # QEMU -icount: counts, not time
            unit, cost = "instructions", adapt["mean_instructions"]
            lat = " / ".join(f"{r['median_instructions']:,.0f}" for r in res["latency"]) + " instructions"
        else:
            unit, cost = "ns", adapt["mean_ns"]
            lat = " / ".join(f"{r['median_ns'] / 1000:.4g}" for r in res["latency"]) + " µs"
        return (f"bit-exact on device; switch {cost:,.0f} {unit}; per inference {lat}",
                {"switch": cost, "unit": unit})

    def step_sched(self):
        """Every scheduler policy on the board under a bursty trace (docs/scheduler.md)."""
        from reds_bench.measure.sched import demo_step

        doc = demo_step(self.run.path, self.target, firmware=self.run.result("firmware"))
        rows = {p["policy"]: p for p in doc["policies"]}
        best = rows.get("deadline+energy") or next(iter(rows.values()))
        jobs = len(doc.get("measured_timelines", {}).get(best["policy"], [])) or "?"
        acc = best.get("accuracy")
        return (f"{len(rows)} scheduler policies on the board, bursty trace; {best['policy']}: "
                f"{best.get('deadline_misses')} deadline misses in {jobs} jobs"
                + (f", accuracy {100 * acc:.1f} %" if acc is not None else ""),
                {"policies": list(rows), "out": str(self.run / "sched")})

    def step_report(self):
        from reds_app.report import write_demo_report

        path = write_demo_report(self.run, self.target, data_name=TASKS[self.task][2],
                                 smoke=SMOKE_NOTE if self.fast else None)
        return f"report: {path}", str(path)


def run_demo(out: str | Path | None = None, target: str = "qemu_m4", fast: bool = False,
             console=None, task: str = "digits") -> Path:
    t0 = time.perf_counter()
    demo = Demo(out or TASKS[task][1], target, fast, console, task)
    if fast and console is not None:
        console.print(f"[yellow]note[/yellow] {SMOKE_NOTE}", highlight=False)
    demo.run_steps(DEMO_STEPS)
    metrics = demo.run.read_json("metrics.json")
    metrics["seconds"] = round(sum(r["seconds"] for r in demo.run.finished.values()), 1)
    metrics["wall_seconds_this_run"] = round(time.perf_counter() - t0, 1)
    demo.run.write_json("metrics.json", metrics)
    return demo.run.path / "report.md"
