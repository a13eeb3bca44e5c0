"""Native `reverie.event/v1` session logs, written the way the ingest stage expects them.

Timestamps come from a caller-given start and a fixed tick, never the wall clock: the same mission with the
same inputs must produce byte-identical logs, so re-running a partition is a true no-op and diffs between
runs show only real behaviour changes.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.events import Event, EventType

DEFAULT_TICK = timedelta(milliseconds=10)


class SessionRecorder:
    """Collects one session's events in order, with sequential ids and deterministic timestamps."""

    def __init__(self, session_id: str, started_at: datetime, *, tick: timedelta = DEFAULT_TICK) -> None:
        self.session_id = session_id
        self.started_at = started_at
        self.tick = tick
        self.events: list[Event] = []
        self._clock = started_at

    def _next_ts(self, at: datetime | None) -> datetime:
        # Never go backwards: an explicit time (e.g. simulated flight time) only moves the clock forward.
        candidate = self._clock + self.tick if at is None else max(at, self._clock)
        self._clock = candidate
        return candidate

    def record(
        self, type_: EventType | str, *, agent: str = "main", at: datetime | None = None, **fields: Any
    ) -> Event:
        """Append one event; `fields` are Event fields (role, tool, input, content, parent_event_id, ...)."""
        event = Event(
            session_id=self.session_id,
            event_id=f"{self.session_id}:{len(self.events):04d}",
            ts=self._next_ts(at) if self.events else self.started_at,
            agent=agent,
            type=type_,
            **fields,
        )
        self.events.append(event)
        return event

    def start(
        self, task: str, context: dict[str, Any], playbook_version: str | None, *, agent: str = "main"
    ) -> Event:
        return self.record(
            EventType.SESSION_START,
            agent=agent,
            input={"task": task, "context": context, "playbook_version": playbook_version},
        )

    def end(
        self,
        status: str,
        metrics: dict[str, Any] | None = None,
        *,
        agent: str = "main",
        at: datetime | None = None,
    ) -> Event:
        payload: dict[str, Any] = {"status": status}
        if metrics is not None:
            payload["metrics"] = metrics
        return self.record(EventType.SESSION_END, agent=agent, at=at, input=payload)

    def now(self) -> datetime:
        return self._clock

    def to_jsonl(self) -> str:
        return "".join(event.to_json_line() + "\n" for event in self.events)

    def write(self, path: Path) -> Path:
        """Write atomically (temp file + rename) so a watcher never ingests half a session."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_text(self.to_jsonl(), encoding="utf-8")
        os.replace(tmp, path)
        return path
