import pytest

from reds_bench.board import discover, hwmap
from reds_bench.errors import ConfigError


def test_load_hwmap(tmp_path):
    p = tmp_path / "map.yaml"
    p.write_text("- id: nano-1\n  env: nano33ble\n  port: /dev/ttyACM0\n  flash: pio\n  reset: dtr\n"
                 "- id: emu\n  env: qemu_m4\n")
    specs = hwmap.load_hwmap(p)
    assert [s.id for s in specs] == ["nano-1", "emu"]
    assert specs[0].port == "/dev/ttyACM0" and specs[0].reset == "dtr" and not specs[0].emulated
    assert specs[1].emulated
    assert hwmap.select(specs, "emu").env == "qemu_m4"
    assert hwmap.select(specs, env="nano33ble").id == "nano-1"


@pytest.mark.parametrize("text,msg", [
    ("- id: a\n  env: nano33ble\n", "needs a port"),
    ("- id: a\n  env: nano33ble\n  port: /dev/x\n  flash: jtag\n", "flash must be one of"),
    ("- id: a\n  env: nano33ble\n  port: /dev/x\n  reset: power\n", "reset must be one of"),
    ("- id: a\n  env: native\n  colour: red\n", "unknown key"),
    ("- env: native\n", "lacks 'id'"),
    ("- id: a\n  env: native\n- id: a\n  env: native\n", "duplicate id"),
    ("id: a\n", "expected a list"),
    ("- [unclosed\n", "invalid YAML"),
])
def test_bad_hwmap(tmp_path, text, msg):
    p = tmp_path / "map.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=msg):
        hwmap.load_hwmap(p)


def test_missing_hwmap(tmp_path):
    with pytest.raises(ConfigError, match="discover --write-map"):
        hwmap.load_hwmap(tmp_path / "none.yaml")


class FakePort:
    def __init__(self, device, vid, pid, sn=None, desc=""):
        self.device, self.vid, self.pid, self.serial_number, self.description = device, vid, pid, sn, desc


def test_discover_known_boards(monkeypatch):
    from serial.tools import list_ports

    ports = [FakePort("/dev/ttyACM0", 0x2341, 0x805A, "ABC"), FakePort("/dev/ttyUSB0", 0x10C4, 0xEA60),
             FakePort("/dev/ttyACM1", 0x2E8A, 0x000A), FakePort("/dev/ttyACM2", 0x0483, 0x374B),
             FakePort("/dev/ttyS0", None, None), FakePort("/dev/ttyUSB1", 0x1234, 0x5678)]
    monkeypatch.setattr(list_ports, "comports", lambda: ports)
    found = {d["port"]: d for d in discover.discover()}
    assert found["/dev/ttyACM0"]["env"] == "nano33ble" and found["/dev/ttyACM0"]["vid_pid"] == "2341:805A"
    assert found["/dev/ttyUSB0"]["env"] == "esp32dev"
    assert found["/dev/ttyACM1"]["env"] == "pico"
    assert found["/dev/ttyACM2"]["env"] == "nucleo_f446re"
    assert found["/dev/ttyS0"]["board"] is None
    known = discover.discover(include_unknown=False)
    assert {d["port"] for d in known} == {"/dev/ttyACM0", "/dev/ttyUSB0", "/dev/ttyACM1", "/dev/ttyACM2"}
    entries = hwmap.entries_from_discovery(known)
    assert entries[0] == {"id": "nano33ble-1", "env": "nano33ble", "port": "/dev/ttyACM0",
                          "flash": "pio", "reset": "none", "serial_number": "ABC"}
    # the written map loads back
    import yaml
    specs = [hwmap.parse_entry(e) for e in yaml.safe_load(hwmap.dump_hwmap(entries))]
    assert len(specs) == 4
