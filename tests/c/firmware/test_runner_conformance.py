"""The MLPerf Tiny / EEMBC benchmark runner's DUT protocol, against the qemu_m4 firmware and
the STM32F405 image (the real chip's firmware, in QEMU's netduinoplus2).

The client below is written here, independent of reds_bench: it sends commands the way the
runner does (`db` chunks of at most 31 bytes) and applies the runner's regular expressions to
every reply line. The outputs it reads must equal TFLM's, dequantized.
"""
import re
import time
import zlib

import numpy as np
import pytest

import serial

from reds.runtime import golden
from reds.tflite.flatbuffer import load_model
from reds_bench.board import firmware

import hostbuild

MODEL = (hostbuild.FW / "default_model.tflite").read_bytes()
NAME = re.compile(r"^m-(name)-dut-\[([^]]+)]$")
PROFILE = re.compile(r"^m-(model|profile)-\[([^]]+)]$")
LAP = re.compile(r"^m-lap-us-([0-9]+)$")
RESULTS = re.compile(r"^m-results-\[([^]]+)]$")
READY = "m-ready"

pytestmark = pytest.mark.qemu


class RunnerClient:
    """Line-oriented client: a command is `<text>%`, its reply ends with `m-ready`."""

    def __init__(self, link):
        self.link = link
        self.buf = b""

    def line(self, deadline: float) -> str:
        while b"\n" not in self.buf:
            assert time.monotonic() < deadline, f"no complete line, got {self.buf[-200:]!r}"
            self.buf += self.link.read(self.link.in_waiting or 1)
        raw, self.buf = self.buf.split(b"\n", 1)
        return raw.decode("ascii").rstrip("\r")

    def send(self, command: str, timeout: float = 60.0) -> dict:
        """Every regex applied to every reply line: {"name": [...], "profile": [...], ...}."""
        self.link.write(command.encode("ascii") + b"%")
        deadline = time.monotonic() + timeout
        found = {"lines": [], "name": [], "profile": [], "lap": [], "results": [], "errors": []}
        while True:
            ln = self.line(deadline)
            if ln == READY:
                return found
            found["lines"].append(ln)
            if m := NAME.match(ln):
                found["name"].append(m.group(2))
            if m := PROFILE.match(ln):
                found["profile"].append((m.group(1), m.group(2)))
            if m := LAP.match(ln):
                found["lap"].append(int(m.group(1)))
            if m := RESULTS.match(ln):
                found["results"].append([float(v) for v in m.group(1).split(",")])
            if ln.startswith("e-"):
                found["errors"].append(ln)

    def boot(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.line(deadline) != READY:
            pass


def tflm_dequantized(model: bytes, x: np.ndarray) -> np.ndarray:
    """TFLM's output 0 for the input bytes of `x`, dequantized with the output's parameters."""
    m = load_model(model)
    q = m.tensors[m.outputs[0]].quantization
    y = golden.tflm_run(model, x.tobytes()).astype(np.float64).ravel()
    return (y - q.zero_point[0]) * q.scale[0]


@pytest.fixture(scope="module", params=["qemu_m4", "stm32f405"])
def client(request, firmware_program):
    env = request.param
    with firmware.Emulated(env, firmware_program(env)) as board:
        link = serial.serial_for_url(board.url, timeout=0.2)  # plain pyserial, as the runner uses
        c = RunnerClient(link)
        c.env = env
        c.boot()
        yield c
        link.close()


def test_name_and_profile(client):
    r = client.send("name")
    name = f"reds-{client.env}"
    assert r["name"] == [name] and r["lines"] == [f"m-name-dut-[{name}]"]
    r = client.send("profile")
    kinds = dict(r["profile"])
    assert set(kinds) == {"model", "profile"} and len(r["lines"]) == 2
    assert kinds["model"] == f"{zlib.crc32(MODEL):08x}"


@pytest.mark.parametrize("seed", [0, 1])
def test_db_load_infer_results(client, seed):
    info = client.send("reds-info")
    m = re.search(r" input_bytes=(\d+)", info["lines"][0])
    assert m, info["lines"][0]
    n = int(m.group(1))
    x = np.random.default_rng(seed).integers(-128, 128, n, dtype=np.int8)
    r = client.send(f"db load {n}")
    assert not r["errors"]
    data = x.tobytes()
    for i in range(0, n, 31):  # the runner's chunking: at most 31 bytes (62 hex digits) each
        chunk = data[i:i + 31].hex()
        assert len(chunk) <= 62
        assert not client.send(f"db {chunk}")["errors"]
    r = client.send("infer 10 2")
    assert not r["errors"], r["errors"]
    assert len(r["lap"]) == 2 and r["lap"][1] > r["lap"][0], r["lines"]
    assert len(r["results"]) == 1
    got = np.array(r["results"][0])
    want = tflm_dequantized(MODEL, x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    again = client.send("results")
    assert again["results"] == r["results"] and not again["lap"]
