"""The coding world (`coding_world`) written straight into lake partitions, as ingest and scoring would have
left them: `sessions` with project and task, `events` with each call's action and its result's error text,
and one required `outcomes` row per session. Much faster than transcripts -> ingest -> score, for tests of
what the dreamers do with a lake (the e2e test covers the transcript path)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import polars as pl

from pipeline.home import ReverieHome
from tests.dreaming.coding_world import Session
from tests.support.synthetic import append_partition


def _tool(command: str) -> str:
    first = command.split(" ", 1)[0]
    return first if first in ("Edit", "Read") else "Bash"


def write_world(home: ReverieHome, sessions: list[Session], task: str | None = None) -> None:
    """Write every session into its day's partitions (merged with what is there)."""
    by_day: dict[str, list[Session]] = {}
    for session in sessions:
        by_day.setdefault(session.day, []).append(session)
    for day_text, group in sorted(by_day.items()):
        day = date.fromisoformat(day_text)
        start = datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
        rows, events, outcomes = [], [], []
        for index, s in enumerate(group):
            ts = start + timedelta(seconds=index)
            text = task if task is not None else f"Fix the failing check in {s.project}"
            context = {"cwd": f"/home/dev/src/{s.project}", "heldout": False}
            rows.append(
                {
                    "session_id": s.session_id,
                    "task": text,
                    "started_at": ts,
                    "ended_at": ts,
                    "context": json.dumps(context),
                    "final_status": "done",
                    "date": day,
                    "project": s.project,
                }
            )
            start_input = json.dumps({"task": text, "context": context, "playbook_version": None})
            session_events = [
                dict(
                    event_id="start",
                    type="session_start",
                    tool=None,
                    input=start_input,
                    content=text,
                    is_error=False,
                    parent_event_id=None,
                    action=None,
                )
            ]
            for step, call in enumerate(s.calls):
                tool = _tool(call.command)
                session_events.append(
                    dict(
                        event_id=f"c{step}",
                        type="tool_call",
                        tool=tool,
                        input=json.dumps({"command": call.command}),
                        content=None,
                        is_error=False,
                        parent_event_id=None,
                        action=call.action,
                    )
                )
                session_events.append(
                    dict(
                        event_id=f"r{step}",
                        type="tool_result",
                        tool=tool,
                        input=None,
                        content=call.output,
                        is_error=call.failed,
                        parent_event_id=f"c{step}",
                        action=call.action,
                    )
                )
            for seq, event in enumerate(session_events):
                events.append(
                    {**event, "session_id": s.session_id, "seq": seq, "ts": ts, "agent": "main", "date": day}
                )
            outcomes.append(
                {
                    "session_id": s.session_id,
                    "criterion": "tests_pass",
                    "passed": s.success,
                    "score": float(s.success),
                    "weight": 1.0,
                    "required": True,
                    "grader": "expectation",
                    "date": day,
                }
            )
        for table, frame in (("sessions", rows), ("events", events), ("outcomes", outcomes)):
            append_partition(home, table, day, pl.DataFrame(frame), merge=True)
