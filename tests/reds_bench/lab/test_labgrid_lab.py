"""The bench on a labgrid lab, end to end on one machine: a coordinator, an exporter with two
emulated boards (QEMU ``-serial pty`` served by ser2net on acquire, power over QMP through
labgrid's ``simplerest`` protocol), the bench and the pytest plugin taking boards from places.
One lab for the whole module (tests/support/lab.py); every process is stopped by PID."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lab import Lab, lab_tools_missing
from paths import DEFAULT_MODEL, REPO
from tools import skip_or_fail
from reds_bench.board import protocol
from reds_bench.board.factory import BoardSpec, create_board
from reds_bench.board.place import (Place, PlaceBusyError, PlaceStaleError, places_matching,
                                    wait_released)
from reds_bench.measure.runner import run_bench
from reds_bench.measure.spread import spread_bench

pytestmark = [pytest.mark.qemu, pytest.mark.slow]
REDS = str(Path(sys.executable).with_name("reds"))
QUICK = dict(runs=2, warmup=0, switch_runs=2, inputs=2, plots=False, progress=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, firmware_program):
    missing = lab_tools_missing()
    if missing:
        skip_or_fail(missing)
    with Lab(tmp_path_factory.mktemp("lab"), boards=("board-a", "board-b"),
             elf=firmware_program("qemu_m4")) as the_lab:
        old = os.environ.get("LG_COORDINATOR")
        os.environ["LG_COORDINATOR"] = the_lab.coordinator
        try:
            yield the_lab
        finally:
            if old is None:
                os.environ.pop("LG_COORDINATOR", None)
            else:
                os.environ["LG_COORDINATOR"] = old


@pytest.fixture
def free_places(lab):
    """Every test ends with both places free (a failed test must not cascade)."""
    yield lab
    lab.release_all()


def place_spec(name: str) -> BoardSpec:
    return BoardSpec(env="qemu_m4", id=name, labgrid={"place": name})


def labelled_dataset(path: Path, n: int) -> Path:
    """``n`` random inputs labelled with TFLM's own answer for the full model."""
    from reds_bench.measure.steps import golden_output, random_inputs

    model = DEFAULT_MODEL.read_bytes()
    xs = random_inputs(model, n, seed=3)
    y = [int(np.argmax(np.frombuffer(golden_output(model, x), np.int8))) for x in xs]
    x = np.stack([np.frombuffer(x, np.int8) for x in xs])
    np.savez(path, x=x, y=np.array(y))
    return path


def test_bench_run_through_a_place_is_bit_exact_and_releases(free_places, tmp_path):
    lab = free_places
    board = create_board(hw=place_spec("board-a"), log_dir=tmp_path / "logs")
    try:
        assert lab.acquired_by("board-a") is not None
        assert board.url.startswith("rfc2217://127.0.0.1:") and "ign_set_control" in board.url
        res = run_bench(board=board, model=DEFAULT_MODEL, out=tmp_path / "out", **QUICK)
    finally:
        board.close()
    assert lab.acquired_by("board-a") is None
    assert res["board"]["id"] == "board-a"
    assert res["correctness"] and all(c["bit_exact"] for c in res["correctness"])
    assert not res.get("errors"), res.get("errors")
    assert len(res["latency"]) == len(res["model"]["subnets"])


def test_tags_select_places(free_places):
    assert places_matching("lab=ci,board=qemu_m4") == ["board-a", "board-b"]
    assert places_matching("name=board-b") == ["board-b"]
    with pytest.raises(Exception, match="no labgrid place has tags"):
        places_matching("lab=elsewhere")


def test_run_spread_over_two_places_merges_one_result(free_places, tmp_path):
    lab = free_places
    n = 8
    data = labelled_dataset(tmp_path / "split.npz", n)
    res = spread_bench([place_spec("board-a"), place_spec("board-b")], model=DEFAULT_MODEL,
                       out=tmp_path / "out", dataset=data, baseline=True, **QUICK)
    assert lab.acquired_by("board-a") is None and lab.acquired_by("board-b") is None
    spread = res["spread"]
    rows = {r["place"]: r for r in spread["boards"]}
    assert set(rows) == {"board-a", "board-b"}
    # the two shards cover the split exactly once
    cuts = sorted(tuple(r["work"]["accuracy"]["samples"]) for r in rows.values())
    assert cuts[0][0] == 0 and cuts[0][1] == cuts[1][0] and cuts[1][1] == n
    assert spread["accuracy_seconds"] > 0 and spread["single_board_seconds"] > 0
    assert spread["single_board_equal"] is True
    k = len(res["model"]["subnets"])
    assert [a["subnet"] for a in res["accuracy"]] == list(range(k))
    for a in res["accuracy"]:
        assert a["samples"] == n
        assert sum(b["samples"] for b in a["boards"]) == n
        assert a["int8_accuracy"] == pytest.approx(sum(b["correct"] for b in a["boards"]) / n,
                                                   rel=1e-12)
    assert res["accuracy"][0]["int8_accuracy"] == 1.0  # labels are the full model's answers
    assert all(c["bit_exact"] for c in res["correctness"])
    on_disk = (tmp_path / "out" / "results.json").read_text()
    assert '"spread"' in on_disk and "board-b" in on_disk


def test_lock_refuses_a_second_holder_naming_it(free_places):
    lab = free_places
    lab.client("-p", "board-a", "acquire", env=dict(lab.env, LG_USERNAME="alice"))
    with pytest.raises(PlaceBusyError, match=r"held by alice"):
        Place("board-a").acquire()
    assert lab.acquired_by("board-a").endswith("/alice")


def test_same_user_left_over_place_names_the_command_that_frees_it(free_places):
    lab = free_places
    lab.client("-p", "board-b", "acquire")  # what a SIGKILLed bench leaves behind
    with pytest.raises(PlaceStaleError) as err:
        Place("board-b").acquire()
    cmd = re.search(r"free it with: (labgrid-client .*release --kick)$", str(err.value)).group(1)
    assert f"-x {lab.coordinator}" in cmd
    lab.client(*cmd.split()[3:])  # the same command, through the lab's client
    assert lab.acquired_by("board-b") is None


def _bench_process(lab, place: str, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [REDS, "bench", "run", "--target", "qemu_m4", "--labgrid-place", place, "--model",
         str(DEFAULT_MODEL), "--out", str(out), "--runs", "2000", "--switch-runs", "2000",
         "--no-plots", *extra], env=lab.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True)


def _wait_acquired(lab, place: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while lab.acquired_by(place) is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"bench never acquired {place}: {proc.communicate()[0]}")
        time.sleep(0.2)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_bench(free_places, tmp_path, sig):
    """SIGTERM: the bench releases the place on its way out. SIGKILL: nothing can run, the
    place stays acquired, and the next bench says how to free it."""
    lab = free_places
    proc = _bench_process(lab, "board-b", tmp_path / "out")
    _wait_acquired(lab, "board-b", proc)
    time.sleep(1.0)  # mid-run: connected and measuring
    os.killpg(proc.pid, sig)
    output = proc.communicate(timeout=30)[0]
    if sig == signal.SIGTERM:
        assert proc.returncode == 130, output
        assert wait_released("board-b", lab.coordinator), lab.client("-p", "board-b", "show").stdout
    else:
        assert lab.acquired_by("board-b") is not None
        again = subprocess.run([REDS, "bench", "info", "--labgrid-place", "board-b"],
                               env=lab.env, capture_output=True, text=True, timeout=60)
        assert again.returncode == 2
        assert "release --kick" in again.stderr and again.stderr.count("\n") == 1, again.stderr


def test_power_cycle_through_the_place(free_places, tmp_path):
    lab = free_places
    board = create_board(hw=place_spec("board-a"), log_dir=tmp_path / "logs")
    try:
        assert board.place.has_power
        before = list(lab.power.log)
        board.place.power("cycle")
        board.expect(rf"m-{protocol.BOOT_TAG}", timeout=20)  # the boot banner is back
        assert lab.power.log[len(before):] == [("board-a", "0"), ("board-a", "1")]
        board.reset()  # Board.reset on a place with power: a cycle, then resynchronised
        assert board.kv("reds-info", "reds-info")
    finally:
        board.close()
    assert lab.acquired_by("board-a") is None


DEVICE_TEST = """
def test_board_answers(board, board_info):
    assert board.target_name
    assert board.kv("reds-info", "reds-info")["subnets"] == len(board_info["subnets"])
"""


def _pytest_process(lab, tmp_path: Path, place: str, *extra: str, env=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         "-c", os.devnull, str(tmp_path / "test_device.py"), "--reds-target", "qemu_m4",
         "--reds-labgrid-place", place, *extra],
        cwd=tmp_path, env=env or lab.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)


def test_two_pytest_runs_on_two_places(free_places, tmp_path):
    lab = free_places
    (tmp_path / "test_device.py").write_text(DEVICE_TEST)
    runs = [_pytest_process(lab, tmp_path, p) for p in ("board-a", "board-b")]
    outs = [r.communicate(timeout=120)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outs
    assert all("1 passed" in o for o in outs)


def test_second_pytest_on_one_place_fails_fast_or_waits(free_places, tmp_path):
    lab = free_places
    (tmp_path / "test_device.py").write_text(DEVICE_TEST)
    lab.client("-p", "board-a", "acquire", env=dict(lab.env, LG_USERNAME="ci-job-1"))
    fast = _pytest_process(lab, tmp_path, "board-a")
    out = fast.communicate(timeout=120)[0]
    assert fast.returncode == 1 and "held by ci-job-1" in out, out
    waiting = _pytest_process(lab, tmp_path, "board-a", "--reds-labgrid-wait")
    time.sleep(3.0)
    assert waiting.poll() is None  # queued behind ci-job-1
    lab.client("-p", "board-a", "release", env=dict(lab.env, LG_USERNAME="ci-job-1"))
    out = waiting.communicate(timeout=120)[0]
    assert waiting.returncode == 0 and "1 passed" in out, out
    assert wait_released("board-a", lab.coordinator)


def test_cli_run_over_tagged_places_and_exec_on_a_place(free_places, tmp_path, capsys):
    from reds_app.cli import main

    lab = free_places
    out = tmp_path / "out"
    code = main(["bench", "run", "--target", "qemu_m4", "--labgrid-places", "lab=ci", "--model",
                 str(DEFAULT_MODEL), "--out", str(out), "--runs", "2", "--switch-runs", "2",
                 "--inputs", "1", "--no-plots"])
    assert code == 0, capsys.readouterr().err
    import json

    res = json.loads((out / "results.json").read_text())
    assert [b["place"] for b in res["spread"]["boards"]] == ["board-a", "board-b"]
    assert res["board"]["id"] == res["spread"]["steps_on"] == "board-a"
    assert lab.acquired_places() == []

    # the same spread from hardware-map entries naming the places
    hwmap = tmp_path / "lab.yaml"
    hwmap.write_text("- {id: lab-a, env: qemu_m4, labgrid: {place: board-a}}\n"
                     "- {id: lab-b, env: qemu_m4, labgrid: {place: board-b}}\n")
    code = main(["bench", "run", "--hardware-map", str(hwmap), "--board", "lab-b,lab-a",
                 "--model", str(DEFAULT_MODEL), "--out", str(tmp_path / "out2"), "--runs", "1",
                 "--switch-runs", "1", "--inputs", "0", "--no-plots"])
    assert code == 0, capsys.readouterr().err
    res = json.loads((tmp_path / "out2" / "results.json").read_text())
    assert [(b["id"], b["place"]) for b in res["spread"]["boards"]] == [("lab-b", "board-b"),
                                                                          ("lab-a", "board-a")]
    assert lab.acquired_places() == []

    from reds_bench.measure.steps import golden_output, random_inputs

    x = np.frombuffer(random_inputs(DEFAULT_MODEL.read_bytes(), 1, seed=5)[0], np.int8)
    np.save(tmp_path / "x.npy", x[None])
    code = main(["exec", str(DEFAULT_MODEL), "--input", str(tmp_path / "x.npy"), "--output",
                 str(tmp_path / "y.npy"), "--target", "qemu_m4", "--labgrid-place", "board-b"])
    assert code == 0, capsys.readouterr().err
    got = np.load(tmp_path / "y.npy").tobytes()
    assert got == golden_output(DEFAULT_MODEL.read_bytes(), x.tobytes())
    assert lab.acquired_places() == []


def test_flash_holds_the_place(free_places, tmp_path, capsys, firmware_program):
    """`reds bench flash` on an entry naming a place: refused while someone else holds it,
    flashed (QEMU's GDB server, `flash: gdb`) while the bench holds it, released after."""
    from reds_app.cli import main

    lab = free_places
    hwmap = tmp_path / "lab.yaml"
    hwmap.write_text(f"- id: lab-a\n  env: qemu_m4\n  flash: gdb\n"
                     f"  gdb: 127.0.0.1:{lab.boards['board-a'].gdb_port}\n  gdb_reset: qemu\n"
                     f"  labgrid: {{place: board-a}}\n")
    elf = str(firmware_program("qemu_m4"))
    args = ["bench", "flash", "--hardware-map", str(hwmap), "--board", "lab-a", "--firmware", elf]
    lab.client("-p", "board-a", "acquire", env=dict(lab.env, LG_USERNAME="alice"))
    assert main(args) == 2
    assert "held by alice" in capsys.readouterr().err
    lab.release_all()
    assert main(args) == 0, capsys.readouterr().err
    assert lab.acquired_places() == []
    with create_board(hw=place_spec("board-a"), log_dir=tmp_path / "logs") as board:
        assert board.target_name  # the flashed firmware answers
