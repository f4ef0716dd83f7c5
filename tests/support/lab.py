"""A labgrid lab on one machine, for tests and benchmarks: a coordinator in a fresh temporary
directory, emulated boards (QEMU with ``-serial pty``), a small HTTP power service that
speaks labgrid's ``simplerest`` protocol and drives QEMU over QMP, one exporter publishing a
``RawSerialPort`` + ``NetworkPowerPort`` per board, and one place per board.

    with Lab(tmp_dir, boards=("board-a", "board-b")) as lab:
        lab.client("-p", "board-a", "show")      # labgrid-client -x 127.0.0.1:PORT ...
        lab.env                                   # LG_COORDINATOR etc. for a bench subprocess

Every process is started in its own process group and stopped by that group's id (the
exporter's ser2net children go with it). Nothing here imports labgrid: it lives in
``.venv-lab`` and is driven through its programs, like the bench does.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from paths import REPO

LAB_BIN = REPO / ".venv-lab" / "bin"
EXPORTER = "lab"


def lab_tools_missing() -> str | None:
    """Why a lab cannot start here (a skip reason), or None."""
    for tool in ("labgrid-client", "labgrid-coordinator", "labgrid-exporter"):
        if not (LAB_BIN / tool).exists():
            return f"{LAB_BIN / tool} missing: run `make bootstrap`"
    if not (Path("/usr/sbin/ser2net").exists() or Path("/usr/bin/ser2net").exists()):
        return "ser2net missing: run `make bootstrap` (Debian package ser2net)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_group(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """SIGTERM the process group, SIGKILL it when it lingers."""
    if proc.poll() is not None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # children that outlived their leader
        except ProcessLookupError:
            pass
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
    except ProcessLookupError:
        proc.wait(timeout)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------------------- emulated board


class QemuBoard:
    """One QEMU with its UART on a pty, a QMP socket for power and a GDB server (``gdb_port``,
    for flashing through ``flash: gdb``)."""

    def __init__(self, name: str, elf: Path, machine: str, workdir: Path):
        self.name = name
        self.qmp_path = workdir / f"{name}.qmp"
        self.log_path = workdir / f"{name}.qemu.log"
        self.gdb_port = free_port()
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            ["qemu-system-arm", "-M", machine, "-nographic", "-monitor", "none",
             "-icount", "shift=0,sleep=off", "-serial", "pty",
             "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
             "-gdb", f"tcp:127.0.0.1:{self.gdb_port}", "-kernel", str(elf)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.pty = self._read_pty(10.0)
        self.powered = True

    def _read_pty(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"char device redirected to (/dev/pts/\d+)", self.log_path.read_text(errors="replace"))
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        _stop_group(self.proc)
        raise RuntimeError(f"{self.name}: QEMU gave no pty: {self.log_path.read_text()[-500:]}")

    def qmp(self, *commands: str) -> None:
        """Run QMP commands in one short session (QEMU serves one QMP client at a time)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5.0)
            s.connect(str(self.qmp_path))
            f = s.makefile("rwb")
            f.readline()  # greeting
            for cmd in ("qmp_capabilities",) + commands:
                f.write(json.dumps({"execute": cmd}).encode() + b"\n")
                f.flush()
                while True:  # skip asynchronous events up to this command's answer
                    reply = json.loads(f.readline())
                    if "return" in reply or "error" in reply:
                        break
                if "error" in reply:
                    raise RuntimeError(f"{self.name}: QMP {cmd}: {reply['error']}")

    def power(self, on: bool) -> None:
        if on:
            self.qmp("system_reset", "cont")
        else:
            self.qmp("stop")
        self.powered = on

    def stop(self) -> None:
        _stop_group(self.proc)


# ---------------------------------------------------------------------------- power service


class PowerService:
    """labgrid's ``simplerest`` power protocol over HTTP: ``GET /NAME/1`` powers NAME on,
    ``GET /NAME/0`` off, ``GET /NAME`` answers ``1`` or ``0``."""

    def __init__(self, boards: dict[str, QemuBoard]):
        self.boards = boards
        self.log: list[tuple[str, str]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                parts = [p for p in self.path.split("/") if p]
                board = service.boards.get(parts[0]) if parts else None
                if board is None or len(parts) > 2 or (len(parts) == 2 and parts[1] not in "01"):
                    self.send_error(404)
                    return
                if len(parts) == 2:
                    board.power(parts[1] == "1")
                    service.log.append((parts[0], parts[1]))
                body = b"1" if board.powered else b"0"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}/{{value}}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------- the lab


def exporter_config(boards: dict[str, dict]) -> str:
    """The exporter file (labgrid renders it as a Jinja template, so comments start with ##):
    one group per emulated board, its UART (served by ser2net on acquire) and power switch."""
    lines = ["## REDS CI lab: emulated boards"]
    for name, b in boards.items():
        lines += [f"{name}:", "  RawSerialPort:", f"    port: {b['pty']}", "    speed: 115200",
                  "  NetworkPowerPort:", "    model: simplerest", f"    host: '{b['power_url']}'",
                  "    index: 0"]
    return "\n".join(lines) + "\n"


class Lab:
    """Coordinator + boards + power service + exporter + places; :meth:`stop` ends them all."""

    def __init__(self, workdir: Path, boards=("board-a",), env: str = "qemu_m4",
                 elf: Path | None = None, tags: dict | None = None):
        from reds_bench.board import firmware, targets

        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.env_name = env
        self.elf = Path(elf) if elf else firmware.build(env)
        self.port = free_port()
        self.coordinator = f"127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []
        self.boards: dict[str, QemuBoard] = {}
        self.power = None
        try:
            self._start_coordinator()
            for name in boards:
                self.boards[name] = QemuBoard(name, self.elf, targets.target(env).machine, self.dir)
                self.procs.append(self.boards[name].proc)
            self.power = PowerService(self.boards)
            self._start_exporter()
            for name in boards:
                self.add_place(name, {"board": env, "lab": "ci", **(tags or {})})
        except BaseException:
            self.stop()
            raise

    @property
    def env(self) -> dict:
        """Environment for a bench or pytest subprocess using this lab."""
        return dict(os.environ, LG_COORDINATOR=self.coordinator,
                    REDS_LABGRID_CLIENT=str(LAB_BIN / "labgrid-client"))

    def _spawn(self, name: str, args: list[str], cwd: Path) -> subprocess.Popen:
        log = open(self.dir / f"{name}.log", "wb")
        proc = subprocess.Popen(args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def _start_coordinator(self) -> None:
        # the coordinator reloads places.yaml from its working directory: always a fresh one
        cdir = Path(tempfile.mkdtemp(prefix="coordinator-", dir=self.dir))
        proc = self._spawn("coordinator", [str(LAB_BIN / "labgrid-coordinator"), "-l",
                                           self.coordinator], cdir)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"coordinator exited: {(self.dir / 'coordinator.log').read_text()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("coordinator did not listen within 30 s")

    def _start_exporter(self) -> None:
        cfg = self.dir / "exporter.yaml"
        boards = {n: {"pty": b.pty, "power_url": self.power.url(n)} for n, b in self.boards.items()}
        cfg.write_text(exporter_config(boards))
        self._spawn("exporter", [str(LAB_BIN / "labgrid-exporter"), "-c", self.coordinator,
                                 "-n", EXPORTER, "--hostname", "127.0.0.1", str(cfg)], self.dir)
        deadline = time.monotonic() + 30
        want = {f"{EXPORTER}/{n}/NetworkSerialPort" for n in self.boards}
        while time.monotonic() < deadline:
            out = self.client("resources", check=False).stdout
            if all(w in out for w in want):
                return
            time.sleep(0.3)
        raise RuntimeError(f"exporter resources did not appear: {(self.dir / 'exporter.log').read_text()[-800:]}")

    def client(self, *args: str, check: bool = True, env: dict | None = None,
               timeout: float = 30) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(LAB_BIN / "labgrid-client"), "-x", self.coordinator, *args],
                              capture_output=True, text=True, timeout=timeout,
                              env=env or self.env)
        if check and proc.returncode != 0:
            raise RuntimeError(f"labgrid-client {' '.join(args)}: {proc.stdout}{proc.stderr}")
        return proc

    def add_place(self, name: str, tags: dict) -> None:
        self.client("-p", name, "create")
        self.client("-p", name, "add-match", f"{EXPORTER}/{name}/*")
        self.client("-p", name, "set-tags", *(f"{k}={v}" for k, v in tags.items()))

    def acquired_by(self, place: str) -> str | None:
        out = self.client("-p", place, "show").stdout
        m = re.search(r"^\s*acquired: (\S+)", out, re.MULTILINE)
        return None if not m or m.group(1) == "None" else m.group(1)

    def acquired_places(self) -> list[str]:
        """Places someone holds (one ``labgrid-client who`` call)."""
        rows = self.client("who").stdout.splitlines()[1:]
        return [r.split()[2] for r in rows if len(r.split()) >= 3]

    def release_all(self) -> None:
        """Free every place, whoever holds it (between tests)."""
        for place in self.acquired_places():
            self.client("-p", place, "release", "--kick", check=False)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            _stop_group(proc)
        if self.power:
            self.power.stop()

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
