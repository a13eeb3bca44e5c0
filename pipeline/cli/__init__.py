"""The `reverie` command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from pipeline.cli import lake_commands, loop_commands
from pipeline.cli.common import describe_error, fail, set_home
from pipeline.cli.playbook_commands import playbook_app

DEBUG_ENV = "REVERIE_DEBUG"


class OneLineErrors(TyperGroup):
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


app.command()(lake_commands.ingest)
app.command()(lake_commands.sql)
app.command()(lake_commands.queries)
app.command()(lake_commands.formats)
app.command()(lake_commands.score)
app.add_typer(lake_commands.outcomes_app, name="outcomes")
app.command()(loop_commands.fly)
app.command()(loop_commands.dream)
app.command()(loop_commands.evaluate)
app.command()(loop_commands.backfill)
app.command()(loop_commands.demo)
app.command()(loop_commands.ui)
app.add_typer(playbook_app, name="playbook")
