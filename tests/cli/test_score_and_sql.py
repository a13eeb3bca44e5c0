"""`reverie score` and `reverie sql` on real logs: ungraded rubrics, every date, nested columns, named queries."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
runner = CliRunner()

pytestmark = pytest.mark.xdist_group("dagster-cli")


def reverie(home, *args: str):
    return runner.invoke(app, ["--home", str(home.root), *args], catch_exceptions=False)


@pytest.fixture
def two_eras(reverie_home):
    """Sessions dated 1970 (anthropic exchange lists carry no time) and 2025-2026 (Claude Code): the days
    fall in several date clusters, so `reverie score` runs one job per cluster."""
    for folder in ("anthropic-messages", "claude-code"):
        result = reverie(reverie_home, "ingest", str(FIXTURES / folder))
        assert result.exit_code == 0, result.output
    return reverie_home


def _table_rows(output: str, title: str) -> dict[str, list[str]]:
    """Rows of a rich table printed after `title`, as {first cell: other cells}."""
    rows: dict[str, list[str]] = {}
    for line in output.split(title, 1)[1].splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]
        if len(cells) >= 2 and cells[0] and cells[0] != "criterion":
            rows[cells[0]] = cells[1:]
    return rows


def test_score_shows_ungraded_rubrics_and_rates_over_every_date(two_eras):
    result = reverie(two_eras, "score")
    assert result.exit_code == 0, result.output
    rows = _table_rows(result.output, "pass rate by criterion")

    # No API key: the rubric criterion was not graded, and says so instead of crashing.
    assert rows["task_addressed"][0] == "not graded"

    # Every other rate is over all dates of the lake, not the last date cluster's run.
    out = reverie(
        two_eras,
        "sql",
        "select criterion, count(distinct date) as days, avg(passed::int) as rate from outcomes "
        "where passed is not null group by 1",
        "--format",
        "json",
    )
    expected = {r["criterion"]: r for r in json.loads(out.output)}
    assert any(r["days"] > 1 for r in expected.values())
    for criterion, r in expected.items():
        assert rows[criterion][0] == f"{r['rate']:.1%}", criterion


def test_score_on_an_empty_lake_says_what_to_do(reverie_home):
    result = reverie(reverie_home, "score")
    assert result.exit_code == 1
    assert "reverie ingest" in result.output


def test_csv_of_a_table_with_list_and_struct_columns(reverie_home):
    assert reverie(reverie_home, "ingest", str(FIXTURES / "claude-code")).exit_code == 0
    result = reverie(
        reverie_home,
        "sql",
        "select session_id, agents, {'n': n_events, 'tags': [task]} as nested from sessions order by 1",
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert rows and all(json.loads(r["agents"]) and isinstance(json.loads(r["agents"]), list) for r in rows)
    assert all(isinstance(json.loads(r["nested"])["n"], int) for r in rows)

    whole = reverie(reverie_home, "sql", "select * from sessions", "--format", "csv")
    assert whole.exit_code == 0, whole.output
    assert len(list(csv.DictReader(io.StringIO(whole.output)))) == len(rows)


@pytest.mark.parametrize("name", ["../queries/failing_tools", "../views", "/etc/passwd", "failing_tools.sql"])
def test_named_queries_are_only_the_shipped_ones(reverie_home, tmp_path, name):
    if name == "/etc/passwd":  # an absolute path to a .sql file the user did not ship
        outside = tmp_path / "copy_out.sql"
        outside.write_text(f"COPY (select 1) TO '{tmp_path / 'written.csv'}'")
        name = str(outside.with_suffix(""))
    result = reverie(reverie_home, "sql", "--name", name)
    assert result.exit_code == 1
    assert "available: " in result.output and "failing_tools" in result.output
    assert not (tmp_path / "written.csv").exists()


def test_table_output_shows_markup_and_emoji_codes_as_the_text_they_are(reverie_home):
    """Query results hold session text: `[/]` once failed the command (MarkupError), `[bold]` styled it."""
    result = reverie(reverie_home, "sql", """select '[/] [bold]x[/bold] :thumbs_up:' as "[b]note" """)
    assert result.exit_code == 0, result.output
    assert "[/] [bold]x[/bold] :thumbs_up:" in result.output
    assert "[b]note" in result.output
