"""Fuzz the REDS runtime (model bytes) and the firmware (serial lines) for a given time.

    python tests/fuzz/run_fuzz.py --seconds 600                 # both, 600 s each
    python tests/fuzz/run_fuzz.py --target model --seconds 60 --seed 7
    python tests/fuzz/run_fuzz.py --replay                      # replay tests/fuzz/regressions

Model fuzzer: tests/fuzz/fuzz_model.c under ASan/UBSan, with libFuzzer when clang can link
-fsanitize=fuzzer, else with gcc, -fsanitize-coverage=trace-pc and the mutation driver
tests/fuzz/driver.c (same flags, same target). Seeds: tests/fuzz/corpus/model (make_seeds.py);
dictionary: tests/fuzz/model.dict; the working corpus grows in <out>/corpus/model.
Serial fuzzer: tests/fuzz/serial_fuzz.py against the native firmware built with ASan/UBSan.

Every finding (crash, sanitizer report, hang, check failure) is copied to
tests/fuzz/regressions/<target>/, where tests/fuzz/test_fuzz_smoke.py replays it. The summary
(executions, lines, time, coverage, findings) is printed and written to
<out>/summary-<target>.json.
Exit status: 0 without findings, 1 with.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from reds.runtime.sources import REPO_ROOT, RUNTIME_DIR as RUNTIME, WARNINGS, include_flags, portable_sources

HERE = Path(__file__).resolve().parent
REPO = REPO_ROOT
SEEDS = HERE / "corpus" / "model"
DICT = HERE / "model.dict"
REGRESSIONS = HERE / "regressions"
CLANGS = ("clang", "clang-14")  # Debian 12: packages clang-14 and libclang-rt-14-dev (libFuzzer)
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
CFLAGS = [*WARNINGS, "-g", "-O1", *SANITIZE, *include_flags()]
ENV = {"ASAN_OPTIONS": "abort_on_error=1:detect_leaks=1:allocator_may_return_null=1",
       "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:abort_on_error=1"}



def _sources() -> list[Path]:
    return portable_sources() + [HERE / "fuzz_model.c"]


def _digest(paths, *extra) -> str:
    h = hashlib.sha256(" ".join(extra).encode())
    for p in list(paths) + sorted(RUNTIME.rglob("*.h")):
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def _libfuzzer_available(cc: str) -> bool:
    if shutil.which(cc) is None:
        return False
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "t.c"
        src.write_text("#include <stdint.h>\n#include <stddef.h>\n"
                       "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
        p = subprocess.run([cc, "-fsanitize=fuzzer", str(src), "-o", str(Path(d) / "t")], capture_output=True)
        return p.returncode == 0


def build_model_fuzzer(out: Path, engine: str = "auto", without_validation: bool = False,
                       defines: tuple[str, ...] = ()) -> tuple[Path, str]:
    """Build the model fuzz target; returns (program, "libfuzzer" | "gcc-driver").
    `without_validation` links tests/fuzz/no_validation.c in place of the graph validation, and
    `defines` (-D...) switch on fault injection: both show the target's checks fire."""
    clang = os.environ.get("CLANG") or next((c for c in CLANGS if shutil.which(c)), "clang")
    if engine == "auto":
        engine = "libfuzzer" if _libfuzzer_available(clang) else "gcc-driver"
    srcs = _sources() + ([HERE / "driver.c"] if engine == "gcc-driver" else [])
    cflags = list(CFLAGS) + list(defines)
    if without_validation:
        srcs = [s for s in srcs if s.name != "validate.c"] + [HERE / "no_validation.c"]
    variant = engine + ("-novalidation" if without_validation else "") + "".join(defines)
    prog = out / f"fuzz_model-{variant}-{_digest(srcs, variant)}"
    if prog.exists():
        return prog, engine
    out.mkdir(parents=True, exist_ok=True)
    if engine == "libfuzzer":
        cmd = [clang, *cflags, "-fsanitize=fuzzer", *map(str, srcs), "-o", str(prog)]
        _run_cc(cmd)
        return prog, engine
    objdir = Path(tempfile.mkdtemp(dir=out))
    objs = []
    for src in srcs:  # the driver itself is not instrumented for coverage
        obj = objdir / (src.stem + ".o")
        cov = [] if src.name == "driver.c" else ["-fsanitize-coverage=trace-pc"]
        _run_cc(["gcc", *cflags, *cov, "-c", str(src), "-o", str(obj)])
        objs.append(str(obj))
    tmp = prog.with_suffix(".tmp")
    _run_cc(["gcc", *SANITIZE, *objs, "-o", str(tmp)])
    tmp.replace(prog)
    shutil.rmtree(objdir)
    return prog, engine


def _run_cc(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"build failed: {' '.join(cmd[:3])} ...\n{p.stderr[-3000:]}")


def build_firmware(out: Path) -> Path:
    import hostbuild

    return hostbuild.build(out / "fw", sanitize=True)


def _save_regression(regressions: Path, target: str, data: bytes, kind: str) -> Path:
    d = regressions / target
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{kind}-{hashlib.sha256(data).hexdigest()[:12]}{'.bin' if target == 'model' else '.txt'}"
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------------------- model

def run_model(seconds: float, out: Path, seed: int = 1, engine: str = "auto", runs: int = 0,
              regressions: Path = REGRESSIONS) -> dict:
    prog, engine = build_model_fuzzer(out / "bin", engine)
    corpus = out / "corpus" / "model"
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts = out / "artifacts" / "model"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    cmd = [str(prog), f"-max_total_time={int(seconds)}", f"-seed={seed}", f"-dict={DICT}",
           f"-artifact_prefix={artifacts}/", "-timeout=1", "-max_len=65536", "-print_final_stats=1",
           str(corpus), str(SEEDS)]
    if runs:
        cmd.insert(1, f"-runs={runs}")
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **ENV},
                       timeout=seconds + 300)
    elapsed = time.monotonic() - t0
    text = p.stdout + p.stderr
    (out / "model-fuzzer.log").write_text(text)
    summary = {"engine": engine, "seconds": round(elapsed, 1), "exit_code": p.returncode,
               "command": " ".join(cmd)}
    m = re.search(r"#REDS-FUZZ done (.*)", text)
    if m:
        for kv in m.group(1).split():
            k, v = kv.split("=")
            summary[k] = float(v) if "." in v else int(v)
    for key, pat in (("execs", r"stat::number_of_executed_units:\s*(\d+)"),
                     ("edges", r"cov: (\d+)")):  # libFuzzer's own report
        hits = re.findall(pat, text)
        if hits and key not in summary:
            summary[key] = int(hits[-1])
    findings = []
    for a in sorted(artifacts.iterdir()):
        kind = a.name.split("-")[0]
        saved = _save_regression(regressions, "model", a.read_bytes(), kind)
        reason = re.findall(r"(REDS-FUZZ FINDING: .*|runtime error: .*|ERROR: AddressSanitizer: .*)", text)
        findings.append({"kind": kind, "regression": str(saved),
                         "reason": reason[0] if reason else text[-500:]})
    if p.returncode != 0 and not findings:
        findings.append({"kind": "error", "reason": text[-2000:]})
    summary["findings"] = findings
    return summary


def replay_model(files: list[Path], out: Path, without_validation: bool = False,
                 defines: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    prog, _ = build_model_fuzzer(out / "bin", without_validation=without_validation, defines=defines)
    artifacts = out / "artifacts" / "replay"  # an input that crashes is saved here, not in the cwd
    artifacts.mkdir(parents=True, exist_ok=True)
    return subprocess.run([str(prog), f"-artifact_prefix={artifacts}/", *map(str, files)],
                          capture_output=True, text=True, env={**os.environ, **ENV}, timeout=600)


def corpus_coverage(out: Path) -> dict:
    """Line coverage of boards/runtime when the model corpus (<out>/corpus/model and the seeds)
    is replayed through the target built with gcc --coverage (no sanitizers): gcov's numbers."""
    cov = out / "coverage"
    shutil.rmtree(cov, ignore_errors=True)
    cov.mkdir(parents=True)
    srcs = _sources() + [HERE / "driver.c"]
    flags = [f for f in CFLAGS if not f.startswith("-fsanitize") and f != "-fno-omit-frame-pointer"]
    objs = []
    for src in srcs:
        obj = cov / (src.stem + ".o")
        _run_cc(["gcc", *flags, "--coverage", "-c", str(src), "-o", str(obj)])
        objs.append(str(obj))
    prog = cov / "replay"
    _run_cc(["gcc", "--coverage", *objs, "-o", str(prog)])
    files = [p for d in (out / "corpus" / "model", SEEDS) if d.exists() for p in sorted(d.iterdir())]
    for i in range(0, len(files), 500):
        subprocess.run([str(prog), *map(str, files[i:i + 500])], capture_output=True, timeout=3600, cwd=cov)
    runtime = [s for s in srcs if RUNTIME in s.parents]
    p = subprocess.run(["gcov", "-n", *[str(cov / (s.stem + ".o")) for s in runtime]],
                       capture_output=True, text=True, cwd=cov)
    per_file, total, hit = {}, 0, 0
    for name, pct, n in re.findall(r"File '([^']+)'\nLines executed:([\d.]+)% of (\d+)", p.stdout):
        if "boards/runtime" not in name or name.endswith(".h"):
            continue
        per_file[str(Path(name).relative_to(RUNTIME))] = float(pct)
        total += int(n)
        hit += round(float(pct) * int(n) / 100)
    return {"inputs": len(files), "runtime_lines": total, "runtime_lines_executed": hit,
            "runtime_line_coverage_pct": round(100 * hit / max(total, 1), 1), "per_file_pct": per_file}


# ------------------------------------------------------------------------------ serial

def _serial_models() -> list[bytes]:
    models = [(REPO / "boards/firmware/default_model.tflite").read_bytes()]
    models += [p.read_bytes() for p in sorted(SEEDS.glob("*.tflite")) if p.stat().st_size <= 16384]
    return models


def run_serial(seconds: float, out: Path, seed: int = 1, max_lines: int = 0,
               line_timeout: float = 1.0, hostile_counts: bool = True,
               regressions: Path = REGRESSIONS) -> dict:
    from serial_fuzz import SerialFuzzer

    prog = build_firmware(out / "bin")
    fz = SerialFuzzer(prog, out / "serial", seed, _serial_models(), line_timeout, hostile_counts)
    t0 = time.monotonic()
    st = fz.run(seconds, max_lines=max_lines)
    findings = []
    for f in st.findings:
        saved = _save_regression(regressions, "serial", f.stream, f.kind)
        findings.append({"kind": f.kind, "reason": f.detail[:500], "regression": str(saved)})
    return {"seconds": round(time.monotonic() - t0, 1), "lines": st.lines, "batches": st.batches,
            "board_starts": st.restarts, "max_line_wall_ms": round(st.max_line_s * 1e3, 2),
            "models_loaded": st.uploads_ok, "uploads_rejected": st.uploads_rejected,
            "line_timeout_s": line_timeout, "hostile_counts": hostile_counts,
            "finding_events": st.events, "findings": findings}


def replay_serial(files: list[Path], out: Path, line_timeout: float = 1.0) -> list[dict]:
    from serial_fuzz import replay

    prog = build_firmware(out / "bin")
    found = []
    for f in files:
        for x in replay(prog, f.read_bytes(), out / "serial-replay", line_timeout):
            found.append({"file": str(f), "kind": x.kind, "reason": x.detail[:500]})
    return found


# -------------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60, help="time per fuzzer (Default: 60)")
    ap.add_argument("--target", choices=["model", "serial", "both"], default="both")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=0, help="model: stop after this many executions")
    ap.add_argument("--lines", type=int, default=0, help="serial: stop after this many lines")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "fuzz", help="(Default: build/fuzz)")
    ap.add_argument("--engine", choices=["auto", "libfuzzer", "gcc-driver"], default="auto")
    ap.add_argument("--bounded-counts", action="store_true",
                    help="serial: draw counts below 300 only, to look past unbounded-count hangs")
    ap.add_argument("--regressions", type=Path, default=REGRESSIONS,
                    help="where findings are saved (Default: tests/fuzz/regressions)")
    ap.add_argument("--replay", action="store_true", help="replay tests/fuzz/regressions and exit")
    ap.add_argument("--coverage", action="store_true",
                    help="replay <out>/corpus/model with gcc --coverage, print the runtime's line coverage, exit")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.coverage:
        print(json.dumps(corpus_coverage(out), indent=2))
        return 0
    if args.replay:
        bad = 0
        models = sorted((REGRESSIONS / "model").glob("*"))
        if models:
            p = replay_model(models, out)
            print(p.stdout.strip() or p.stderr[-2000:])
            bad += p.returncode != 0
        for f in replay_serial(sorted((REGRESSIONS / "serial").glob("*")), out):
            print(f"serial finding: {f}")
            bad += 1
        return 1 if bad else 0
    summary = {"started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "command": "python tests/fuzz/run_fuzz.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    if args.target in ("model", "both"):
        summary["model"] = run_model(args.seconds, out, args.seed, args.engine, runs=args.runs,
                                     regressions=args.regressions.resolve())
    if args.target in ("serial", "both"):
        summary["serial"] = run_serial(args.seconds, out, args.seed, max_lines=args.lines,
                                       hostile_counts=not args.bounded_counts,
                                       regressions=args.regressions.resolve())
    (out / f"summary-{args.target}.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    n = sum(len(summary[t]["findings"]) for t in ("model", "serial") if t in summary)
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())
