"""`reds` command line: a thin layer that parses options, calls library functions and prints.

Every command returns data from an importable function; `--json` prints it as JSON. Errors
the user can fix (`reds.errors.UserError`) print one line and exit 2; anything else is a bug
and keeps its traceback.
"""
from __future__ import annotations

import json
import sys

import click

from .errors import UserError

TARGET_CHOICE = click.Choice(["native", "qemu_m4", "qemu_m7", "qemu_m33"])


def _emit(data, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="reds-toolkit")
def cli() -> None:
    """REDS: nested int8 subnetworks for microcontrollers, switched at runtime in O(1)."""


@cli.command()
@click.option("--target", type=TARGET_CHOICE, default="qemu_m4", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the reply as JSON.")
def boot(target: str, as_json: bool) -> None:
    """Build the firmware for TARGET, boot it and print its `name%` reply."""
    from .firmware import boot_and_ask

    lines = boot_and_ask(target, "name")
    _emit({"target": target, "reply": lines}, as_json, "\n".join(lines))


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                               "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args: tuple[str, ...]) -> None:
    """Hardware-in-the-loop bench (`reds bench --help`)."""
    from reds_bench.cli import main as bench_main

    sys.exit(bench_main(list(args)))


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="reds", standalone_mode=False)
    except UserError as err:
        click.echo(f"reds: error: {err}", err=True)
        return 2
    except click.exceptions.Exit as ex:
        return ex.exit_code
    except click.ClickException as ex:
        ex.show()
        return ex.exit_code
    except click.exceptions.Abort:
        click.echo("reds: aborted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
