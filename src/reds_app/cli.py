"""`reds` command line: a thin layer that parses options, calls library functions and prints.

Every command returns data from an importable function; `--json` prints it as JSON. One module per
command in `reds_app.commands`; this module only mounts them and owns the error policy.

Error policy (one for every command, `reds bench ...` included): an expected failure (bad file or
argument, a model the runtime refuses, a board or bench error, a missing directory) prints one
line `reds: error: <problem>; <what to do>` on stderr and exits 2; arguments and output paths
are checked before long work starts; a `click.ClickException` counts as one too. A check that
fails (verify, bench run) prints its results and exits 1 (`SystemExit(1)`), Ctrl-C 130.
Anything else is a bug and keeps its traceback; `--debug` or `REDS_DEBUG=1` also shows the
traceback of expected failures.
"""
from __future__ import annotations

import os
import sys

import click

from reds.errors import RedsError
from reds_app.commands import bench as bench_cmds
from reds_app.commands import (boot, compare, demo, exec, export, inspect, plan, profile, sched, train,
                               verify)


def quiet_tensorflow(verbose: bool = False) -> None:
    """Silence TensorFlow's native logging before it is imported (`-v` keeps it)."""
    from reds_app.quiet import set_env

    set_env(verbose)


_debug_flag = [False]  # --debug of the running invocation


def debug_enabled() -> bool:
    return _debug_flag[0] or os.environ.get("REDS_DEBUG", "") not in ("", "0")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="reds-toolkit")
@click.option("-v", "--verbose", is_flag=True, help="Show TensorFlow's own log lines.")
@click.option("--debug", is_flag=True, help="Tracebacks for every error (also REDS_DEBUG=1).")
def cli(verbose: bool, debug: bool) -> None:
    """REDS: nested int8 subnetworks for microcontrollers, switched at runtime in O(1)."""
    _debug_flag[0] = debug
    quiet_tensorflow(verbose)


for command in (boot.boot, demo.demo, train.train, compare.compare_cmd, plan.plan, export.export_cmd,
                inspect.inspect_cmd, inspect.inspect_keras_cmd, verify.verify, exec.exec_cmd):
    cli.add_command(command)
cli.add_command(bench_cmds.bench)
for command in (profile.profile_cmd, profile.calibrate_latency_cmd, profile.host_cmd):
    bench_cmds.bench.add_command(command)
bench_cmds.bench.add_command(sched.bench_sched_cmd, "sched")
cli.add_command(sched.sched, "sched")


def main(argv: list[str] | None = None) -> int:
    verbose = _wants_verbose(argv)
    quiet_tensorflow(verbose)  # before anything imports TensorFlow
    if verbose or sys.stderr is not sys.__stderr__:  # -v, or stderr already captured (tests)
        return _main(argv)
    from reds_app.quiet import NativeLogFilter

    try:
        sys.stderr.fileno()
    except (OSError, ValueError):  # no real stderr to filter
        return _main(argv)
    with NativeLogFilter():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    _debug_flag[0] = False
    try:
        cli.main(args=argv, prog_name="reds", standalone_mode=False)
    except (RedsError, OSError) as err:
        if isinstance(err, OSError) and not isinstance(err, (FileNotFoundError, PermissionError,
                                                             IsADirectoryError, NotADirectoryError)):
            raise
        if debug_enabled():
            import traceback

            traceback.print_exc()
        click.echo(f"reds: error: {_one_line(err)}", err=True)
        return 2
    except click.exceptions.Exit as ex:
        return ex.exit_code
    except click.ClickException as ex:  # usage errors too: one line, and where to look
        ctx = getattr(ex, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        click.echo(f"reds: error: {' '.join(ex.format_message().split())}{hint}", err=True)
        return 2  # one policy: click's own default for a plain ClickException would be 1
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("reds: interrupted; finished steps are kept, rerun the same command to resume "
                   "(`reds bench run`: with --resume)", err=True)
        return 130
    except SystemExit as ex:  # commands that report failure by exit code (verify, bench run)
        return ex.code if isinstance(ex.code, int) else 1
    return 0


def _wants_verbose(argv: list[str] | None) -> bool:
    args = sys.argv[1:] if argv is None else argv
    return bool({"-v", "--verbose"} & set(args[:1]))


def _one_line(err: Exception) -> str:
    if isinstance(err, OSError) and err.filename:
        return f"{err.filename}: {err.strerror}; check the path"
    text = " ".join(str(err).split())
    from reds.runtime.binding import RedsRuntimeError

    if isinstance(err, RedsRuntimeError):
        text += " (the REDS C runtime refused it; `reds inspect MODEL` shows why)"
    return text


if __name__ == "__main__":
    sys.exit(main())
