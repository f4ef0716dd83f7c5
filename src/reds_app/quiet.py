"""Keep TensorFlow's native log lines off the terminal (`reds -v` shows them).

`TF_CPP_MIN_LOG_LEVEL` silences TensorFlow's own C++ logging, but lines absl writes before its
logging is initialised (`WARNING: All log messages before absl::InitializeLog() ...`, the
oneDNN notice, `E0000 ... use_unbounded_threadpool`) ignore it. So while a command runs, file
descriptor 2 is a pipe whose reader drops absl-formatted lines and passes everything else on;
Python's own `sys.stderr` writes straight to the terminal (so it still is one, for progress
bars and colours).
"""
from __future__ import annotations

import os
import re
import sys
import threading

QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "ABSL_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR"}
# absl's prefix: severity letter, MMDD, time, thread id, file:line]
NATIVE_LOG = re.compile(rb"^(?:[IWEF]\d{4} +[\d:.]+ +\d+ [^ \]]+:\d+\] |"
                        rb"WARNING: All log messages before absl::InitializeLog\(\) is called)")


def is_native_log(line: bytes) -> bool:
    return bool(NATIVE_LOG.match(line))


def set_env(verbose: bool) -> None:
    """Before TensorFlow loads: its C++ logging off unless `verbose`."""
    for key, value in QUIET_ENV.items():
        if not verbose:
            os.environ.setdefault(key, value)
        elif os.environ.get(key) == value:  # set by us, not by the user
            del os.environ[key]
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
