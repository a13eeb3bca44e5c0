"""Deterministic ids and timestamps for formats that do not carry them, plus time parsing shared by adapters.

Re-ingesting a file must produce the same session and event ids (so partitions are replaced, not duplicated),
and the same timestamps (so a session lands in the same date partition on every machine). File modification
times differ across clones and copies, so they are never used. The rules, documented in docs/formats.md:

- session id: `<format>-<first 16 hex of sha256(file bytes)>`: stable wherever the file is copied, and two
  copies of the same recording are one session.
- clock: a date found in the file's path (`2026-01-02`, `2026/01/02`) at 00:00 UTC, else the Unix epoch;
  events are spaced one millisecond apart in file order, so ordering survives and durations read as ~0.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.ingest.base import RAW_PREVIEW_CHARS
from pipeline.ingest.jsonl import raw_preview
from pipeline.redaction import Redactor

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PATH_DATE = re.compile(r"(?<!\d)(20\d{2})[-/](\d{2})[-/](\d{2})(?!\d)")


def content_session_id(prefix: str, data: bytes) -> str:
    return f"{prefix}-{hashlib.sha256(data).hexdigest()[:16]}"


class SyntheticClock:
    """Hands out evenly spaced timestamps from a base derived only from the file's path and order."""

    def __init__(self, path: Path, base: datetime | None = None) -> None:
        self.base = base or base_time_from_path(path)
        self.ticks = 0

    def next(self) -> datetime:
        value = self.base + timedelta(milliseconds=self.ticks)
        self.ticks += 1
        return value


def base_time_from_path(path: Path) -> datetime:
    match = _PATH_DATE.search(path.as_posix())
    if match:
        try:
            return datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
        except ValueError:
            pass
    return EPOCH


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 text (with `Z` or offset), epoch seconds/milliseconds/nanoseconds, or None when unusable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        if number > 1e17:  # nanoseconds (OTel)
            number /= 1e9
        elif number > 1e14:  # microseconds
            number /= 1e6
        elif number > 1e11:  # milliseconds
            number /= 1e3
        try:
            return datetime.fromtimestamp(number, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return parse_time(int(text))
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def as_int(value: Any) -> int | None:
    """Token counts arrive as ints, floats or numeric strings depending on the exporter."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


_REDACTOR = Redactor()  # stateless: one for every reject, rather than a detector plan built per call


def safe_preview(data: bytes) -> str:
    """A reject's raw excerpt, redacted *before* it is cut: cutting first could leave half a key unrecognisable."""
    window = data[: RAW_PREVIEW_CHARS * 8].decode("utf-8", errors="replace")
    return raw_preview(_REDACTOR.redact(window).text.encode())


def quoted_value(value: str, limit: int = 40) -> str:
    """A bad value as a reject reason quotes it (`'2026-13-99'`): redacted before it is cut to `limit`, for the
    same reason as `safe_preview` (a reason is redacted again when stored, but by then a cut key is unknowable)."""
    return repr(_REDACTOR.redact(value[: limit * 8]).text[:limit])
