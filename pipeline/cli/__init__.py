"""The `reverie` command."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.cli import lake_commands, loop_commands, review_commands
from pipeline.cli.common import set_home
from pipeline.cli.playbook_commands import playbook_app

app = typer.Typer(
    name="reverie",
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
app.command()(review_commands.review)
