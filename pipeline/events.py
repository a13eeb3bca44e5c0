"""The normalized session-event model, `reverie.event/v1`.

Every adapter turns its source format into rows of this shape, and Reverie's own agents write it natively
(one JSON object per line). Keeping a single model means the lake, the outcome engine and the dreamers never
need to know which tool produced a session.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_ID = "reverie.event/v1"


class EventType(StrEnum):
    SESSION_START = "session_start"
    MESSAGE = "message"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    DECISION = "decision"
    OBSERVATION = "observation"
    ERROR = "error"
    SESSION_END = "session_end"


class Event(BaseModel):
    """One thing that happened in an agent session.

    Conventions that downstream stages rely on:
    - `session_start.input` holds `{"task": str, "context": {flat scalar features}, "playbook_version": str|null}`;
      the context features are what the dreamer conditions on.
    - `session_end.input` holds `{"status": str}` (becomes `sessions.final_status`).
    - `decision` events: `tool` is the decision's name, `input` is
      `{"parameter": str, "value": number|str|bool, "rationale": str, "followed": [playbook entry ids]}`.
    - `tool_result.parent_event_id` is the id of the `tool_call` it answers; `is_error` marks failures.
    """

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    schema_: str = Field(default=SCHEMA_ID, alias="schema", description="Always 'reverie.event/v1'.")
    session_id: str = Field(min_length=1)
    event_id: str = Field(min_length=1, description="Unique within the session.")
    parent_event_id: str | None = None
    ts: datetime = Field(description="ISO-8601 timestamp; naive values are taken as UTC.")
    agent: str = Field(default="main", description="Which agent in the session emitted the event.")
    type: EventType
    role: str | None = Field(default=None, description="user | assistant | system | tool, for messages.")
    tool: str | None = Field(default=None, description="Tool name for tool calls/results; decision name.")
    input: Any = Field(default=None, description="Structured payload (tool arguments, decision, start info).")
    content: str | None = Field(default=None, description="Text: message body, tool output, observation.")
    is_error: bool = False
    tokens_in: int | None = Field(default=None, ge=0)
    tokens_out: int | None = Field(default=None, ge=0)

    @field_validator("ts")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def to_json_line(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


def export_json_schema(path: Path) -> Path:
    """Write the event JSON Schema so non-Python producers can validate what they emit."""
    schema = Event.model_json_schema(by_alias=True)
    schema["$id"] = "https://reverie.dev/schemas/reverie.event.v1.json"
    schema["title"] = SCHEMA_ID
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, indent=2) + "\n")
    return path


# --- Lake schemas: the SQL contract. Extend, never rename. ------------------------------------------------

TS = pa.timestamp("us", tz="UTC")

EVENTS_SCHEMA = pa.schema(
    [
        ("session_id", pa.string()),
        ("event_id", pa.string()),
        ("parent_event_id", pa.string()),
        ("seq", pa.int64()),  # order within the session, so SQL can rebuild the transcript
        ("ts", TS),
        ("agent", pa.string()),
        ("type", pa.string()),
        ("role", pa.string()),
        ("tool", pa.string()),
        ("input", pa.string()),  # JSON text
        ("content", pa.string()),
        ("is_error", pa.bool_()),
        ("tokens_in", pa.int64()),
        ("tokens_out", pa.int64()),
        ("source_format", pa.string()),
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
        ("date", pa.date32()),  # session start date (UTC): the partition key
        # What a tool call did (pipeline/actions.py): `pytest <path>`, `git commit -m`, `Edit *.py`, the tool
        # name otherwise; tool results carry their call's. Derived when partitions are built, never staged.
        ("action", pa.string()),
        # The line of a failed tool result or error event that names the error, redacted then masked
        # (pipeline/error_signatures.py): `ModuleNotFoundError: No module named <name>`. Null elsewhere.
        ("error_signature", pa.string()),
    ]
)
EVENTS_DERIVED_COLUMNS = ("date", "action", "error_signature")
"""`events` columns computed when a partition is built rather than read from staging."""

SESSIONS_SCHEMA = pa.schema(
    [
        ("session_id", pa.string()),
        ("task", pa.string()),
        ("source_format", pa.string()),
        ("started_at", TS),
        ("ended_at", TS),
        ("duration_s", pa.float64()),
        ("agents", pa.list_(pa.string())),
        ("n_events", pa.int64()),
        ("n_messages", pa.int64()),
        ("n_tool_calls", pa.int64()),
        ("n_errors", pa.int64()),
        ("tokens_in", pa.int64()),
        ("tokens_out", pa.int64()),
        ("context", pa.string()),  # JSON object of flat features
        ("final_status", pa.string()),
        ("playbook_version", pa.string()),
        ("n_redactions", pa.int64()),
        ("date", pa.date32()),
        ("project", pa.string()),  # repo or folder the session worked in (pipeline/ingest/scope.py), or null
        ("branch", pa.string()),  # git branch recorded by the agent, or null
    ]
)

REJECTS_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
        ("source_format", pa.string()),
        ("reason", pa.string()),
        ("raw", pa.string()),  # truncated and redacted
        ("date", pa.date32()),  # the day the file was ingested
    ]
)

OUTCOMES_SCHEMA = pa.schema(
    [
        ("session_id", pa.string()),
        ("criterion", pa.string()),
        ("passed", pa.bool_()),  # null when not graded
        ("value", pa.string()),
        ("detail", pa.string()),
        ("score", pa.float64()),  # the session's weighted score 0..1, repeated per row
        ("weight", pa.float64()),
        ("required", pa.bool_()),
        ("grader", pa.string()),  # expectation | rubric:<model> | not_graded
        ("date", pa.date32()),
    ]
)

PLAYBOOK_ENTRIES_SCHEMA = pa.schema(
    [
        ("version", pa.string()),
        ("entry_id", pa.string()),
        ("agent", pa.string()),
        ("section", pa.string()),
        ("text", pa.string()),
        ("rule", pa.string()),  # JSON
        ("support", pa.int64()),
        ("confidence", pa.float64()),
        ("effect", pa.float64()),
        ("evidence", pa.list_(pa.string())),
        ("helpful", pa.int64()),
        ("harmful", pa.int64()),
        ("status", pa.string()),
        ("created_in", pa.string()),
        ("updated_in", pa.string()),
    ]
)

EVALUATIONS_SCHEMA = pa.schema(
    [
        ("day", pa.date32()),
        ("arm", pa.string()),  # candidate | in_force | reference
        ("version", pa.string()),
        ("successes", pa.int64()),
        ("n", pa.int64()),
        ("rate", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("p_value", pa.float64()),
        ("decision", pa.string()),
        ("reason", pa.string()),
        ("date", pa.date32()),
    ]
)

TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "events": EVENTS_SCHEMA,
    "sessions": SESSIONS_SCHEMA,
    "rejects": REJECTS_SCHEMA,
    "outcomes": OUTCOMES_SCHEMA,
    "playbook_entries": PLAYBOOK_ENTRIES_SCHEMA,
    "evaluations": EVALUATIONS_SCHEMA,
}
