"""Reverie's own format: one `reverie.event/v1` JSON object per line (see docs/native-format.md).

Each line is validated against the pydantic `Event` model, so producers get the exact rule they broke
(missing field, wrong type) back in the rejects table instead of silently wrong rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import orjson
from pydantic import ValidationError

from pipeline.events import SCHEMA_ID, Event
from pipeline.ingest.base import EventRow, RecordTally, Reject
from pipeline.ingest.jsonl import iter_json_lines, json_bytes, raw_preview

_REQUIRED_KEYS = ("session_id", "event_id", "ts", "type")


def rejection_reason(error: ValidationError) -> str:
    """One readable reason from pydantic's errors, naming the field so producers can fix their writer."""
    parts = []
    for problem in error.errors()[:3]:
        field = ".".join(str(p) for p in problem["loc"]) or "line"
        if problem["type"] == "missing":
            parts.append(f"missing {field}")
        elif problem["type"] == "extra_forbidden":
            parts.append(f"unknown field {field}")
        elif problem["type"] in ("model_type", "dict_type"):
            parts.append("line is not a JSON object")
        else:
            parts.append(f"wrong type for {field}: {problem['msg']}")
    return "; ".join(parts)


class NativeAdapter:
    name: ClassVar[str] = "native"
    description: ClassVar[str] = "Reverie native events: one reverie.event/v1 JSON object per line"
    path_pattern: ClassVar[str] = "$REVERIE_HOME/landing/<date>/*.jsonl"

    def sniff(self, path: Path, head: bytes) -> float:
        if SCHEMA_ID.encode() in head:
            return 1.0
        first_line = head.split(b"\n", 1)[0]
        try:
            record = orjson.loads(first_line)
        except orjson.JSONDecodeError:
            return 0.0
        if isinstance(record, dict) and all(key in record for key in _REQUIRED_KEYS):
            return 0.8
        return 0.0

    def parse(
        self, path: Path, data: bytes | None = None, tally: RecordTally | None = None
    ) -> Iterator[EventRow | Reject]:
        for item in iter_json_lines(path, data):
            if isinstance(item, Reject):
                yield item
                continue
            line_number, record = item
            try:
                event = Event.model_validate(record)
            except ValidationError as error:
                yield Reject(line_number, rejection_reason(error), raw_preview(json_bytes(record)))
                continue
            yield EventRow(
                session_id=event.session_id,
                event_id=event.event_id,
                ts=event.ts,
                type=str(event.type),
                agent=event.agent,
                parent_event_id=event.parent_event_id,
                role=event.role,
                tool=event.tool,
                input=event.input,
                content=event.content,
                is_error=event.is_error,
                tokens_in=event.tokens_in,
                tokens_out=event.tokens_out,
                source_line=line_number,
            )


ADAPTER = NativeAdapter()
