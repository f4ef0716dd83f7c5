"""The lab backend's pieces that need no lab: hardware-map entries naming a place, reading
labgrid-client's output, shards, the SIGTERM guard, labgrid env files."""
from __future__ import annotations

import os
import signal
import time

import pytest

from reds_bench.board import place
from reds_bench.board.hwmap import parse_entry
from reds_bench.errors import ConfigError
from reds_bench.measure.spread import shards
from reds_bench.plugin import place_from_lg_env

# what labgrid-client 26 prints for `-p board-a show` once acquired (two resources)
SHOW = """Place 'board-a':
  tags: board=qemu_m4, lab=ci
  matches:
    lab/board-a/*
  acquired: vm/alice
  acquired resources:
    lab/board-a/NetworkPowerPort/NetworkPowerPort
    lab/board-a/NetworkSerialPort/RawSerialPort
Acquired resource 'NetworkPowerPort' (lab/board-a/NetworkPowerPort/NetworkPowerPort):
  {'acquired': 'board-a',
   'avail': True,
   'cls': 'NetworkPowerPort',
   'params': {'host': 'http://127.0.0.1:8000/board-a/{value}', 'index': 0, 'model': 'simplerest'}}
Acquired resource 'RawSerialPort' (lab/board-a/NetworkSerialPort/RawSerialPort):
  {'acquired': 'board-a',
   'avail': True,
   'cls': 'NetworkSerialPort',
   'params': {'extra': {'path': '/dev/pts/3'}, 'host': '10.1.2.3', 'port': 40111, 'speed': 115200}}
"""


def test_hwmap_entry_names_a_place():
    spec = parse_entry({"id": "lab-a", "env": "nano33ble",
                        "labgrid": {"place": "board-a", "coordinator": "10.0.0.5:20408"}})
    assert spec.labgrid == {"place": "board-a", "coordinator": "10.0.0.5:20408", "wait": False}
    assert spec.port is None and not spec.emulated
    emulated_env = parse_entry({"id": "q", "env": "qemu_m4", "labgrid": {"place": "p"}})
    assert not emulated_env.emulated  # a place is never started locally


@pytest.mark.parametrize("entry, message", [
    ({"labgrid": "board-a"}, "mapping with a place"),
    ({"labgrid": {"coordinator": "h:1"}}, "mapping with a place"),
    ({"labgrid": {"place": "a", "user": "x"}}, "unknown key"),
    ({"labgrid": {"place": "a"}, "port": "/dev/ttyACM0"}, "not both"),
])
def test_bad_labgrid_entries_are_one_line(entry, message):
    with pytest.raises(ConfigError, match=message):
        parse_entry({"id": "x", "env": "nano33ble", **entry})


def test_resources_and_serial_url_from_show():
    p = place.Place.__new__(place.Place)  # no coordinator: only the parsed resources
    p.name = "board-a"
    p.resources = place.parse_resources(SHOW)
    assert [r["cls"] for r in p.resources] == ["NetworkPowerPort", "NetworkSerialPort"]
    assert p.serial_url() == "rfc2217://10.1.2.3:40111?ign_set_control"
    assert p.has_power
    p.resources = p.resources[1:]
    assert not p.has_power
    p.resources = []
    with pytest.raises(place.PlaceError, match="no serial port"):
        p.serial_url()


def test_places_and_tags_from_verbose_listing():
    listing = SHOW + "Place 'board-b':\n  matches:\n    lab/board-b/*\n  acquired: None\n"
    assert place.parse_places(listing) == {"board-a": {"board": "qemu_m4", "lab": "ci"},
                                           "board-b": {}}


def test_names_need_no_coordinator_and_mixed_selectors_are_refused():
    assert place.places_matching("a, b") == ["a", "b"]
    with pytest.raises(ConfigError, match="not both"):
        place.places_matching("a,lab=ci")


@pytest.mark.parametrize("n, parts", [(10, 2), (7, 3), (2, 4), (0, 2)])
def test_shards_cover_every_sample_once(n, parts):
    cuts = shards(n, parts)
    assert len(cuts) == parts
    covered = [i for a, b in cuts for i in range(a, b)]
    assert covered == list(range(n))
    sizes = [b - a for a, b in cuts]
    assert max(sizes) - min(sizes) <= 1


def test_missing_labgrid_is_one_line(monkeypatch):
    monkeypatch.setenv("REDS_LABGRID_CLIENT", "/nonexistent/labgrid-client")
    with pytest.raises(place.LabgridMissingError, match="REDS_LABGRID_CLIENT"):
        place.Place("board-a")


def test_sigterm_becomes_an_exception_and_the_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)
    released = []
    with pytest.raises(place.Terminated):
        with place.sigterm_raises():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler interrupts this at once
            finally:
                released.append(True)
    assert released == [True]
    assert signal.getsignal(signal.SIGTERM) is before


def test_remote_place_from_a_labgrid_env_file(tmp_path):
    env = tmp_path / "env.yaml"
    env.write_text("targets:\n  main:\n    resources:\n      RemotePlace:\n        name: board-b\n")
    assert place_from_lg_env(str(env)) == "board-b"
    env.write_text("targets:\n  main:\n    resources:\n    - RemotePlace:\n        name: rig-7\n")
    assert place_from_lg_env(str(env)) == "rig-7"
    env.write_text("targets:\n  main:\n    drivers: {}\n")
    with pytest.raises(ConfigError, match="RemotePlace"):
        place_from_lg_env(str(env))
