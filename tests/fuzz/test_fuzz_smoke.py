"""Short bounded runs of both fuzzers (a fixed amount of work: 3000 model executions, 1000 serial
lines; seconds each after the sanitizer builds), the checks shown to fire, and the replay of every
saved regression input. `python tests/fuzz/run_fuzz.py` runs the long campaigns."""
from __future__ import annotations

from pathlib import Path

import pytest

import run_fuzz

MODEL_REGRESSIONS = sorted((run_fuzz.REGRESSIONS / "model").glob("*"))
SERIAL_REGRESSIONS = sorted((run_fuzz.REGRESSIONS / "serial").glob("*"))


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def test_seed_corpus_and_dictionary_exist():
    seeds = sorted(run_fuzz.SEEDS.glob("*.tflite"))
    assert len(seeds) >= 10 and all(s.read_bytes()[4:8] == b"TFL3" for s in seeds)
    assert sum(b"REDS" in s.read_bytes() for s in seeds) >= 8  # seeds with metadata blobs
    assert run_fuzz.DICT.read_text().count('="') >= 50


def test_model_fuzzer_smoke(out):
    s = run_fuzz.run_model(300, out, seed=3, runs=3000, regressions=out / "found")
    assert s["findings"] == [], s["findings"]
    assert s["exit_code"] == 0
    assert s["execs"] >= 3000 and s.get("edges", 0) > 100
    if s["engine"] == "gcc-driver":  # the driver also counts inputs that loaded and ran
        assert s["models_run"] > 0 and s["invokes"] >= s["models_run"]


def test_model_target_catches_output_from_unwritten_arena(out):
    """With the data-flow validation replaced by one that accepts everything, the target's
    two-fill check flags the model of finding 2 (operator count lowered by one)."""
    bad = run_fuzz.REGRESSIONS / "model" / "uninit-output-op-count-lowered.bin"
    p = run_fuzz.replay_model([bad], out, without_validation=True)
    assert p.returncode != 0
    assert "REDS-FUZZ FINDING: output depends on arena bytes the inference did not write" in p.stderr


def test_model_target_catches_writes_past_the_arena(out):
    """A fault injected after each inference (one guard byte flipped) must be reported."""
    seed = run_fuzz.SEEDS / "residual_nested.tflite"
    p = run_fuzz.replay_model([seed], out, defines=("-DREDS_FUZZ_INJECT_STRAY_WRITE=5",))
    assert p.returncode != 0
    assert "REDS-FUZZ FINDING: write into the guard bytes (5, 0)" in p.stderr


@pytest.mark.parametrize("path", MODEL_REGRESSIONS, ids=[p.name for p in MODEL_REGRESSIONS])
def test_model_regressions_replay_clean(out, path):
    p = run_fuzz.replay_model([path], out)
    assert p.returncode == 0 and "replayed 1 inputs" in p.stdout, p.stderr[-3000:]


def test_serial_fuzzer_smoke(out):
    s = run_fuzz.run_serial(300, out, seed=3, max_lines=1000, regressions=out / "found")
    assert s["findings"] == [], s["findings"]
    assert s["lines"] >= 1000 and s["batches"] >= 10 and s["uploads_rejected"] > 0


def test_serial_fuzzer_notices_a_dead_board(out, tmp_path):
    """The after-batch check must fail when the board stops answering: a 'firmware' that exits
    after its banner."""
    import serial_fuzz

    fake = tmp_path / "board.sh"
    fake.write_text("#!/bin/sh\nprintf 'm-boot-reds target=native\\r\\nm-ready\\r\\n'\nexit 0\n")
    fake.chmod(0o755)
    fz = serial_fuzz.SerialFuzzer(fake, tmp_path / "w", 1, run_fuzz._serial_models())
    st = fz.run(seconds=0.5, max_lines=10)
    assert {f.kind for f in st.findings} == {"crash"}


@pytest.mark.parametrize("path", SERIAL_REGRESSIONS, ids=[p.name for p in SERIAL_REGRESSIONS])
def test_serial_regressions_replay_clean(out, path):
    assert run_fuzz.replay_serial([path], out) == []
