"""Sessions written as native `reverie.event/v1` logs and ingested for real, so metrics run on true lake rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.events import Event
from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest

DAY = "2025-03-14"
START = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)


class SessionLog:
    """Builds one session's events in order; `write` puts it in a JSONL file ready for ingest."""

    def __init__(self, session_id: str, task: str, context: dict[str, Any] | None = None) -> None:
        self.session_id = session_id
        self.events: list[Event] = []
        self._add("session_start", input={"task": task, "context": context or {}, "playbook_version": None})

    def _add(self, type_: str, **fields: Any) -> SessionLog:
        self.events.append(
            Event(
                session_id=self.session_id,
                event_id=f"e{len(self.events)}",
                ts=START + timedelta(seconds=len(self.events)),
                type=type_,
                **fields,
            )
        )
        return self

    def message(self, role: str, text: str) -> SessionLog:
        return self._add("message", role=role, content=text)

    def tool(self, name: str, output: str, *, error: bool = False) -> SessionLog:
        call_id = f"e{len(self.events)}"
        self._add("tool_call", tool=name, input={"arg": 1})
        return self._add("tool_result", tool=name, parent_event_id=call_id, content=output, is_error=error)

    def end(self, status: str, metrics: dict[str, Any] | None = None) -> SessionLog:
        payload: dict[str, Any] = {"status": status}
        if metrics is not None:
            payload["metrics"] = metrics
        return self._add("session_end", input=payload)

    def write(self, folder: Path) -> Path:
        path = folder / f"{self.session_id}.jsonl"
        path.write_text("".join(e.to_json_line() + "\n" for e in self.events))
        return path


def lunar_metrics(**overrides: Any) -> dict[str, Any]:
    metrics = {
        "landed": True,
        "crashed": False,
        "touchdown_speed": -0.2,
        "pad_distance": 0.05,
        "fuel_used": 80.0,
        "steps": 300,
        "reward": 240.0,
        "failure_mode": None,
    }
    return {**metrics, **overrides}


def ingest_sessions(home: ReverieHome, logs: list[SessionLog]) -> None:
    folder = home.landing / DAY
    folder.mkdir(parents=True, exist_ok=True)
    ingest(home, [log.write(folder) for log in logs])


@pytest.fixture
def home(tmp_path: Path) -> ReverieHome:
    return ReverieHome.at(tmp_path / "home").ensure()
