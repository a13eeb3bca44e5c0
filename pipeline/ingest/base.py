"""The adapter contract every log format implements.

An adapter reads one source file and yields normalized event rows or rejects. It never raises on bad
input: a malformed line becomes a `Reject` with the file, line and reason, and the good lines are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
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
    n_redactions: int = 0  # secrets replaced in its identifiers or across blocks; staging adds the rest


@dataclass(slots=True)
class Reject:
    source_line: int | None
    reason: str
    raw: str | None = None


@dataclass(slots=True)
class RecordTally:
    """Records an adapter read but turned into no event, by record type: the early warning of a format change.

    `ignored` counts types the adapter knows and skips on purpose (bookkeeping such as snapshots or progress
    ticks); `unknown` counts types it has never heard of. A new `unknown` type in a report is the day a tool
    changed what it writes, seen before any number downstream quietly drifts.
    """

    ignored: dict[str, int] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)

    def skip(self, kind: object, *, known: bool) -> None:
        counts = self.ignored if known else self.unknown
        key = str(kind)[:80] if kind is not None else "(no type)"
        counts[key] = counts.get(key, 0) + 1

    def merge(self, other: RecordTally) -> None:
        for mine, theirs in ((self.ignored, other.ignored), (self.unknown, other.unknown)):
            for key, count in theirs.items():
                mine[key] = mine.get(key, 0) + count

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"ignored": dict(sorted(self.ignored.items())), "unknown": dict(sorted(self.unknown.items()))}


class Adapter(Protocol):
    """A log format. `name` becomes `source_format` in the lake."""

    name: ClassVar[str]
    description: ClassVar[str]
    path_pattern: ClassVar[str]  # an example of where such files live, shown by `reverie formats`

    def sniff(self, path: Path, head: bytes) -> float:
        """Confidence 0..1 that `path` (whose first bytes are `head`) is in this format."""
        ...

    def parse(
        self, path: Path, data: bytes | None = None, tally: RecordTally | None = None
    ) -> Iterator[EventRow | Reject]:
        """Yield rows and rejects for one file; never raise on malformed content. Records read but turned
        into no event are counted in `tally` (when given), known-but-ignored apart from unknown."""
        ...
