"""Every real file in ../shared/fixtures/real-world-2, ingested into a lake, against an independent count.

The counter (`independent_counts`) reads the raw files the way the formats document them, without any of
the adapters' code: per session, text messages, tool calls, failed tool results, tokens (each API response
once) and the first and last timestamps. Skipped when the shared fixtures are absent.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

import independent_counts
import polars as pl
import pytest

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest

REAL_WORLD = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "real-world-2"

pytestmark = pytest.mark.skipif(not REAL_WORLD.is_dir(), reason="shared real-world-2 fixtures are absent")

COUNTERS = {
    "claude-code": independent_counts.claude_code,
    "claude-agent-sdk": independent_counts.agent_sdk,
    "codex": independent_counts.codex,
    "anthropic-messages": independent_counts.anthropic,
    "otel-genai": independent_counts.otel,
}


def _expected() -> dict[str, dict[str, Any]]:
    expected: dict[str, dict[str, Any]] = {}
    for folder, count in COUNTERS.items():
        files = sorted(p for p in (REAL_WORLD / folder).rglob("*") if p.suffix in (".json", ".jsonl"))
        expected.update(count(files))
    return expected


@pytest.fixture(scope="module")
def lake_counts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    home = ReverieHome.at(tmp_path_factory.mktemp("fidelity") / "home").ensure()
    report = ingest(home, [REAL_WORLD], workers=1)
    assert report.files_seen == sum(1 for p in REAL_WORLD.rglob("*") if p.suffix in (".json", ".jsonl"))
    sessions = lake.read_table(home, "sessions")
    errors = (
        lake.read_table(home, "events")
        .filter((pl.col("type") == "tool_result") & pl.col("is_error"))
        .group_by("session_id")
        .len("tool_errors")
    )
    rows = sessions.join(errors, on="session_id", how="left").to_dicts()
    return {
        row["session_id"]: {
            "messages": row["n_messages"],
            "tool_calls": row["n_tool_calls"],
            "tool_errors": row["tool_errors"] or 0,
            "tokens_in": row["tokens_in"] or 0,
            "tokens_out": row["tokens_out"] or 0,
            "first": row["started_at"].astimezone(UTC),
            "last": row["ended_at"].astimezone(UTC),
        }
        for row in rows
    }


def test_every_real_session_is_in_the_lake_and_nothing_else(lake_counts: dict[str, dict[str, Any]]) -> None:
    assert set(lake_counts) == set(_expected())


@pytest.mark.parametrize("measure", ["messages", "tool_calls", "tool_errors", "tokens_in", "tokens_out"])
def test_counts_match_an_independent_count_of_the_raw_files(
    lake_counts: dict[str, dict[str, Any]], measure: str
) -> None:
    expected = _expected()
    wrong = {
        sid: (lake_counts[sid][measure], want[measure])
        for sid, want in expected.items()
        if sid in lake_counts and lake_counts[sid][measure] != want[measure]
    }
    assert wrong == {}, f"{measure}: session -> (lake, independent count)"


def test_first_and_last_timestamps_match_the_raw_files(lake_counts: dict[str, dict[str, Any]]) -> None:
    expected = _expected()
    wrong = {
        sid: ((lake_counts[sid]["first"], lake_counts[sid]["last"]), (want["first"], want["last"]))
        for sid, want in expected.items()
        if sid in lake_counts
        and want["first"] is not None
        and (lake_counts[sid]["first"], lake_counts[sid]["last"]) != (want["first"], want["last"])
    }
    assert wrong == {}
    assert all(v["first"].year > 1970 for sid, v in lake_counts.items() if expected[sid]["first"] is not None)
