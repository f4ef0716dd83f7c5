"""`reds boot`: build, boot and ask a board its name."""
from __future__ import annotations

import click

from reds_app.commands.common import TARGET_CHOICE, emit


@click.command()
@click.option("--target", type=TARGET_CHOICE, default="qemu_m4", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the reply as JSON.")
def boot(target: str, as_json: bool) -> None:
    """Build the firmware for TARGET, boot it and print its `name%` reply."""
    from reds_bench.board.firmware import boot_and_ask

    lines = boot_and_ask(target, "name")
    emit({"target": target, "reply": lines}, as_json, "\n".join(lines))
