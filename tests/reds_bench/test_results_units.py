"""results.json / report.md / plots say what the numbers are: instructions under QEMU -icount,
accuracies with their real value and sample count, a heat map that does not magnify noise."""
from __future__ import annotations

import json

import pytest

from reds_bench.measure import results


def _qemu_results() -> dict:
    res = results.empty_results()
    res["board"] = {"env": "qemu_m4", "id": "qemu_m4", "clock_hz": 25_000_000, "timer_unit": "systick",
                    "instructions_per_tick": 40}
    res["model"] = {"path": "m.tflite", "crc32": "00000000",
                    "subnets": [{"index": 0, "arena_bytes": 900}, {"index": 1, "arena_bytes": 500}]}
    # ticks 13472.5 / 9000 -> 538,900 / 360,000 instructions; switches of 0.9 ticks = 36 instructions
    res["latency"] = [
        {"subnet": 0, "macs": 1000, "median_ns": 538_900.0, "min_ns": 538_880.0, "max_ns": 539_000.0,
         "instructions": None, "median_ticks": 13472.5},
        {"subnet": 1, "macs": 600, "median_ns": 360_000.0, "min_ns": 360_000.0, "max_ns": 360_040.0,
         "instructions": None, "median_ticks": 9000},
    ]
    res["adaptation"] = {"matrix_ns": [[35.8, 36.2], [36.0, 35.9]], "matrix_ticks": [[0.895, 0.905], [0.9, 0.8975]],
                         "mean_ns": 36.1, "max_ns": 36.2, "instructions_per_switch": 36.1}
    res["correctness"] = [{"subnet": 0, "bit_exact": True}, {"subnet": 1, "bit_exact": True}]
    res["accuracy"] = [{"subnet": 0, "int8_accuracy": 0.9963, "samples": 270},
                       {"subnet": 1, "int8_accuracy": 0.9593, "samples": 270}]
    return res


def test_qemu_report_counts_instructions_and_shows_real_accuracies(tmp_path):
    res = _qemu_results()
    files = results.write_all(res, tmp_path, plots=False)
    text = files["report"].read_text()
    assert "µs" not in text and " ns" not in text and "ns per switch" not in text
    assert "538,900" in text and "median instructions" in text
    assert "Mean switch 36 instructions" in text
    assert "99.63 % (270 samples)" in text and "95.93 % (270 samples)" in text
    doc = json.loads(files["json"].read_text())
    assert doc["units"]["latency"] == "instructions"
    assert doc["latency"][0]["median_instructions"] == pytest.approx(538_900)
    assert doc["adaptation"]["matrix_instructions"][0][1] == pytest.approx(36.2)


def test_native_report_keeps_time(tmp_path):
    res = _qemu_results()
    res["board"] = {"env": "native", "id": "native", "clock_hz": 1_000_000_000, "timer_unit": "ns"}
    text = results.write_all(res, tmp_path, plots=False)["report"].read_text()
    assert "median ns" in text and "instructions" not in text
    assert json.loads((tmp_path / "results.json").read_text())["units"]["latency"] == "ns"


def test_plots_label_instructions_and_heatmap_scale_starts_at_zero(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    seen = []
    real = Figure.savefig

    def keep(fig, *a, **k):
        seen.append(fig)
        return real(fig, *a, **k)

    monkeypatch.setattr(Figure, "savefig", keep)
    results.write_plots(_qemu_results(), tmp_path)
    latency_fig, heat_fig = seen
    assert "instructions" in latency_fig.axes[0].get_ylabel() and "µs" not in latency_fig.axes[0].get_ylabel()
    image = heat_fig.axes[0].images[0]
    assert image.get_clim()[0] == 0  # 35.8 .. 36.2 must not fill the whole colour range
    assert heat_fig.axes[1].get_ylabel() == "instructions per switch"


class _FakeDut:
    """Answers `reds-bench` with a fixed key=value reply, as the firmware prints it."""

    def __init__(self, reply: dict):
        self.reply = reply

    def kv(self, line, tag, timeout=None):
        assert line.startswith("reds-bench ") and tag == "reds-bench"
        return dict(self.reply)


QEMU_REPLY = {"min": 13470, "median": 13472, "max": 13475, "unit": "systick", "hz": 25_000_000,
              "instr_median": 13472 * 40, "macs": 1000}
NATIVE_REPLY = {"min": 5000, "median": 5200, "max": 9000, "unit": "ns", "hz": 1_000_000_000,
                "macs": 1000}


def test_latency_names_each_value_by_its_unit():
    from reds_bench.measure.steps import latency

    q = latency(_FakeDut(QEMU_REPLY), 0, 20)
    assert q["cost_unit"] == "instructions"
    assert not any(k.endswith("_ns") for k in q), q  # an instruction count is not a time
    assert (q["min_instructions"], q["median_instructions"], q["max_instructions"]) == \
        (13470 * 40, 13472 * 40, 13475 * 40)
    n = latency(_FakeDut(NATIVE_REPLY), 0, 20)
    assert n["cost_unit"] == "ns" and not any(k.endswith("_instructions") for k in n)
    assert (n["min_ns"], n["median_ns"], n["max_ns"]) == (5000.0, 5200.0, 9000.0)


def test_qemu_rows_from_latency_keep_results_json_and_report(tmp_path):
    """The runner's QEMU rows now carry `*_instructions` only: results.json still has every key
    its readers use and report.md the same counts."""
    from reds_bench.measure.steps import latency

    res = _qemu_results()
    res["latency"] = [latency(_FakeDut(QEMU_REPLY), 0, 20)]
    files = results.write_all(res, tmp_path, plots=False)
    doc = json.loads(files["json"].read_text())
    row = doc["latency"][0]
    assert row["median_instructions"] == 13472 * 40
    assert row["median_ns"] == pytest.approx(13472 * 40)  # QEMU's virtual time, 1 instruction = 1 ns
    assert f"{13472 * 40:,}" in files["report"].read_text()
    assert "no latency" not in files["junit"].read_text()
