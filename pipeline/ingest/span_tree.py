"""What the span-tree adapters (OpenAI Agents traces, OpenTelemetry GenAI) share: one trace is one session.

Each span becomes events whose ids start with the span id, so `parent_event_id` keeps the trace's span
tree; a span whose parent is not in the trace hangs off the session's `start` event. A subclass says how
to read a span's id, parent id and agent, and what events a span makes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson

from pipeline.ingest.base import EventRow

SpanT = TypeVar("SpanT")


def decoded_json(value: Any) -> Any:
    """A string that holds a JSON object or array, decoded; anything else as it is."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


class SpanTreeSession(Generic[SpanT]):
    """The events of one trace. Subclasses set `trace_id`, `by_id` (span id -> span) and `rows`."""

    trace_id: str
    by_id: dict[str, SpanT]
    rows: list[EventRow]

    def _span_id(self, span: SpanT) -> Any:
        raise NotImplementedError

    def _parent_id(self, span: SpanT) -> Any:
        raise NotImplementedError

    def _agent_of(self, span: SpanT) -> str:
        raise NotImplementedError

    def _line_of(self, span: SpanT) -> int | None:
        """The line of a JSONL export the span came from (None in a single JSON document), so its events
        and rejects name the line."""
        return None

    def _is_root(self, span: SpanT) -> bool:
        return self._parent_id(span) not in self.by_id

    def _emit(self, span: SpanT, ts: datetime, suffix: str = "", **fields: Any) -> EventRow:
        """An event of `span` with id `<span id><suffix>`, under its parent span's event unless told."""
        parent_id = self._parent_id(span)
        parent = fields.pop("parent_event_id", None) or (
            str(parent_id) if parent_id in self.by_id else "start"
        )
        row = EventRow(
            session_id=self.trace_id,
            event_id=f"{self._span_id(span)}{suffix}",
            ts=ts,
            agent=self._agent_of(span),
            parent_event_id=parent,
            source_line=fields.pop("source_line", None) or self._line_of(span),
            **fields,
        )
        self.rows.append(row)
        return row

    def _session_start(self, ts: datetime, task: str, context: dict[str, Any]) -> None:
        self.rows.append(
            EventRow(
                session_id=self.trace_id,
                event_id="start",
                ts=ts,
                type="session_start",
                input={"task": task, "context": context, "playbook_version": None},
            )
        )

    def _session_end(self, ts: datetime, status: str, **details: Any) -> None:
        self.rows.append(
            EventRow(
                session_id=self.trace_id,
                event_id="end",
                ts=ts,
                type="session_end",
                input={"status": status, **details},
                is_error=status == "error",
            )
        )
