"""`reds demo`: the whole REDS pipeline on scikit-learn's bundled digits, end to end.

pretrain → Taylor importance → exact plan → permutation → joint fine-tune → int8 export →
verify (runtime == TFLM) → uniform-width baseline → firmware with the model compiled in →
boot (QEMU with icount, or the host build) → bench → report. Each step prints one line and is
journaled in the run directory, so a rerun after Ctrl-C or a failure resumes where it stopped.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from reds.pipeline import TRAIN_STEPS, Config, Pipeline
from reds.recipe import load_recipe

from reds_bench.targets import REPO_ROOT

DEMO_RECIPE = REPO_ROOT / "models" / "digits_ds_cnn" / "recipe.yaml"
DEMO_STEPS = TRAIN_STEPS + ["export", "verify", "baseline", "firmware", "bench", "report"]


def demo_config(fast: bool) -> Config:
    cfg = Config.from_recipe(load_recipe(DEMO_RECIPE))
    if fast:  # the variant `make test` runs: same steps, fewer epochs and samples
        cfg.pretrain_epochs, cfg.finetune_epochs, cfg.bn_epochs = 12, 6, 1
        cfg.importance_batches, cfg.calibration_samples = 20, 100
    return cfg


class Demo(Pipeline):
    def __init__(self, out, target: str = "qemu_m4", fast: bool = False, console=None):
        super().__init__(demo_config(fast), out, console)
        self.target, self.fast = target, fast

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
        from reds_bench.firmware import build

        program = build(self.target, model_source=self.run / "model_data.c",
                        build_dir=self.run / "build")
        return f"{self.target} firmware with the model compiled in: {program.name}", str(program)

    def step_bench(self):
        from reds_bench.runner import run_bench

        from reds.export import quantize_input

        model = self.run / "model.tflite"
        d = self.data
        np.savez(self.run / "holdout.npz", x=quantize_input(model.read_bytes(), d.x_test), y=d.y_test)
        res = run_bench(self.target, model=model, out=self.run / "bench",
                        firmware=self.run.result("firmware"), upload=False,
                        runs=10 if self.fast else 30, switch_runs=50 if self.fast else 200,
                        inputs=4, dataset=self.run / "holdout.npz",
                        max_samples=60 if self.fast else None, resume=True,
                        progress=self.console is not None)
        exact = all(c["bit_exact"] for c in res["correctness"])
        if not exact:
            from reds.errors import UserError

            raise UserError("device outputs differ from the golden model: see "
                            f"{self.run / 'bench' / 'results.json'}")
        self.update_metrics(device_accuracy=[a["int8_accuracy"] for a in res.get("accuracy", [])])
        adapt = res["adaptation"]
        unit = ("instructions" if adapt.get("instructions_per_switch") is not None else "ns")
        cost = adapt.get("instructions_per_switch") or adapt["mean_ns"]
        return (f"bit-exact on device; switch {cost:.0f} {unit}; latency "
                + " / ".join(f"{r['median_ns'] / 1000:.0f}" for r in res["latency"]) + " µs",
                {"switch": cost, "unit": unit})

    def step_report(self):
        from .report import write_demo_report

        path = write_demo_report(self.run, self.target)
        return f"report: {path}", str(path)


def run_demo(out: str | Path = "runs/demo", target: str = "qemu_m4", fast: bool = False,
             console=None) -> Path:
    t0 = time.perf_counter()
    demo = Demo(out, target, fast, console)
    demo.run_steps(DEMO_STEPS)
    metrics = demo.run.read_json("metrics.json")
    metrics["seconds"] = round(sum(r["seconds"] for r in demo.run.finished.values()), 1)
    metrics["wall_seconds_this_run"] = round(time.perf_counter() - t0, 1)
    demo.run.write_json("metrics.json", metrics)
    return demo.run.path / "report.md"
