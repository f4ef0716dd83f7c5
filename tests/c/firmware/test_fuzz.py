"""Fuzz the command parser: random and mutated byte streams into the ASan/UBSan host build.

Properties checked for every stream:
* no crash and no sanitizer report;
* exactly one ``m-ready`` per ``%`` (plus one after the boot banner): a reply after every line,
  however bad;
* every output line is ``m-...`` or ``e-[...]``;
* a final ``%name%`` is answered: the board is alive and back in sync.
"""
import random

import pytest

import hostbuild
from fwclient import READY, lines as output_lines, well_formed

CORPUS = [
    "name", "profile", "help", "db load 16", "db 000102030405060708090a0b0c0d0e0f", "infer 2 1",
    "results", "reds-info", "reds-select 1", "reds-select 3", "reds-bench 2 5", "reds-switch 3",
    "model-load 32", "model-data " + "ab" * 16, "model-commit 0badf00d", "model-reset",
    "db load 4", "db 00ff", "infer 1 0", "reds-bench 0 1 0",
]
SEEDS_RANDOM = range(40)
SEEDS_MUTATED = range(120)


def mutate(rng: random.Random, s: bytes) -> bytes:
    b = bytearray(s)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:  # flip a byte
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        elif op == 1:  # insert random bytes
            b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 2 and b:  # delete a slice
            del b[pos:pos + rng.randint(1, 6)]
        elif op == 3:  # duplicate a slice (overlong lines, repeated digits)
            b[pos:pos] = b[pos:pos + rng.randint(1, 40)] * rng.randint(1, 40)
        elif op == 4:  # inject a separator
            b[pos:pos] = rng.choice([b"%", b" ", b"\r\n", b"\x00"])
        else:  # splice in another command
            b[pos:pos] = rng.choice(CORPUS).encode()
    return bytes(b)


def random_stream(seed: int) -> bytes:
    rng = random.Random(seed)
    n = rng.choice([10, 100, 1000, 5000])
    alphabet = [bytes([i]) for i in range(256)] + [b"%"] * 20 + [b" "] * 20 + [b"0", b"a"] * 10
    return b"".join(rng.choice(alphabet) for _ in range(n))


def mutated_stream(seed: int) -> bytes:
    rng = random.Random(10_000 + seed)
    parts = []
    for _ in range(rng.randint(1, 12)):
        cmd = rng.choice(CORPUS).encode() + b"%"
        parts.append(mutate(rng, cmd) if rng.random() < 0.7 else cmd)
    return b"".join(parts)


def check(prog, stream: bytes):
    p = hostbuild.run_stdio(prog, stream + b"%name%", timeout=120)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 0 and "ERROR: AddressSanitizer" not in err and "runtime error" not in err, \
        f"crash on stream {stream[:200]!r}...:\n{err[-3000:]}"
    lines = output_lines(p.stdout)
    bad = [ln for ln in lines if not well_formed(ln)]
    assert not bad, f"malformed reply lines {bad[:3]} for stream {stream[:200]!r}"
    # one m-ready after the boot banner, one per '%' of the stream, two for the final "%name%"
    expected = 1 + stream.count(b"%") + 2
    assert lines.count(READY) == expected, f"{lines.count(READY)} m-ready, expected {expected}"
    assert lines[-2:] == ["m-name-dut-[reds-native]", READY], lines[-4:]


@pytest.mark.parametrize("seed", SEEDS_RANDOM)
def test_random_bytes(asan_program, seed):
    check(asan_program, random_stream(seed))


@pytest.mark.parametrize("seed", SEEDS_MUTATED)
def test_mutated_commands(asan_program, seed):
    check(asan_program, mutated_stream(seed))


def test_overlong_and_binary_flood(asan_program):
    check(asan_program, b"db " + b"f" * 100_000 + b"%" + bytes(range(256)) * 50 + b"%")
