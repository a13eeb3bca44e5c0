"""Commands over the lake: ingest logs, query them with SQL, score them, list formats."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from pipeline import lake
from pipeline.cli.common import (
    console,
    date_clusters,
    fail,
    home,
    materialization_metadata,
    print_kv,
    print_rows,
    progress_bar,
    run,
)
from pipeline.lazy import deferred_module

if TYPE_CHECKING:
    import polars as pl
else:  # a table-format query needs no polars: rows come straight from DuckDB
    pl = deferred_module("polars")

QUERIES_DIR = lake.SQL_DIR / "queries"


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def ingest(paths: list[Path] = typer.Argument(..., help="Log files or folders (searched recursively).")) -> None:
    """Ingest session logs of any supported format into the lake (idempotent: unchanged files are skipped)."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}")
    resolved = [str(p.resolve()) for p in paths]
    with progress_bar("ingest", "ingesting"):
        staged = run("ingest_job", run_config={"ops": {"staged_logs": {"config": {"paths": resolved}}}})
    stats = materialization_metadata(staged, "staged_logs")
    days: list[str] = sorted(stats.get("session_dates") or [])
    for first, last in date_clusters(days):
        run("lake_job", partition_range=(first, last))
    print_kv(
        "ingest",
        {
            "files seen": stats.get("files_seen", 0),
            "files staged": stats.get("files_staged", 0),
            "files unchanged (skipped)": stats.get("files_unchanged", 0),
            "events": stats.get("events", 0),
            "rejected lines": stats.get("rejects", 0),
            "formats": ", ".join(f"{k}={v}" for k, v in (stats.get("by_format") or {}).items()) or "-",
            "session days": f"{days[0]} .. {days[-1]}" if days else "-",
        },
    )
    if stats.get("rejects"):
        console.print("[yellow]rejected lines are in the `rejects` table:[/] reverie sql \"select * from rejects\"")
    if not stats.get("events") and not stats.get("files_unchanged"):
        fail(
            f"nothing could be ingested from {stats.get('files_seen', 0)} file(s): "
            "no line was valid in any supported format (see `reverie formats`, and the `rejects` table)"
        )


def sql(
    query: str = typer.Argument(None, help="SQL over events, sessions, outcomes, session_outcomes, ..."),
    name: str = typer.Option(None, "--name", help="Run a named query from sql/queries/NAME.sql instead."),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table | csv | json"),
    limit: int = typer.Option(200, help="Rows shown in table format."),
) -> None:
    """Query the lake with DuckDB SQL."""
    if name:
        path = QUERIES_DIR / f"{name}.sql"
        if not path.exists():
            names = ", ".join(sorted(p.stem for p in QUERIES_DIR.glob("*.sql")))
            fail(f"no named query {name!r}; available: {names}")
        query = path.read_text()
    if not query:
        fail("give a query, or --name NAME (see `reverie queries`)")
    import duckdb

    con = lake.connect(home())
    try:
        relation = con.sql(query)
        if output is OutputFormat.table:  # statements that return nothing (SET, CREATE VIEW) print nothing
            if relation is not None:
                print_rows(relation.columns, relation.fetchall(), limit=limit)
            return
        frame = relation.pl()
    except duckdb.Error as exc:
        fail(str(exc).splitlines()[0])
    if output is OutputFormat.csv:
        typer.echo(frame.write_csv(), nl=False)
    elif output is OutputFormat.json:
        typer.echo(json.dumps(frame.to_dicts(), default=str, indent=2))
    else:
        print_frame(frame, limit=limit)


def queries() -> None:
    """List the named queries shipped in sql/queries."""
    table = Table("name", "what it answers")
    for path in sorted(QUERIES_DIR.glob("*.sql")):
        first = path.read_text().splitlines()[0].lstrip("- ").strip()
        table.add_row(path.stem, first)
    console.print(table)


def print_frame(frame: pl.DataFrame, limit: int = 200, title: str | None = None) -> None:
    table = Table(*frame.columns, title=title, title_justify="left")
    for row in frame.head(limit).iter_rows():
        table.add_row(*("" if v is None else str(v)[:80] for v in row))
    console.print(table)
    if frame.height > limit:
        console.print(f"[dim]{frame.height - limit} more rows (use --format csv for all)[/]")


def formats() -> None:
    """List every supported log format with an example path pattern."""
    from pipeline.ingest.registry import adapters

    table = Table("format", "description", "example path")
    for adapter in adapters():
        table.add_row(adapter.name, adapter.description, adapter.path_pattern)
    console.print(table)


def score() -> None:
    """Score every ingested session partition against the criteria in outcomes/ (idempotent)."""
    days = lake.partitions(home(), "sessions")
    if not days:
        fail("no sessions in the lake yet: run `reverie ingest PATH` first")
    stats: dict = {"sessions_scored": 0, "success_rate": 0.0, "pass_rate_by_criterion": {}}
    scored = successes = 0
    for first, last in date_clusters(days):
        part = materialization_metadata(run("score_job", partition_range=(first, last)), "outcome_scores")
        scored += part.get("sessions_scored", 0)
        successes += round(part.get("success_rate", 0.0) * part.get("sessions_scored", 0))
        stats["pass_rate_by_criterion"].update(part.get("pass_rate_by_criterion") or {})
    stats.update(sessions_scored=scored, success_rate=successes / max(1, scored))
    print_kv("outcomes", {"sessions scored": stats.get("sessions_scored"), "success rate": f"{stats.get('success_rate', 0):.1%}"})
    rates = stats.get("pass_rate_by_criterion") or {}
    print_frame(pl.DataFrame({"criterion": list(rates), "pass_rate": [f"{v:.1%}" for v in rates.values()]}), title="pass rate by criterion")


outcomes_app = typer.Typer(help="Inspect outcome verdicts.", no_args_is_help=True)


@outcomes_app.command("show")
def outcomes_show(
    criterion: str = typer.Option(None, "--criterion", help="Only this criterion, one row per session."),
    limit: int = typer.Option(50),
) -> None:
    """Pass rates per criterion, or the verdicts of one criterion."""
    from pipeline.outcomes import show_outcomes

    frame = show_outcomes(home(), criterion=criterion)
    if frame.height == 0:
        fail("no outcomes yet: run `reverie score`")
    print_frame(frame, limit=limit)
