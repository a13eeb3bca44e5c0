"""Claude Code transcripts as they really are on disk become the sessions a user would recognise."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.ingest import registry
from pipeline.ingest.base import EventRow, Reject
from pipeline.ingest.claude_code import ADAPTER
from pipeline.ingest.engine import ingest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

CC = FIXTURES / "claude-code"
SHOWCASE_SESSION = "55550000-0000-4000-8000-000000000001"


def _ingest(home: ReverieHome, *relative: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    ingest(home, [CC / r for r in relative])
    return lake.read_table(home, "events"), lake.read_table(home, "sessions")


def _session(sessions: pl.DataFrame, session_id: str) -> dict:
    rows = sessions.filter(pl.col("session_id") == session_id).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_every_real_transcript_is_sniffed_as_claude_code() -> None:
    for path in CC.rglob("*.jsonl"):
        assert registry.sniff(path) is ADAPTER, path


def test_subagent_folder_joins_the_parent_session_with_its_own_agents(home: ReverieHome) -> None:
    events, sessions = _ingest(home, "daaain-claude-code-log/minimal_showcase")
    session = _session(sessions, SHOWCASE_SESSION)
    assert session["agents"] == ["main", "showcol1", "showcol2"]
    assert sessions.height == 1
    assert set(events.filter(pl.col("agent") == "showcol2")["type"]) >= {"message"}


def test_tool_results_pair_with_their_calls(home: ReverieHome) -> None:
    events, _ = _ingest(home, "daaain-claude-code-log/minimal_showcase", "marot-spotter/short.jsonl")
    calls = events.filter(pl.col("type") == "tool_call")
    results = events.filter(pl.col("type") == "tool_result")
    assert results.height > 0
    paired = results.join(
        calls.select(
            "session_id", pl.col("event_id").alias("parent_event_id"), pl.col("tool").alias("call_tool")
        ),
        on=["session_id", "parent_event_id"],
    )
    assert paired.height == results.height
    assert (paired["tool"] == paired["call_tool"]).all()


def test_split_response_tokens_are_counted_once(home: ReverieHome) -> None:
    # short.jsonl has one API response written as five lines, each repeating the same usage block.
    _, sessions = _ingest(home, "marot-spotter/short.jsonl")
    session = _session(sessions, "55604662-cf2a-4331-851a-ec234028f8ca")
    assert session["tokens_in"] == 3 + 13835 + 11515
    assert session["tokens_out"] == 13


def test_task_and_context_come_from_the_first_prompt_and_transcript_fields(home: ReverieHome) -> None:
    _, sessions = _ingest(home, "marot-spotter/short.jsonl")
    session = _session(sessions, "55604662-cf2a-4331-851a-ec234028f8ca")
    assert session["task"] == "mix phx.server doesnt seem to start"  # string `content`
    context = json.loads(session["context"])
    assert context["cwd"] == "/home/marco/projects/spotter"
    assert context["git_branch"] == "master"
    assert context["version"] == "2.1.38"
    assert context["model"] == "claude-opus-4-6"
    assert session["source_format"] == "claude_code"


def test_errors_from_is_error_and_from_plain_string_results(home: ReverieHome) -> None:
    events, sessions = _ingest(
        home, "marot-spotter/short.jsonl", "drmaciver-coverage-test-fix/transcript.jsonl"
    )
    rejected = events.filter((pl.col("type") == "tool_result") & pl.col("content").str.contains("rejected"))
    assert rejected.height == 2 and rejected["is_error"].all()
    exit_code = events.filter(pl.col("input").str.contains("Exit code 1"))
    assert exit_code.height == 1 and exit_code["is_error"].all()
    assert _session(sessions, "c64cc478-3430-40fe-8e9c-4ee9986e9754")["n_errors"] >= 1


def test_dict_tool_use_result_keeps_small_facts_not_file_bodies(home: ReverieHome) -> None:
    events, _ = _ingest(home, "marot-spotter/subagent.jsonl")
    task_result = events.filter(pl.col("input").str.contains('"agentId"') & (pl.col("type") == "tool_result"))
    facts = json.loads(task_result["input"][0])
    assert facts["agentId"] == "afb92ff" and facts["status"] == "completed"
    assert all(len(v) <= 200 for v in facts.values() if isinstance(v, str))


def test_inline_agent_progress_becomes_the_subagents_events(home: ReverieHome) -> None:
    events, sessions = _ingest(home, "marot-spotter/subagent.jsonl")
    session = _session(sessions, "491e126e-1e71-469c-ade2-fcc8af567c74")
    assert session["agents"] == ["afb92ff", "main"]
    assert events.filter(pl.col("agent") == "afb92ff").height >= 19


def test_flat_sidechain_files_join_their_session(home: ReverieHome) -> None:
    _, sessions = _ingest(home, "codemie-tmp-private")
    session = _session(sessions, "4c2ddfdc-b619-4525-8d03-1950fb1b0257")
    assert session["agents"] == ["36541525", "50243ee8", "main"]
    assert sessions.height == 1


def test_compaction_lines_are_kept_as_observations(home: ReverieHome) -> None:
    events, sessions = _ingest(home, "daaain-claude-code-log/dag_compact_after_rewind.jsonl")
    tools = set(events.filter(pl.col("type") == "observation")["tool"])
    assert {"compact_boundary", "compact_summary"} <= tools
    boundary = events.filter(pl.col("tool") == "compact_boundary").row(0, named=True)
    assert boundary["parent_event_id"] == "b2a2"  # logicalParentUuid bridges the compaction
    assert _session(sessions, "s1")["task"] == "Start"


def test_event_ids_are_stable_when_a_transcript_grows(tmp_path: Path) -> None:
    source = (CC / "marot-spotter/short.jsonl").read_bytes()
    lines = source.splitlines(keepends=True)
    partial = tmp_path / "partial.jsonl"
    partial.write_bytes(b"".join(lines[: len(lines) // 2]))
    full = tmp_path / "full.jsonl"
    full.write_bytes(source)

    def ids(path: Path) -> set[str]:
        return {r.event_id for r in ADAPTER.parse(path) if isinstance(r, EventRow)}

    assert ids(partial) <= ids(full)
    assert ids(full) == ids(full)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            {"type": "user", "uuid": "u", "timestamp": "2026-01-01T00:00:00Z", "message": {"content": "x"}},
            "missing sessionId",
        ),
        ({"type": "user", "sessionId": "s", "uuid": "u", "message": {"content": "x"}}, "missing timestamp"),
        (
            {"type": "user", "sessionId": "s", "uuid": "u", "timestamp": "noon", "message": {}},
            "wrong type for timestamp",
        ),
        (
            {
                "type": "assistant",
                "sessionId": "s",
                "uuid": "u",
                "timestamp": "2026-01-01T00:00:00Z",
                "message": 5,
            },
            "wrong type for message",
        ),
    ],
)
def test_malformed_claude_code_lines_are_rejected_with_a_reason(
    tmp_path: Path, line: dict, reason: str
) -> None:
    good = {
        "type": "user",
        "sessionId": "s",
        "uuid": "g",
        "timestamp": "2026-01-01T00:00:00Z",
        "message": {"role": "user", "content": "hi"},
    }
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(line) + "\n")
    items = list(ADAPTER.parse(path))
    rejects = [i for i in items if isinstance(i, Reject)]
    assert [r.source_line for r in rejects] == [2]
    assert rejects[0].reason.startswith(reason)
    assert any(isinstance(i, EventRow) and i.event_id == "g" for i in items)
