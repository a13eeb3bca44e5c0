"""The adapter contract every log format implements.

An adapter reads one source file and yields normalized event rows or rejects. It never raises on bad
input: a malformed line becomes a `Reject` with the file, line and reason, and the good lines are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

RAW_PREVIEW_CHARS = 2_000


@dataclass(slots=True)
class EventRow:
    """One normalized event, before redaction and partitioning. `input` is any JSON-able value."""

    session_id: str
    event_id: str
    ts: datetime
    type: str
    agent: str = "main"
    parent_event_id: str | None = None
    role: str | None = None
    tool: str | None = None
    input: Any = None
    content: str | None = None
    is_error: bool = False
    tokens_in: int | None = None
    tokens_out: int | None = None
    source_line: int | None = None


@dataclass(slots=True)
class Reject:
    source_line: int | None
    reason: str
    raw: str | None = None


class Adapter(Protocol):
    """A log format. `name` becomes `source_format` in the lake."""

    name: ClassVar[str]
    description: ClassVar[str]
    path_pattern: ClassVar[str]  # an example of where such files live, shown by `reverie formats`

    def sniff(self, path: Path, head: bytes) -> float:
        """Confidence 0..1 that `path` (whose first bytes are `head`) is in this format."""
        ...

    def parse(self, path: Path) -> Iterator[EventRow | Reject]:
        """Yield rows and rejects for one file; never raise on malformed content."""
        ...
