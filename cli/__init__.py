"""The `reverie` command.

Commands load on demand: `reverie sql` imports the lake commands only, never the loop's (which bring
Dagster, the simulator and scipy along when they run), so a query answers in about the time DuckDB takes.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from cli.common import describe_error, fail, set_home
from cli.plain_values import convert_command_values, convert_plain_values

if TYPE_CHECKING:  # typer's own click (it vendors one); the click package itself is not loaded
    from typer._click import Command, Context

# name -> (module, attribute): a command function, or a Typer app for a command group. In help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("cli.lake_commands", "ingest"),
    "sql": ("cli.lake_commands", "sql"),
    "queries": ("cli.lake_commands", "queries"),
    "formats": ("cli.lake_commands", "formats"),
    "score": ("cli.lake_commands", "score"),
    "outcomes": ("cli.lake_commands", "outcomes_app"),
    "fly": ("cli.loop_commands", "fly"),
    "dream": ("cli.loop_commands", "dream"),
    "evaluate": ("cli.loop_commands", "evaluate"),
    "backfill": ("cli.loop_commands", "backfill"),
    "demo": ("cli.loop_commands", "demo"),
    "ui": ("cli.loop_commands", "ui"),
    "playbook": ("cli.playbook_commands", "playbook_app"),
    "review": ("cli.review_commands", "review"),
}


def load_command(name: str) -> Command:
    """Import the module that defines command `name` and build its click command."""
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyCommands(TyperGroup):
    """A command group that imports a command's module only when that command is invoked (or listed in help)."""

    def get_params(self, ctx: Context) -> list[Any]:
        params = super().get_params(ctx)
        convert_plain_values(params)  # --home, --help: see cli.plain_values
        return params

    def list_commands(self, ctx: Context) -> list[str]:
        return [*COMMANDS, *(n for n in super().list_commands(ctx) if n not in COMMANDS)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name in COMMANDS:
            if cmd_name not in self.commands:
                self.commands[cmd_name] = load_command(cmd_name)
                convert_command_values(self.commands[cmd_name], ctx)
            return self.commands[cmd_name]
        return super().get_command(ctx, cmd_name)


DEBUG_ENV = "REVERIE_DEBUG"


class OneLineErrors(LazyCommands):
    """Every command, sub-commands included, ends with a one-line error and exit code 1, never a traceback.

    Commands fail with `fail()` for what they foresee; this catches the rest, so a script sees an exit
    code it can trust and a person sees what broke. REVERIE_DEBUG=1 lets the traceback through.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if os.environ.get(DEBUG_ENV, "").strip() not in ("", "0"):
                raise
            if type(exc).__module__.startswith(("click", "typer")):  # usage errors: typer prints them
                raise
            fail(f"{describe_error(exc)} (set {DEBUG_ENV}=1 for the traceback)")


app = typer.Typer(
    name="reverie",
    cls=OneLineErrors,
    help="Agents that learn from their own past sessions: ingest logs, score outcomes, dream playbooks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    home: Path = typer.Option(None, "--home", envvar="REVERIE_HOME", help="Data home (default ./.reverie)."),
) -> None:
    set_home(home)
