"""Keep TensorFlow's native log lines off the terminal (`reds -v` shows them).

`TF_CPP_MIN_LOG_LEVEL` silences TensorFlow's own C++ logging, but lines absl writes before its
logging is initialised (`WARNING: All log messages before absl::InitializeLog() ...`, the
oneDNN notice, `E0000 ... use_unbounded_threadpool`) ignore it, and so does LiteRT's
`INFO: Created TensorFlow Lite XNNPACK delegate`. So while a command runs, file
descriptor 2 is a pipe whose reader drops those lines and passes everything else on;
Python's own `sys.stderr` writes straight to the terminal (so it still is one, for progress
bars and colours).

`working()` is the other half of quiet: a step that runs for half a minute without a line
shows a spinner on a terminal, and nothing at all in a file or a pipe.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import threading

QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "ABSL_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR"}
# absl's prefix: severity letter, MMDD, time, thread id, file:line]; and LiteRT's own minimal
# logger, which ignores TF_CPP_MIN_LOG_LEVEL (`INFO: Created TensorFlow Lite XNNPACK delegate
# for CPU.` when `reds bench host` builds an interpreter); its errors also raise in Python
NATIVE_LOG = re.compile(rb"^(?:[IWEF]\d{4} +[\d:.]+ +\d+ [^ \]]+:\d+\] |"
                        rb"WARNING: All log messages before absl::InitializeLog\(\) is called|"
                        rb"(?:INFO|VERBOSE): )")


def is_native_log(line: bytes) -> bool:
    return bool(NATIVE_LOG.match(line))


# REDS_VERBOSE (reds.export.convert.VERBOSE_ENV): the converter's own listing reaches the terminal
VERBOSE_ENV = {"REDS_VERBOSE": "1"}
_verbose_set: set[str] = set()


def set_env(verbose: bool) -> None:
    """Before TensorFlow loads: its C++ logging off unless `verbose`."""
    for key, value in QUIET_ENV.items():
        if not verbose:
            os.environ.setdefault(key, value)
        elif os.environ.get(key) == value:  # set by us, not by the user
            del os.environ[key]
    for key, value in VERBOSE_ENV.items():
        if verbose and key not in os.environ:
            os.environ[key] = value
            _verbose_set.add(key)
        elif not verbose and key in _verbose_set:  # ours, from an earlier `-v` in this process
            os.environ.pop(key, None)
            _verbose_set.discard(key)
    if not verbose:
        import logging

        logging.getLogger("absl").setLevel(logging.ERROR)
        logging.getLogger("tensorflow").setLevel(logging.ERROR)


class NativeLogFilter:
    """Context manager: fd 2 through a filter dropping absl lines, `sys.stderr` kept direct."""

    def __enter__(self):
        sys.stderr.flush()
        self.saved_fd = os.dup(2)
        self.saved_stderr = sys.stderr
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        sys.stderr = open(os.dup(self.saved_fd), "w", buffering=1, encoding="utf-8",
                          errors="replace", closefd=True)
        self.thread = threading.Thread(target=self._pump, args=(read_fd, self.saved_fd), daemon=True)
        self.thread.start()
        return self

    @staticmethod
    def _pump(read_fd: int, out_fd: int) -> None:
        with os.fdopen(read_fd, "rb", buffering=0) as src:
            pending = b""
            while chunk := src.read(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if not is_native_log(line):
                        os.write(out_fd, line + b"\n")
            if pending and not is_native_log(pending):
                os.write(out_fd, pending)

    def __exit__(self, *exc):
        sys.stderr.flush()
        os.dup2(self.saved_fd, 2)  # closes the pipe's last write end: the reader drains and ends
        self.thread.join(timeout=5)
        sys.stderr.close()
        sys.stderr = self.saved_stderr
        os.close(self.saved_fd)
        return False


def progress_wanted() -> bool:
    """Spinners and bars only when stderr is a terminal: in a file or a pipe they are noise."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def working(text: str, enabled: bool | None = None, console=None):
    """A spinner saying `text` on stderr while a long silent step runs (`reds inspect-keras`,
    `reds export`, `reds exec --target qemu_*`); it disappears when the step ends.

    Shown only when `enabled`, by default when stderr is a terminal (`progress_wanted`);
    `console` (a rich Console) is where it draws, stderr by default. Lines the step writes
    to `sys.stderr` meanwhile print above the spinner; stdout is left alone, so results
    never go to stderr."""
    if enabled is None:
        enabled = progress_wanted()
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.live import Live
    from rich.spinner import Spinner

    con = console if console is not None else Console(stderr=True)
    with Live(Spinner("dots", text=text), console=con, transient=True, refresh_per_second=8,
              redirect_stdout=False, redirect_stderr=True):
        yield
