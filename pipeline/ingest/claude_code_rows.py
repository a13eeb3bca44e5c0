"""The pieces the Claude Code adapter builds event rows with: per-file parse state, per-line emission,
and the field readers that turn a malformed line into a `LineError` (a reject) instead of a crash.

The format's quirks and the event id scheme are described in `pipeline.ingest.claude_code`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.ingest.base import EventRow, RecordTally
from pipeline.ingest.derived import quoted_value
from pipeline.ingest.jsonl import json_bytes

TASK_PREVIEW_CHARS = 500
_NOT_A_PROMPT_PREFIXES = ("<command-", "<local-command", "Caveat:", "[Request interrupted")
_RESULT_STRING_LIMIT = 200


class LineError(ValueError):
    """A line with the right shape for this format but a missing or mistyped required field."""


_CONTEXT_FEATURES = (
    ("cwd", "cwd"),
    ("gitBranch", "git_branch"),
    ("version", "version"),
    ("userType", "user_type"),
    ("permissionMode", "permission_mode"),
    ("entrypoint", "entrypoint"),
)


@dataclass(slots=True)
class _SessionStart:
    """What the session's first lines say about it: becomes the synthetic `session_start` event."""

    first_ts: datetime
    task: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    missing: tuple[tuple[str, str], ...] = _CONTEXT_FEATURES  # (line key, feature) not seen yet
    has_model: bool = False


@dataclass(slots=True)
class _FileState:
    rows: list[EventRow] = field(default_factory=list)
    line_event: dict[str, str] = field(default_factory=dict)  # line uuid -> its first event id
    tool_names: dict[str, str] = field(default_factory=dict)  # tool_use id -> tool name
    response_rows: dict[str, int] = field(default_factory=dict)  # session+message.id -> row with its tokens
    starts: dict[str, _SessionStart] = field(default_factory=dict)  # session_id -> main-agent start info
    summaries: list[tuple[int, str, str | None]] = field(default_factory=list)  # (line, text, leafUuid)
    ts_by_uuid: dict[str, datetime] = field(default_factory=dict)
    session_notes: dict[str, dict[str, str]] = field(default_factory=dict)  # titles, modes per session
    tally: RecordTally = field(default_factory=RecordTally)

    def start_at(self, session_id: str, ts: datetime) -> _SessionStart:
        """The session's start record, its first time moved back to `ts` when that is earlier."""
        start = self.starts.get(session_id)
        if start is None:
            start = self.starts[session_id] = _SessionStart(first_ts=ts)
        elif ts < start.first_ts:
            start.first_ts = ts
        return start


_UNSET: Any = object()


@dataclass(slots=True)
class _Line:
    """What every event of one transcript line shares; `emit` adds one event for one content block."""

    state: _FileState
    session_id: str
    uuid: str
    ts: datetime
    agent: str
    parent: str | None
    role: str | None
    line_number: int

    def emit(
        self,
        index: int,
        type: str,
        *,
        event_id: str | None = None,
        parent_event_id: str | None = _UNSET,
        role: str | None = _UNSET,
        tool: str | None = None,
        input: Any = None,
        content: str | None = None,
        is_error: bool = False,
    ) -> None:
        uuid = self.uuid
        if not event_id:
            event_id = uuid if index == 0 else f"{uuid}#{index}"
        self.state.rows.append(
            EventRow(
                self.session_id,
                event_id,
                self.ts,
                type,
                self.agent,
                self.parent if parent_event_id is _UNSET else parent_event_id,
                self.role if role is _UNSET else role,
                tool,
                input,
                content,
                is_error,
                None,
                None,
                self.line_number,
            )
        )
        self.state.line_event.setdefault(uuid, event_id)


def _timestamp(record: dict[str, Any]) -> datetime:
    value = record.get("timestamp")
    if not isinstance(value, str):
        raise LineError(
            "missing timestamp" if value is None else f"wrong type for timestamp: {type(value).__name__}"
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError as error:
        raise LineError(f"wrong type for timestamp: {quoted_value(value)} is not ISO-8601") from error


def _required_str(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if isinstance(value, str) and value:
        return value
    raise LineError(f"missing {key}" if value is None else f"wrong type for {key}: {type(value).__name__}")


def _block_text(content: Any) -> str | None:
    """Tool-result content is a string or a list of text/image blocks; keep the text, mark the images."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                if block.get("type") == "text":
                    parts.append(str(block.get("text", "")))
                elif block.get("type") == "image":
                    parts.append("[image]")
            elif isinstance(block, str):
                parts.append(block)
        return "\n".join(parts)
    return json_bytes(content).decode()


def _result_summary(value: Any) -> tuple[dict[str, Any] | None, bool]:
    """Keep the small scalar facts of `toolUseResult` (exit status, agentId, counts), never file bodies.

    Returns the summary and whether the value itself says the call failed (the plain-string shape).
    """
    if isinstance(value, str):
        failed = value.startswith("Error") or "rejected" in value[:80].lower()
        return {"result": value[:_RESULT_STRING_LIMIT]}, failed
    if isinstance(value, dict):
        kept = {
            key: item
            for key, item in value.items()
            if isinstance(item, bool | int | float)
            or (isinstance(item, str) and len(item) <= _RESULT_STRING_LIMIT)
        }
        return kept or None, False
    return None, False


def _is_prompt(record: dict[str, Any], content: Any) -> str | None:
    """The text of a real user prompt (not a command echo, meta line or tool result), else None."""
    if record.get("isMeta") or record.get("isCompactSummary"):
        return None
    if isinstance(content, list):
        texts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        if len(texts) != len(content):
            return None
        content = "\n".join(texts)
    return prompt_preview(content)


def prompt_preview(content: Any) -> str | None:
    """A prompt's text as `session_start` keeps it, or None for an empty one or a command echo."""
    if (
        not isinstance(content, str)
        or not content.strip()
        or content.lstrip().startswith(_NOT_A_PROMPT_PREFIXES)
    ):
        return None
    return content.strip()[:TASK_PREVIEW_CHARS]
