"""Find serial ports and guess which board sits behind each (USB VID:PID).

Returns plain dicts (like PlatformIO's ``device list``), so the CLI only formats them.
"""
from __future__ import annotations

#: (vid, pid) -> (board, PlatformIO env guess or None). pid None matches any product.
KNOWN_BOARDS: dict[tuple[int, int | None], tuple[str, str | None]] = {
    (0x2341, 0x805A): ("Arduino Nano 33 BLE", "nano33ble"),
    (0x2341, 0x005A): ("Arduino Nano 33 BLE (bootloader)", "nano33ble"),
    (0x2341, 0x8057): ("Arduino Nano 33 IoT", None),
    (0x2341, None): ("Arduino (other)", None),
    (0x10C4, 0xEA60): ("ESP32 (CP210x USB-UART)", "esp32dev"),
    (0x1A86, 0x7523): ("ESP32 (CH340 USB-UART)", "esp32dev"),
    (0x1A86, 0x55D4): ("ESP32 (CH9102 USB-UART)", "esp32dev"),
    (0x303A, None): ("Espressif native USB", "esp32dev"),
    (0x2E8A, 0x000A): ("Raspberry Pi Pico (RP2040)", "pico"),
    (0x2E8A, 0x0003): ("Raspberry Pi Pico (BOOTSEL)", "pico"),
    (0x2E8A, None): ("Raspberry Pi RP2040 board", "pico"),
    (0x0483, 0x374B): ("ST-Link V2-1 (Nucleo)", "nucleo_f446re"),
    (0x0483, 0x374E): ("ST-Link V3 (Nucleo)", "nucleo_f446re"),
    (0x0483, 0x3752): ("ST-Link V2-1 (Nucleo)", "nucleo_f446re"),
}


def identify(vid: int | None, pid: int | None) -> tuple[str | None, str | None]:
    if vid is None:
        return None, None
    return KNOWN_BOARDS.get((vid, pid)) or KNOWN_BOARDS.get((vid, None)) or (None, None)


def discover(include_unknown: bool = True) -> list[dict]:
    """Serial ports as dicts: port, vid, pid (``"2341:805A"``), serial_number, description,
    board, env. Unknown USB devices are included unless ``include_unknown`` is False."""
    from serial.tools import list_ports

    out = []
    for p in sorted(list_ports.comports(), key=lambda p: p.device):
        board, env = identify(p.vid, p.pid)
        if board is None and not include_unknown:
            continue
        out.append({
            "port": p.device,
            "vid_pid": f"{p.vid:04X}:{p.pid:04X}" if p.vid is not None else None,
            "serial_number": p.serial_number,
            "description": p.description,
            "board": board,
            "env": env,
        })
    return out
