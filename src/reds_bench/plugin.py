"""pytest plugin (entry point ``pytest11: reds_bench = reds_bench.plugin``).

Options (group ``reds``): ``--reds-target ENV`` (emulated board), ``--reds-hardware-map FILE``
(+ ``--reds-board ID``), ``--reds-firmware PATH`` (prebuilt program/ELF), ``--reds-model FILE``,
``--reds-labgrid-place NAME`` (+ ``--reds-labgrid-coordinator``, ``--reds-labgrid-wait``) or
``--reds-lg-env FILE`` (a labgrid env file with a ``RemotePlace``): a board from a labgrid lab
(docs/lab.md), acquired for the session and released at its end, also on SIGTERM.
Fixtures are thin over :mod:`reds_bench.board.factory`:

* ``board``: started, synchronised board (one per session, byte log per test); skipped with a
  hint when neither ``--reds-target`` nor ``--reds-hardware-map`` is given.
* ``board_info``: the board's ``reds-info``, parsed (one per session).
* ``golden``: TFLM reference for the model (``golden(subnet, x) -> bytes``); a subnet the
  slicer cannot cut fails the test.

Markers: ``hil`` (a hardware-in-the-loop test) and ``reds_board``. The measurements a test
calls (outputs, latency in instructions or ns, switch ticks, accuracy) are the public
:mod:`reds_bench.measure.device` (docs/bench.md, "Writing your own device test").

    def test_select(board):
        board.cmd("reds-select 1")
        assert board.kv("reds-info", "reds-info")["active"] == 1
"""
from __future__ import annotations

from pathlib import Path

import pytest

from reds_bench.board import targets
from reds_bench.errors import BenchError

SKIP_HINT = ("no board: pass --reds-target ENV ({targets}), --reds-hardware-map FILE or "
             "--reds-labgrid-place NAME")
DEFAULT_MODEL = targets.REPO_ROOT / "boards" / "firmware" / "default_model.tflite"


def pytest_addoption(parser):
    g = parser.getgroup("reds", "REDS hardware-in-the-loop bench")
    g.addoption("--reds-target", default=None,
                help=f"emulated board to start: {', '.join(targets.names())} (Default: None)")
    g.addoption("--reds-hardware-map", default=None,
                help="hardware map YAML of attached boards (Default: None)")
    g.addoption("--reds-board", default=None,
                help="id of the hardware-map entry to use (Default: the first)")
    g.addoption("--reds-firmware", default=None,
                help="prebuilt firmware program/ELF for --reds-target; skips the build (Default: build)")
    g.addoption("--reds-model", default=None,
                help="model the board runs, for `golden`; an emulated --reds-target without "
                     "--reds-firmware is given this model (uploaded, or compiled in when larger "
                     f"than the upload slot) (Default: {DEFAULT_MODEL.name})")
    g.addoption("--reds-timeout", type=float, default=30.0,
                help="seconds to wait for a reply (Default: 30)")
    g.addoption("--reds-labgrid-place", default=None,
                help="labgrid place to acquire for the session (docs/lab.md) (Default: None)")
    g.addoption("--reds-labgrid-coordinator", default=None,
                help="labgrid coordinator HOST:PORT (Default: $LG_COORDINATOR)")
    g.addoption("--reds-labgrid-wait", action="store_true", default=False,
                help="queue until the place is free (Default: fail at once when it is held)")
    g.addoption("--reds-lg-env", default=None,
                help="labgrid env YAML whose main target has a RemotePlace: use that place "
                     "(labgrid's own --lg-env needs labgrid in this venv) (Default: None)")


def place_from_lg_env(path: str) -> str:
    """The RemotePlace name in a labgrid env file (targets -> main -> resources)."""
    import yaml

    from reds_bench.errors import ConfigError

    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"--reds-lg-env {path}: cannot read it: {e}") from None
    targets_ = data.get("targets") if isinstance(data, dict) else None
    main = (targets_ or {}).get("main") or next(iter((targets_ or {}).values()), None)
    resources = (main or {}).get("resources") or []
    if isinstance(resources, dict):
        resources = [resources]
    for r in resources:
        if isinstance(r, dict) and "RemotePlace" in r:
            rp = r["RemotePlace"] or {}
            if isinstance(rp, dict) and rp.get("name"):
                return str(rp["name"])
    raise ConfigError(f"--reds-lg-env {path}: no targets: main: resources: RemotePlace: name")


_previous_sigterm = []


def pytest_configure(config):
    if config.getoption("--reds-labgrid-place", None) or config.getoption("--reds-lg-env", None):
        # a killed run must still release its place: SIGTERM -> KeyboardInterrupt, so pytest
        # tears the session fixtures down
        import signal
        import threading

        from reds_bench.board.place import Terminated

        def on_term(signum, frame):
            raise Terminated(f"terminated by signal {signum}")

        if threading.current_thread() is threading.main_thread():
            _previous_sigterm.append(signal.signal(signal.SIGTERM, on_term))
    # registered here, so a device suite outside this repository runs with --strict-markers
    config.addinivalue_line("markers", "reds_board: test needs a board (the `board` fixture)")
    config.addinivalue_line("markers", "hil: hardware-in-the-loop test, needs a board "
                                       "(--reds-target or --reds-hardware-map)")


class Golden:
    """TFLM reference outputs of a model's subnets (the bench's bit-exact golden)."""

    def __init__(self, model_path: Path):
        self.path = Path(model_path)
        self.model = self.path.read_bytes()
        from reds_bench.board.protocol import crc32

        self.crc32 = crc32(self.model)

    def inputs(self, n: int, seed: int = 0) -> list[bytes]:
        from reds_bench.measure.steps import random_inputs

        return random_inputs(self.model, n, seed)

    def model_for(self, subnet: int, info: dict | None = None) -> bytes:
        """The model TFLM runs for ``subnet``; a model that cannot be sliced fails the test."""
        from reds_bench.measure.steps import golden_model

        return golden_model(self.model, subnet, info)[0]

    def __call__(self, subnet: int, x: bytes, info: dict | None = None) -> bytes:
        from reds_bench.measure.steps import golden_output

        return golden_output(self.model_for(subnet, info), x)


def pytest_unconfigure(config):
    if _previous_sigterm:
        import signal

        signal.signal(signal.SIGTERM, _previous_sigterm.pop())


def _place_board(opt, log_dir):
    from reds_bench.board.factory import BoardSpec, create_board

    place = opt("--reds-labgrid-place") or place_from_lg_env(opt("--reds-lg-env"))
    spec = BoardSpec(env=opt("--reds-target") or "labgrid", id=place,
                     labgrid={"place": place, "coordinator": opt("--reds-labgrid-coordinator"),
                              "wait": opt("--reds-labgrid-wait")})
    b = create_board(hw=spec, log_dir=log_dir, timeout=opt("--reds-timeout"))
    model = opt("--reds-model")
    if model:
        from reds_bench.measure.steps import ensure_model

        try:
            ensure_model(b, Path(model).read_bytes())
        except BaseException:
            b.close()
            raise
    return b


@pytest.fixture(scope="session")
def _reds_session_board(request, tmp_path_factory):
    opt = request.config.getoption
    target, hwmap = opt("--reds-target"), opt("--reds-hardware-map")
    if opt("--reds-labgrid-place") or opt("--reds-lg-env"):
        try:
            b = _place_board(opt, tmp_path_factory.mktemp("reds-logs"))
        except BenchError as e:
            msg = str(e).replace("with --wait", "with --reds-labgrid-wait")
            pytest.fail(f"could not get the board from labgrid: {msg}", pytrace=False)
        yield b
        b.close()
        return
    if not target and not hwmap:
        pytest.skip(SKIP_HINT.format(targets=", ".join(targets.names())))
    from reds_bench.board.factory import create_board
    from reds_bench.board.hwmap import load_hwmap, select

    spec = select(load_hwmap(hwmap), opt("--reds-board"), None if opt("--reds-board") else target) \
        if hwmap else None
    model, firmware = opt("--reds-model"), opt("--reds-firmware")
    log_dir = tmp_path_factory.mktemp("reds-logs")
    try:
        if spec is None and model and not firmware:
            # an emulated board for --reds-model: uploaded into the default firmware's RAM slot,
            # or compiled into a firmware sized for it when it is larger
            b = _board_for_model(target, Path(model).read_bytes(), log_dir, opt("--reds-timeout"))
        else:
            b = create_board(target if spec is None else None, hw=spec, firmware=firmware,
                           log_dir=log_dir, timeout=opt("--reds-timeout"))
    except BenchError as e:
        pytest.fail(f"could not start the board: {e}", pytrace=False)
    yield b
    b.close()


def _board_for_model(target: str, model: bytes, log_dir, timeout: float):
    from reds_bench.board.factory import create_board_for_model
    from reds_bench.measure.steps import ensure_model

    b, _ = create_board_for_model(target, model, log_dir=log_dir, timeout=timeout)
    try:
        ensure_model(b, model)
    except BaseException:
        b.close()
        raise
    return b


@pytest.fixture
def board(_reds_session_board, request, tmp_path):
    """The connected board; its byte log for this test is ``<tmp_path>/serial.log``."""
    b = _reds_session_board
    from reds_bench.errors import BoardResetError

    try:
        b.dut.link.set_log(tmp_path / "serial.log")
        b.dut.sync()
    except BoardResetError:
        b.recover()
        b.dut.link.set_log(tmp_path / "serial.log")
    yield b


@pytest.fixture(scope="session")
def board_info(_reds_session_board):
    """``reds-info`` of the board, parsed (:func:`reds_bench.board.info.board_info`): model CRC,
    timer, build and every subnet's widths and MACs."""
    from reds_bench.board.info import board_info as read_info

    return read_info(_reds_session_board)


@pytest.fixture(scope="session")
def golden(request):
    path = request.config.getoption("--reds-model") or DEFAULT_MODEL
    if not Path(path).exists():
        pytest.skip(f"model {path} not found (pass --reds-model)")
    return Golden(Path(path))
