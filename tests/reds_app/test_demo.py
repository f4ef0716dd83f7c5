"""`reds demo --fast` end to end on qemu_m4, including a failed step and the resume after it."""
from __future__ import annotations

import json
import shutil

import pytest

from reds_app import demo as demo_mod
from reds_bench.board import firmware
from reds.errors import UserError

pytestmark = [pytest.mark.slow, pytest.mark.qemu]


def test_fast_demo_resumes_after_missing_toolchain_and_reports(tmp_path, monkeypatch):
    out = tmp_path / "demo"
    real_which = shutil.which
    # 1st run: the Arm compiler is "missing": the demo stops at the firmware step, naming the
    # install command, and keeps everything produced before it.
    monkeypatch.setattr(firmware.shutil, "which",
                        lambda tool: None if tool == "arm-none-eabi-gcc" else real_which(tool))
    with pytest.raises(UserError, match="apt-get install -y gcc-arm-none-eabi"):
        demo_mod.run_demo(out, "qemu_m4", fast=True)
    steps = [json.loads(line)["step"] for line in (out / "steps.jsonl").read_text().splitlines()]
    assert steps == demo_mod.DEMO_STEPS[: demo_mod.DEMO_STEPS.index("firmware")]
    model_before = (out / "model.tflite").read_bytes()

    # 2nd run: the toolchain is back; finished steps are not redone, the rest completes.
    monkeypatch.setattr(firmware.shutil, "which", real_which)
    report = demo_mod.run_demo(out, "qemu_m4", fast=True)
    assert (out / "model.tflite").read_bytes() == model_before
    steps = [json.loads(line)["step"] for line in (out / "steps.jsonl").read_text().splitlines()]
    assert steps == demo_mod.DEMO_STEPS

    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["subnets"]) == 4 and metrics["seconds"] > 0
    macs = [s["macs"] for s in metrics["subnets"]]
    assert macs == sorted(macs, reverse=True)
    plan = json.loads((out / "plan.json").read_text())
    for s, budget in zip(plan["subnets"], (1.0, 0.75, 0.5, 0.25)):
        assert s["macs"] <= budget * plan["subnets"][0]["macs"]
    for row in metrics["subnets"]:
        for key in ("subnet", "macs", "float_accuracy", "int8_accuracy", "device_accuracy"):
            assert row[key] is not None, key

    results = json.loads((out / "bench" / "results.json").read_text())
    assert [c["bit_exact"] for c in results["correctness"]] == [True] * 4
    assert results["adaptation"]["instructions_per_switch"] <= 50
    for name in ("results.csv", "junit.xml", "latency_vs_macs.png", "adaptation_heatmap.png"):
        assert (out / "bench" / name).stat().st_size > 0
    assert (out / "accuracy_vs_macs.png").stat().st_size > 0
    text = report.read_text()
    assert "| 3 |" in text and "instructions per switch" in text
    # honest units on QEMU, sample counts, the smoke-test note, the scheduler step
    pipeline_part = text.split("## Scheduling")[0]
    assert "µs" not in pipeline_part and " ns" not in pipeline_part
    assert "Smoke test" in text and "device acc (n=60)" in text
    assert "Classes (10, in output order): `0`, `1`, " in text  # digits' class names
    assert "## Scheduling under a bursty load" in text and (out / "sched" / "sched.json").exists()
    bench_md = (out / "bench" / "report.md").read_text()
    assert "median instructions" in bench_md and "(60 samples)" in bench_md
