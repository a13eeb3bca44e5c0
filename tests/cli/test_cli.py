"""The `reverie` command as a user runs it: ingest, query, re-ingest, bad input, formats."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
runner = CliRunner()

pytestmark = pytest.mark.xdist_group("dagster-cli")


def reverie(home, *args: str):
    result = runner.invoke(app, ["--home", str(home.root), *args], catch_exceptions=False)
    return result


def test_ingest_then_query_with_sql(reverie_home):
    result = reverie(reverie_home, "ingest", str(FIXTURES / "claude-code"))
    assert result.exit_code == 0, result.output
    assert "events" in result.output

    out = reverie(
        reverie_home,
        "sql",
        "select session_id, n_events from sessions order by session_id",
        "--format",
        "csv",
    )
    assert out.exit_code == 0, out.output
    rows = list(csv.reader(io.StringIO(out.output)))
    assert rows[0] == ["session_id", "n_events"]
    assert len(rows) > 2 and all(int(r[1]) > 0 for r in rows[1:])

    as_json = reverie(reverie_home, "sql", "select count(*) as n from events", "--format", "json")
    assert json.loads(as_json.output)[0]["n"] > 0

    named = reverie(reverie_home, "sql", "--name", "tokens_by_agent_day", "--format", "csv")
    assert named.exit_code == 0, named.output
    assert named.output.splitlines()[0].startswith("date,agent,tokens_in")

    # The catalog file is a plain DuckDB database any client can open.
    import duckdb

    con = duckdb.connect(str(reverie_home.catalog), read_only=True)
    assert con.execute("select count(*) from sessions").fetchone()[0] == len(rows) - 1


def test_reingesting_the_same_files_changes_nothing(reverie_home):
    reverie(reverie_home, "ingest", str(FIXTURES / "claude-code"))
    query = "select * from events order by session_id, event_id"
    first = reverie(reverie_home, "sql", query, "--format", "csv").output
    again = reverie(reverie_home, "ingest", str(FIXTURES / "claude-code"))
    assert again.exit_code == 0
    assert reverie(reverie_home, "sql", query, "--format", "csv").output == first


def test_nothing_ingestable_exits_non_zero_with_one_line(reverie_home, tmp_path):
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.jsonl").write_text("this is not json\n{also not\n")
    result = reverie(reverie_home, "ingest", str(junk))
    assert result.exit_code != 0
    assert "nothing could be ingested" in result.output


def test_bad_lines_are_quarantined_and_good_lines_kept(reverie_home, tmp_path):
    logs = tmp_path / "logs"
    shutil.copytree(FIXTURES / "claude-code", logs)
    victim = next(logs.rglob("*.jsonl"))
    good_lines = len([line for line in victim.read_text().splitlines() if line.strip()])
    with victim.open("a") as handle:
        handle.write("{broken json\n")
    result = reverie(reverie_home, "ingest", str(logs))
    assert result.exit_code == 0
    rejects = reverie(
        reverie_home, "sql", "select source_file, source_line, reason from rejects", "--format", "json"
    )
    rows = json.loads(rejects.output)
    assert any(r["source_file"].endswith(victim.name) and r["source_line"] == good_lines + 1 for r in rows)


def test_formats_lists_every_adapter(reverie_home):
    result = reverie(reverie_home, "formats")
    for name in ("native", "claude_code", "codex", "otel-genai", "openai-agents", "anthropic-messages"):
        assert name in result.output


def test_unknown_named_query_says_which_exist(reverie_home):
    result = reverie(reverie_home, "sql", "--name", "nope")
    assert result.exit_code == 1
    assert "failing_tools" in result.output


def test_demo_refuses_nights_after_today_before_flying_anything(reverie_home):
    """Nights are daily partitions that run up to today: a demo into the future says so instead of failing
    half-way in Dagster with an unknown partition."""
    result = runner.invoke(
        app, ["--home", str(reverie_home.root), "demo", "--nights", "2", "--start", "2999-01-01"]
    )
    assert result.exit_code == 1
    assert "after today" in result.output
    assert not reverie_home.landing.exists() or not any(reverie_home.landing.iterdir())
