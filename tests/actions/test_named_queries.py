"""The named queries about actions, run on a lake ingested from real transcripts (tests/fixtures) plus native
sessions of one project where `pytest` fails until `pip install -e .` runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipeline import lake
from pipeline.events import PLAYBOOK_ENTRIES_SCHEMA, Event
from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest
from pipeline.outcomes import load_criteria, score_all

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
QUERIES = Path(__file__).resolve().parents[2] / "sql" / "queries"
MISSING_MODULE = (
    "ImportError while importing test module '/w/acme-api/tests/test_api.py'.\n"
    "E   ModuleNotFoundError: No module named 'acme_api'\n"
    "=============================== 1 error in 0.05s ==============================="
)


def _native(session_id: str, steps: list[tuple[str, str, bool]], day: int) -> list[Event]:
    start = datetime(2025, 3, day, 9, tzinfo=UTC)
    events: list[Event] = []

    def add(type_: str, **fields: Any) -> None:
        ts = start + timedelta(seconds=len(events))
        events.append(Event(session_id=session_id, event_id=f"e{len(events)}", ts=ts, type=type_, **fields))

    add(
        "session_start",
        input={"task": "fix the api", "context": {"cwd": "/w/acme-api", "git_branch": "main"}},
    )
    add("message", role="user", content="fix the api")
    for command, output, failed in steps:
        call = f"e{len(events)}"
        add("tool_call", tool="Bash", input={"command": command})
        add("tool_result", tool="Bash", parent_event_id=call, content=output, is_error=failed)
    add("message", role="assistant", content="done")
    return events


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> ReverieHome:
    root = tmp_path_factory.mktemp("lake")
    home = ReverieHome.at(root / "home").ensure()
    native = root / "native"
    native.mkdir()
    sessions = {
        "acme-1": [
            ("pytest tests/", MISSING_MODULE, True),
            ("pip install -e .", "Successfully installed", False),
            ("pytest tests/", "3 passed in 0.1s", False),
        ],
        "acme-2": [
            ("cd /w/acme-api && pytest -q", MISSING_MODULE, True),
            ("pip install -e .", "ok", False),
            ("pytest -q", "3 passed in 0.1s", False),
        ],
        "acme-3": [("pytest tests/", "3 passed in 0.1s", False)],
    }
    for day, (session_id, steps) in enumerate(sessions.items(), start=10):
        path = native / f"{session_id}.jsonl"
        path.write_text("".join(e.to_json_line() + "\n" for e in _native(session_id, steps, day)))
    ingest(
        home, [native, FIXTURES / "claude-code" / "marot-spotter", FIXTURES / "codex" / "codemie"], workers=1
    )
    score_all(home, load_criteria())
    return home


def _run(home: ReverieHome, name: str) -> pl.DataFrame:
    sql = (QUERIES / f"{name}.sql").read_text()
    return pl.from_arrow(lake.connect(home).sql(sql).to_arrow_table())  # type: ignore[return-value]


def test_most_failing_actions_per_project(home):
    frame = _run(home, "failing_actions_by_project")
    acme = frame.filter(pl.col("project") == "acme-api")
    assert acme.select("action", "runs", "failures", "failure_pct", "sessions_affected").to_dicts() == [
        {"action": "pytest -q", "runs": 2, "failures": 1, "failure_pct": 50.0, "sessions_affected": 1},
        {"action": "pytest <path>", "runs": 3, "failures": 1, "failure_pct": 33.3, "sessions_affected": 1},
    ]
    assert set(acme["top_error"]) == {"ModuleNotFoundError: No module named <name>"}
    assert "spotter" in set(frame["project"]), "real Claude Code sessions are grouped under their cwd"
    assert frame.group_by("project").len()["len"].max() <= 10


def test_recoveries_that_work(home):
    frame = _run(home, "recoveries")
    acme = frame.filter(pl.col("project") == "acme-api")
    assert (
        acme.select("error_signature", "recovery", "retry", "recovered", "sessions_succeeded").to_dicts()
        == [
            {
                "error_signature": "ModuleNotFoundError: No module named <name>",
                "recovery": "pip install -e .",
                "retry": False,
                "recovered": 1,
                "sessions_succeeded": 1,
            }
        ]
        * 2
    )
    assert set(acme["failed_action"]) == {"pytest <path>", "pytest -q"}


def test_playbook_entries_in_force_per_project(home):
    def entry(version: str, entry_id: str, status: str, rule: str, evidence: list[str]) -> dict[str, Any]:
        return {
            "version": version, "entry_id": entry_id, "agent": "*", "section": "coding", "text": entry_id,
            "rule": rule, "support": len(evidence), "confidence": 0.9, "effect": 0.4, "evidence": evidence,
            "helpful": 0, "harmful": 0, "status": status, "created_in": version, "updated_in": version,
        }  # fmt: skip

    schema = pl.from_arrow(PLAYBOOK_ENTRIES_SCHEMA.empty_table()).schema  # type: ignore[union-attr]
    old = [entry("pb-2025-03-10", "old", "approved", "{}", ["acme-1"])]
    new = [
        entry(
            "pb-2025-03-12",
            "install-first",
            "approved",
            '{"scope": {"project": "acme-api"}}',
            ["acme-1", "acme-2"],
        ),
        entry("pb-2025-03-12", "unscoped", "approved", "{}", ["acme-3"]),
        entry("pb-2025-03-12", "proposed", "candidate", "{}", ["acme-2"]),
    ]
    lake.write_partition(home, "playbook_entries", "2025-03-10", pl.DataFrame(old, schema=schema))
    lake.write_partition(home, "playbook_entries", "2025-03-12", pl.DataFrame(new, schema=schema))
    frame = _run(home, "playbook_entries_by_project")
    rows = frame.select("project", "entry_id", "cited_sessions", "evidence_projects").to_dicts()
    assert rows == [
        {"project": "*", "entry_id": "unscoped", "cited_sessions": 1, "evidence_projects": ["acme-api"]},
        {
            "project": "acme-api",
            "entry_id": "install-first",
            "cited_sessions": 2,
            "evidence_projects": ["acme-api"],
        },
    ]
