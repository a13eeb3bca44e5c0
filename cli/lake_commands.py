"""Commands over the lake: ingest logs, query them with SQL, score them, list formats."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.common import (
    console,
    data_table,
    date_clusters,
    fail,
    home,
    materialization_metadata,
    one_line,
    print_kv,
    print_rows,
    progress_bar,
    run,
)
from pipeline import lake
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


def ingest(
    paths: list[Path] = typer.Argument(..., help="Log files or folders (searched recursively)."),
) -> None:
    """Ingest session logs of any supported format into the lake (idempotent: unchanged files are skipped)."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}")
    from resources.ingest_request import ingest_request

    # in memory: never stored as run config
    with ingest_request([str(p.resolve()) for p in paths]), progress_bar("ingest", "ingesting"):
        staged = run("ingest_job")
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
    from rich.markup import escape

    for reason, skipped in (stats.get("paths_skipped") or {}).items():
        examples = escape(", ".join(skipped.get("examples") or []))
        console.print(f"[dim]skipped {skipped.get('count')} path(s): {escape(reason)} (e.g. {examples})[/]")
    for source_format, tally in (stats.get("records_skipped") or {}).items():
        if tally.get("unknown"):
            unknown = escape(", ".join(f"{kind}={n}" for kind, n in tally["unknown"].items()))
            console.print(f"[yellow]{source_format}: records of a type not recognised:[/] {unknown}")
    if days:
        report_ungraded_rubrics()
    if stats.get("rejects"):
        console.print(
            '[yellow]rejected lines are in the `rejects` table:[/] reverie sql "select * from rejects"'
        )
    if stats.get("failure_reason"):
        fail(f"nothing could be ingested: {stats['failure_reason']}")


def sql(
    query: str = typer.Argument(None, help="SQL over events, sessions, outcomes, session_outcomes, ..."),
    name: str = typer.Option(None, "--name", help="Run a named query from sql/queries/NAME.sql instead."),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table | csv | json"),
    limit: int = typer.Option(200, help="Rows shown in table format."),
) -> None:
    """Query the lake with DuckDB SQL."""
    if name:
        query = named_query(name)
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
        fail(one_line(str(exc)))
    if output is OutputFormat.csv:
        typer.echo(flat_for_csv(frame).write_csv(), nl=False)
    elif output is OutputFormat.json:
        import json

        typer.echo(json.dumps(frame.to_dicts(), default=str, indent=2))
    else:
        print_frame(frame, limit=limit)


def named_query(name: str) -> str:
    """The SQL of a shipped named query; anything else (a path, `..`, another file) is refused.

    The name is looked up among the files of sql/queries, never joined into a path: `--name ../../x` or an
    absolute path would otherwise run any `.sql` file on the machine, `COPY ... TO` included.
    """
    shipped = {path.stem: path for path in QUERIES_DIR.glob("*.sql")}
    if name not in shipped:
        fail(f"no named query {name!r}; available: {', '.join(sorted(shipped))}")
    return shipped[name].read_text()


def flat_for_csv(frame: pl.DataFrame) -> pl.DataFrame:
    """List and struct columns as JSON text: CSV holds only flat values, and JSON reads back exactly."""
    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    if not nested:
        return frame
    import json

    return frame.with_columns(
        pl.Series(
            name,
            [None if v is None else json.dumps(v, default=str) for v in frame[name].to_list()],
            dtype=pl.String,
        )
        for name in nested
    )


def queries() -> None:
    """List the named queries shipped in sql/queries."""
    from rich.table import Table

    table = Table("name", "what it answers")
    for path in sorted(QUERIES_DIR.glob("*.sql")):
        first = path.read_text().splitlines()[0].lstrip("- ").strip()
        table.add_row(path.stem, first)
    console.print(table)


def print_frame(frame: pl.DataFrame, limit: int = 200, title: str | None = None) -> None:
    console.print(data_table(frame.columns, frame.head(limit).iter_rows(), title))
    if frame.height > limit:
        console.print(f"[dim]{frame.height - limit} more rows (use --format csv for all)[/]")


def formats() -> None:
    """List every supported log format with an example path pattern."""
    from rich.table import Table

    from pipeline.ingest.registry import adapters

    table = Table("format", "description", "example path")
    for adapter in adapters():
        table.add_row(adapter.name, adapter.description, adapter.path_pattern)
    console.print(table)


def score(
    criteria: list[Path] = typer.Option(
        None,
        "--criteria",
        help="Extra criteria YAML file or folder (repeatable); REVERIE_HOME/outcomes/*.yaml is always read.",
    ),
) -> None:
    """Score every ingested session partition against the criteria in outcomes/ (idempotent)."""
    from pipeline.outcomes import CriteriaError, load_criteria

    extra = [str(Path(p).expanduser().resolve()) for p in criteria or []]
    try:  # a spec mistake is one line naming file and line, before any run starts
        load_criteria(home_root=home().root, extra=[Path(p) for p in extra])
    except CriteriaError as exc:
        fail(str(exc))
    days = lake.partitions(home(), "sessions")
    if not days:
        fail("no sessions in the lake yet: run `reverie ingest PATH` first")
    for first, last in date_clusters(days):
        config = {"ops": {"outcomes": {"config": {"criteria": extra}}}}
        run("score_job", partition_range=(first, last), run_config=config)
    # Read back what the lake now holds for every day, not the metadata of the last run: one run per date
    # cluster means each run's metadata covers only its own days.
    from pipeline.outcomes import show_outcomes

    totals = (
        lake.connect(home())
        .execute("SELECT count(*), coalesce(avg(success::INT), 0) FROM session_outcomes")
        .fetchone()
    )
    scored, success_rate = totals or (0, 0.0)
    print_kv("outcomes", {"sessions scored": scored, "success rate": f"{success_rate:.1%}"})
    rates = show_outcomes(home())
    print_frame(
        pl.DataFrame(
            {
                "criterion": rates["criterion"],
                "pass_rate": [percent_or_not_graded(v) for v in rates["pass_rate"].to_list()],
                "not_graded": rates["not_graded"],
            }
        ),
        title="pass rate by criterion",
    )
    report_ungraded_rubrics()


def percent_or_not_graded(rate: float | None) -> str:
    """A pass rate as a percentage; a criterion nobody graded (no LLM configured, grading failed) says so."""
    return "not graded" if rate is None else f"{rate:.1%}"


def report_ungraded_rubrics() -> None:
    """One line when rubric grading failed (API down, batch not created): those verdicts stay null, and a
    re-run of `reverie score` grades only them, since graded verdicts are cached."""
    failed = (
        lake.connect(home())
        .execute(
            "SELECT count(*), any_value(detail) FROM outcomes WHERE grader = 'not_graded' AND detail LIKE 'grading failed%'"
        )
        .fetchone()
    )
    if failed and failed[0]:
        from rich.markup import escape

        console.print(
            f"[yellow]warning:[/] {failed[0]} rubric verdict(s) not graded: {escape(one_line(failed[1]))}; "
            "run `reverie score` again to grade them",
            soft_wrap=True,
        )


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
