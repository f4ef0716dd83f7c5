"""A labgrid place as a board's lease: acquire (or queue for) the place, find its serial port,
switch its power, release it (docs/lab.md).

labgrid is driven through its programs (``labgrid-client``), never imported: it ships its own
``serial`` module (pyserial-labgrid) that would fight the bench's pyserial in one environment,
and a coordinator allows one client session per process. ``make bootstrap`` installs it in
``.venv-lab``; :func:`client_program` finds it there, then on ``PATH`` (``REDS_LABGRID_CLIENT``
overrides both).

    with Place("board-a", coordinator="10.0.0.5:20408", wait=True) as place:
        url = place.serial_url()        # rfc2217://HOST:PORT?ign_set_control
        place.power("cycle")

Locks belong to a user on a host (``LG_USERNAME``/``LG_HOSTNAME`` override them), not to a
process: a bench that died without releasing leaves the place acquired, and its next start
is told the command that frees it.
"""
from __future__ import annotations

import ast
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from reds_bench.board.targets import REPO_ROOT
from reds_bench.errors import BenchError, ConfigError

LAB_VENV_BIN = REPO_ROOT / ".venv-lab" / "bin"
# resource classes a place's power is switched through (labgrid's remote power resources)
POWER_SUFFIX = "PowerPort"
POWER_CLASSES = {"PDUDaemonPort", "NetworkPowerPort"}


class PlaceError(BenchError):
    """A place cannot be used: unknown, unreachable coordinator, no serial port."""


class PlaceBusyError(PlaceError):
    """Another user holds the place."""


class PlaceStaleError(PlaceError):
    """The place is acquired by this very user, most likely by a bench that died."""


class LabgridMissingError(ConfigError):
    """labgrid-client is not installed."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so ``finally`` blocks release what they hold."""


@contextmanager
def sigterm_raises():
    """Turn SIGTERM into :class:`Terminated` while the block runs (then restore the previous
    handler), so a killed bench still releases its places and closes its journal."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated(f"terminated by signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def client_program() -> str:
    """Path of ``labgrid-client``: ``$REDS_LABGRID_CLIENT``, ``.venv-lab/bin``, then ``PATH``."""
    override = os.environ.get("REDS_LABGRID_CLIENT")
    if override:
        if not Path(override).exists() and not shutil.which(override):
            raise LabgridMissingError(f"REDS_LABGRID_CLIENT={override} does not exist")
        return override
    local = LAB_VENV_BIN / "labgrid-client"
    if local.exists():
        return str(local)
    found = shutil.which("labgrid-client")
    if found:
        return found
    raise LabgridMissingError("labgrid-client not found: run `make bootstrap`, or `pip install "
                              "labgrid` in a separate venv (it ships its own pyserial) and put "
                              "its bin/ on PATH or in REDS_LABGRID_CLIENT")


def coordinator_address(explicit: str | None = None) -> str | None:
    """``explicit``, else ``$LG_COORDINATOR``, else None (labgrid's own default)."""
    return explicit or os.environ.get("LG_COORDINATOR") or None


def _labgrid_error(text: str) -> str:
    """labgrid-client's own message without its ``labgrid-client: Error:`` prefix."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else "no output"
    return re.sub(r"^labgrid-client: (Error: )?", "", last)


def run_client(args: list[str], coordinator: str | None, timeout: float = 60.0,
               check: bool = True) -> subprocess.CompletedProcess:
    """One ``labgrid-client [-x COORDINATOR] ARGS`` call with a timeout."""
    cmd = [client_program()] + (["-x", coordinator] if coordinator else []) + list(args)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise PlaceError(f"`{' '.join(args)}` got no answer from the labgrid coordinator "
                         f"{coordinator or '(default)'} within {timeout:.0f} s") from None
    if check and proc.returncode != 0:
        raise PlaceError(f"labgrid {' '.join(args)}: {_labgrid_error(proc.stderr or proc.stdout)}")
    return proc


def parse_resources(show: str) -> list[dict]:
    """The acquired resources in ``labgrid-client show`` output: dicts with ``name``, ``path``,
    ``cls`` and ``params`` (labgrid prints each as a Python literal)."""
    out = []
    blocks = re.split(r"^Acquired resource ", show, flags=re.MULTILINE)[1:]
    for block in blocks:
        head, _, body = block.partition("\n")
        m = re.match(r"'([^']*)' \(([^)]*)\):", head)
        try:
            data = ast.literal_eval(body.strip())
        except (ValueError, SyntaxError):
            continue
        if m and isinstance(data, dict):
            out.append({"name": m.group(1), "path": m.group(2), "cls": data.get("cls"),
                        "params": data.get("params") or {}})
    return out


def parse_places(verbose: str) -> dict[str, dict]:
    """``labgrid-client -v places`` output → {place: {tag: value}}."""
    places, name = {}, None
    for line in verbose.splitlines():
        m = re.match(r"^Place '([^']+)':", line)
        if m:
            name = m.group(1)
            places[name] = {}
            continue
        m = re.match(r"^\s+tags: (.*)$", line)
        if m and name:
            for pair in m.group(1).split(", "):
                k, _, v = pair.partition("=")
                places[name][k.strip()] = v.strip()
    return places


def places_matching(selector: str, coordinator: str | None = None) -> list[str]:
    """Place names for ``a,b`` (names) or ``key=value[,key=value]`` (labgrid's tag match: a
    place matches when it carries every tag; its name matches the ``name`` tag)."""
    items = [s.strip() for s in selector.split(",") if s.strip()]
    if not items:
        raise ConfigError("--labgrid-places needs place names or key=value tags")
    if not all("=" in s for s in items):
        if any("=" in s for s in items):
            raise ConfigError(f"--labgrid-places {selector!r}: give names or key=value tags, not both")
        return items
    want = dict(s.split("=", 1) for s in items)
    known = parse_places(run_client(["-v", "places"], coordinator).stdout)
    found = [n for n, tags in sorted(known.items())
             if all(dict(tags, name=n).get(k) == v for k, v in want.items())]
    if not found:
        raise PlaceError(f"no labgrid place has tags {selector} (places: "
                         f"{', '.join(sorted(known)) or 'none'})")
    return found


class Place:
    """One labgrid place held by this bench between :meth:`acquire` and :meth:`release`."""

    def __init__(self, name: str, coordinator: str | None = None, wait: bool = False,
                 wait_timeout: float = 3600.0, timeout: float = 60.0):
        if not name:
            raise ConfigError("a labgrid place needs a name")
        self.name = name
        self.coordinator = coordinator_address(coordinator)
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.timeout = timeout
        self.acquired = False
        self.token: str | None = None
        self.resources: list[dict] = []
        client_program()  # fail early, in one line, when labgrid is missing

    @classmethod
    def of(cls, labgrid: dict) -> "Place":
        """The place of a board spec's ``labgrid`` mapping (``place``, ``coordinator``, ``wait``)."""
        return cls(labgrid["place"], labgrid.get("coordinator"), wait=bool(labgrid.get("wait")))

    def _client(self, *args: str, check: bool = True, timeout: float | None = None):
        return run_client(["-p", self.name, *args], self.coordinator, timeout or self.timeout,
                          check)

    @property
    def free_command(self) -> str:
        x = f" -x {self.coordinator}" if self.coordinator else ""
        return f"labgrid-client{x} -p {self.name} release --kick"

    # ---- lock
    def acquire(self) -> "Place":
        """Take the place, or with ``wait`` queue for it when someone else holds it (a place
        left by a dead bench of this user is reported at once, never waited for)."""
        try:
            return self._try_acquire()
        except PlaceBusyError:
            if not self.wait:
                raise
        self._reserve()
        return self._try_acquire()

    def _try_acquire(self) -> "Place":
        try:
            proc = self._client("acquire", check=False)
        except BaseException:
            self.acquired = True  # interrupted mid-call: the coordinator may have granted it
            self.release()
            raise
        if proc.returncode != 0:
            self._cancel_reservation()
            msg = _labgrid_error(proc.stderr or proc.stdout)
            holder = re.search(r"already acquired by (\S+?)\.?(\s|$)", msg)
            if holder:
                host, _, user = holder.group(1).partition("/")
                raise PlaceBusyError(f"place {self.name} is held by {user or host} on {host} "
                                     "(wait for it with --wait)")
            if "was not reserved for" in msg:  # free, but next in line is someone else
                raise PlaceBusyError(f"place {self.name} is reserved for another user's queued "
                                     "run (wait for it with --wait)")
            if "You have already acquired" in msg:
                raise PlaceStaleError(f"place {self.name} is already acquired by you, probably "
                                      "by a bench that died; if none of yours is using it, free "
                                      f"it with: {self.free_command}")
            where = self.coordinator or "127.0.0.1:20408, labgrid's default; set LG_COORDINATOR"
            raise PlaceError(f"cannot acquire place {self.name} (coordinator {where}): {msg}")
        self.acquired = True
        try:
            self.resources = parse_resources(self._client("show").stdout)
        except BaseException:
            self.release()
            raise
        return self

    def _reserve(self) -> None:
        """Queue with labgrid's reservations until the place is free (``reserve --wait``)."""
        cmd = [client_program()] + (["-x", self.coordinator] if self.coordinator else []) + [
            "reserve", "--wait", "--shell", f"name={self.name}"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        try:
            first = proc.stdout.readline()  # export LG_TOKEN=... comes before the waiting
            m = re.search(r"LG_TOKEN=(\S+)", first)
            if m:
                self.token = m.group(1)
            proc.wait(self.wait_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            self._cancel_reservation()
            raise PlaceBusyError(f"place {self.name} stayed busy for {self.wait_timeout:.0f} s "
                                 "(--wait)") from None
        except BaseException:
            proc.kill()
            proc.wait()
            self._cancel_reservation()
            raise
        finally:
            proc.stdout.close()
        err = proc.stderr.read()
        proc.stderr.close()
        if proc.returncode != 0:
            self._cancel_reservation()
            raise PlaceError(f"cannot queue for place {self.name}: {_labgrid_error(err)}")

    def _cancel_reservation(self) -> None:
        if self.token:
            run_client(["cancel-reservation", self.token], self.coordinator, self.timeout,
                       check=False)
            self.token = None

    def release(self) -> None:
        """Give the place back (safe to call twice; never raises on a lost coordinator)."""
        if self.acquired:
            self.acquired = False
            try:
                self._client("release", check=False)
            except PlaceError:
                pass
        try:
            self._cancel_reservation()
        except PlaceError:
            pass

    # ---- resources
    def serial_url(self) -> str:
        """pyserial URL of the place's serial port (the exporter's ser2net; its TCP port
        changes on every acquire). ``ign_set_control``: ser2net does not answer RFC2217's
        control option, which pyserial otherwise waits for."""
        for r in self.resources:
            if r["cls"] == "NetworkSerialPort":
                p = r["params"]
                if p.get("protocol", "rfc2217") == "raw":
                    return f"socket://{p['host']}:{p['port']}"
                return f"rfc2217://{p['host']}:{p['port']}?ign_set_control"
        raise PlaceError(f"place {self.name} has no serial port (a NetworkSerialPort from an "
                         "exporter's RawSerialPort/USBSerialPort; see docs/lab.md)")

    @property
    def has_power(self) -> bool:
        return any(r["cls"] in POWER_CLASSES or str(r["cls"]).endswith(POWER_SUFFIX)
                   for r in self.resources)

    def power(self, action: str, delay: float = 0.5) -> None:
        """``on``, ``off`` or ``cycle`` the place's power switch."""
        if not self.has_power:
            raise PlaceError(f"place {self.name} has no power switch")
        args = ["power", action] + (["-t", str(delay)] if action == "cycle" else [])
        self._client(*args)

    def __enter__(self) -> "Place":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def wait_released(place: str, coordinator: str | None, timeout: float = 10.0) -> bool:
    """True once ``place`` shows as not acquired (tests and scripts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = run_client(["-p", place, "show"], coordinator, check=False).stdout
        if re.search(r"^\s*acquired: None", out, re.MULTILINE):
            return True
        time.sleep(0.2)
    return False
