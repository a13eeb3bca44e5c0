"""What the UI knows about each lake table before anything runs: name in the catalog, columns, owners.

Column types come from the lake's contract (`pipeline.events`), so a schema change shows on the asset page
at once; the descriptions below say what each column means (a test checks every column has one).
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import pyarrow as pa

from pipeline.events import TABLE_SCHEMAS

CATALOG = "reverie.main"
"""`REVERIE_HOME/reverie.duckdb` attaches as catalog `reverie`; its views live in schema `main`."""
OWNERS = ["team:reverie"]

# Columns a table's Parquet holds beyond its contract schema.
EXTRA_COLUMNS: dict[str, list[pa.Field]] = {"events": [pa.field("n_redactions", pa.int64())]}

SESSION_OUTCOMES_SCHEMA = pa.schema(
    [
        ("session_id", pa.string()),
        ("date", pa.date32()),
        ("success", pa.bool_()),
        ("score", pa.float64()),
        ("n_criteria", pa.int64()),
        ("n_not_graded", pa.int64()),
    ]
)

_COMMON = {
    "session_id": "The session: the source's id, or `<format>-<hash of the file>` when it has none.",
    "date": "Partition day (UTC).",
    "source_format": "The log format the row was parsed from (claude_code, codex, otel_genai, ...).",
    "source_file": "Path of the log file the row came from.",
    "source_line": "Line (or record) number in `source_file`, 1-based.",
    "agent": "Agent or team role that produced the row.",
    "tokens_in": "Input tokens reported by the source, when it reports them.",
    "tokens_out": "Output tokens reported by the source, when it reports them.",
}

COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "events": {
        **_COMMON,
        "date": "Day (UTC) the event's session started: the partition key.",
        "event_id": "The source's id for the event, else `<kind>-<ordinal>` in file order.",
        "parent_event_id": "The event this one answers (a tool result's call), when known.",
        "seq": "Order within the session, so SQL can rebuild the transcript.",
        "ts": "When the event happened (UTC), from the log; see docs/formats.md for undated lines.",
        "type": "message | tool_call | tool_result | error | ...",
        "role": "user | assistant | system | tool, for messages.",
        "tool": "Tool name, for tool calls and results.",
        "input": "Tool input as JSON text, secrets redacted.",
        "content": "Message or result text, secrets redacted.",
        "is_error": "Whether a tool result or event reports a failure.",
        "action": "What a tool call did (`pytest <path>`, `git commit -m`, `Edit *.py`), else the tool name.",
        "error_signature": "The line that names the error, redacted and masked; null elsewhere.",
        "n_redactions": "Secrets replaced in this event's text before it was written.",
    },
    "sessions": {
        **_COMMON,
        "date": "Day (UTC) the session started: the partition key.",
        "task": "What the session was asked to do (first user message or the mission).",
        "started_at": "Time of the session's first event (UTC).",
        "ended_at": "Time of the session's last event (UTC).",
        "duration_s": "Seconds from first to last event.",
        "agents": "Agents that took part.",
        "n_events": "Events in the session.",
        "n_messages": "Message events.",
        "n_tool_calls": "Tool calls.",
        "n_errors": "Failed tool results and error events.",
        "context": "JSON object of flat features the dreamer may condition lessons on.",
        "final_status": "How the session ended, as the log says (success, failure, ...), or null.",
        "playbook_version": "Playbook version the session flew with, when it records one.",
        "n_redactions": "Secrets replaced in the session's events.",
        "project": "Repository or folder the session worked in, or null.",
        "branch": "Git branch recorded by the agent, or null.",
    },
    "rejects": {
        **_COMMON,
        "date": "Day (UTC) the file was ingested: the partition key.",
        "reason": "Why the line was not ingested.",
        "raw": "The line, truncated and redacted.",
    },
    "outcomes": {
        "session_id": _COMMON["session_id"],
        "date": "Day (UTC) the session started: the partition key.",
        "criterion": "Criterion name (outcomes/*.yaml).",
        "passed": "The verdict; null when not graded (a rubric with no Claude key).",
        "value": "The observed value the criterion tested.",
        "detail": "Why it passed or failed.",
        "score": "The session's weighted score 0..1 over graded criteria, repeated per row.",
        "weight": "The criterion's weight in the score.",
        "required": "Whether the session fails when this criterion fails.",
        "grader": "expectation | rubric:<model> | not_graded.",
    },
    "playbook_entries": {
        "mission": "Mission whose playbook line the row belongs to (lunar | coding).",
        "version": "Playbook version the row belongs to.",
        "entry_id": "Stable id of the entry across versions.",
        "agent": "Agent the lesson is for.",
        "section": "Playbook section.",
        "text": "The imperative lesson as agents read it.",
        "rule": "The machine-checkable rule, as JSON.",
        "support": "Sessions the lesson was derived from.",
        "confidence": "How sure the dreamer is, 0..1.",
        "effect": "Estimated effect on success rate.",
        "evidence": "Session ids the entry cites.",
        "helpful": "Later sessions where following it went with success.",
        "harmful": "Later sessions where following it went with failure.",
        "status": "candidate | approved | retired.",
        "created_in": "Version that added the entry.",
        "updated_in": "Version that last changed it.",
    },
    "evaluations": {
        "date": "Partition day (UTC) of the evaluation.",
        "day": "Night that was evaluated.",
        "mission": "Mission whose candidate was evaluated (lunar | coding).",
        "arm": "candidate | in_force | reference.",
        "version": "Playbook version the arm flew (null for the reference).",
        "successes": "Held-out missions the arm landed.",
        "n": "Held-out missions flown.",
        "rate": "successes / n.",
        "ci_low": "Lower bound of the 95% interval of `rate`.",
        "ci_high": "Upper bound of the 95% interval of `rate`.",
        "p_value": "Paired test of candidate against in force.",
        "decision": "promoted | kept | awaiting_approval | no_change.",
        "reason": "Why the policy decided so.",
    },
    "session_outcomes": {
        "session_id": _COMMON["session_id"],
        "date": "Day (UTC) the session started.",
        "success": "Every required criterion passed (a not-graded one is not a pass).",
        "score": "Weighted pass fraction over the graded criteria.",
        "n_criteria": "Criteria scored.",
        "n_not_graded": "Criteria left ungraded.",
    },
}


def arrow_schema(table: str) -> pa.Schema:
    if table == "session_outcomes":
        return SESSION_OUTCOMES_SCHEMA
    return pa.schema(list(TABLE_SCHEMAS[table]) + EXTRA_COLUMNS.get(table, []))


def column_schema(table: str) -> dg.TableSchema:
    descriptions = COLUMN_DESCRIPTIONS[table]
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=f.name, type=str(f.type), description=descriptions.get(f.name))
            for f in arrow_schema(table)
        ]
    )


def table_metadata(table: str) -> dict[str, Any]:
    """Definition-time metadata of a lake table's asset: its catalog name and its columns."""
    return {"dagster/table_name": f"{CATALOG}.{table}", "dagster/column_schema": column_schema(table)}


def table_tags(layer: str) -> dict[str, str]:
    return {"layer": layer, "storage": "parquet"}
