"""The target registry: which PlatformIO envs the bench can start by itself, read from
``platformio.ini`` (the one place that defines them).

A CI target is an env of ``[platformio] default_envs``: ``native`` (the host program) or a
QEMU board (an env with ``custom_qemu_machine``). Every other env is a real board, reached
through a hardware map (docs/boards.md). Everything else (CLI choices, the pytest plugin,
hardware-map checks, builds) asks this module.
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass
from functools import lru_cache

from reds.runtime.sources import REPO_ROOT

from reds_bench.errors import ConfigError

PLATFORMIO_INI = REPO_ROOT / "platformio.ini"


@dataclass(frozen=True)
class Target:
    """A CI target: its PlatformIO env and, for QEMU, the machine it boots on."""

    env: str
    machine: str | None  # QEMU machine, None for the host build

    @property
    def qemu(self) -> bool:
        return self.machine is not None


@lru_cache(maxsize=1)
def _read() -> dict[str, Target]:
    ini = configparser.ConfigParser(interpolation=None)
    if not ini.read(PLATFORMIO_INI):
        raise ConfigError(f"{PLATFORMIO_INI} not found")
    envs = [e.strip() for e in ini.get("platformio", "default_envs").split(",") if e.strip()]
    out = {}
    for env in envs:
        section = f"env:{env}"
        machine = ini.get(section, "custom_qemu_machine", fallback=None)
        out[env] = Target(env, machine.strip() if machine else None)
    return out


def names() -> list[str]:
    """The CI targets in platformio.ini's order: native, qemu_m4, qemu_m7, qemu_m33, stm32f405."""
    return list(_read())


def target(env: str) -> Target:
    try:
        return _read()[env]
    except KeyError:
        raise ConfigError(f"unknown target {env!r}; CI targets: {', '.join(names())} "
                          "(real boards: see docs/boards.md)") from None


def is_ci_target(env: str) -> bool:
    return env in _read()
