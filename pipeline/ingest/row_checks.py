"""The last gate before a parsed row is staged: a row the lake cannot hold becomes a reject, never a crash.

Adapters turn every line they cannot read into a `Reject`, but a line they *can* read may still carry a
value the staged Parquet cannot hold: a non-string `message.role` copied through from a foreign log, a
token count beyond 64 bits, a payload nested deeper than the JSON serializer allows, a timestamp no daily
partition can hold. Without this gate one such row made the strict polars schema (or orjson) raise and
abort the whole ingest, other files included. Here each row is checked on its own, so the offending line
is quarantined with its file, line and reason, and every other row is kept.

Timestamp rule (see docs/formats.md): an event dated before 1970-01-01 UTC, or after the end of the UTC
day it is staged on, is rejected with reason `timestamp out of range`. Daily partitions run from
1970-01-01 to the current day, so a row outside that span would make the lake step fail for its whole
run; rejecting it (rather than clamping it to a boundary) keeps every stored timestamp one the log
actually said.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import orjson

from pipeline.ingest.base import EventRow, Reject

EARLIEST_TS = datetime(1970, 1, 1, tzinfo=UTC)
_INT64_MAX = 2**63 - 1
_TEXT_FIELDS = ("session_id", "event_id", "type", "agent")
_OPTIONAL_TEXT_FIELDS = ("parent_event_id", "role", "tool", "content")
_OPTIONAL_COUNT_FIELDS = ("tokens_in", "tokens_out", "source_line")


def latest_ts(staged_on: date | None = None) -> datetime:
    """The end of the UTC day `staged_on` (default: today): the newest timestamp a partition can hold."""
    day = staged_on or datetime.now(UTC).date()
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC) - timedelta(microseconds=1)


def storable_time(ts: datetime | None, staged_on: date | None = None) -> datetime | None:
    """`ts` when a partition can hold it (see the timestamp rule above), else None: adapters that derive a
    session's start or end from many records take it from these, so one record dated 1969 or 9999 is
    rejected on its own line instead of taking the session's start event with it."""
    if ts is None or time_problem(ts, latest_ts(staged_on)) is not None:
        return None
    return ts


def input_text(value: object) -> str | None:
    """`input` as the JSON text staging stores. Raises `TypeError` (orjson's encode error) when the value
    cannot be serialized at all, e.g. nested deeper than orjson's 255 levels."""
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # Non-JSON leaves (a datetime, a set) are stored as their text; recursion errors raise again.
        return orjson.dumps(value, default=str).decode()


def _type_name(value: object) -> str:
    return (
        "list" if isinstance(value, list) else "object" if isinstance(value, dict) else type(value).__name__
    )


def _plainly_storable(row: EventRow, latest: datetime) -> bool:
    """The common case in one expression: exact built-in types, counts inside 64 bits, an aware timestamp in
    range. True only where `row_problem`'s checks all pass; anything else (a str subclass, a naive
    timestamp) goes through them one by one. Half the cost of those checks, paid on every row."""
    ts, tokens_in, tokens_out, line = row.ts, row.tokens_in, row.tokens_out, row.source_line
    return (
        type(row.session_id) is str
        and type(row.event_id) is str
        and type(row.type) is str
        and type(row.agent) is str
        and (row.parent_event_id is None or type(row.parent_event_id) is str)
        and (row.role is None or type(row.role) is str)
        and (row.tool is None or type(row.tool) is str)
        and (row.content is None or type(row.content) is str)
        and type(row.is_error) is bool
        and (tokens_in is None or (type(tokens_in) is int and -_INT64_MAX <= tokens_in <= _INT64_MAX))
        and (tokens_out is None or (type(tokens_out) is int and -_INT64_MAX <= tokens_out <= _INT64_MAX))
        and (line is None or (type(line) is int and -_INT64_MAX <= line <= _INT64_MAX))
        and type(ts) is datetime
        and ts.tzinfo is not None
        and EARLIEST_TS <= ts <= latest
    )


def row_problem(row: EventRow, latest: datetime) -> str | None:
    """Why `row` cannot be staged, or None. Reasons name the field and the type found, never the value
    (session text is untrusted and may hold a secret)."""
    if _plainly_storable(row, latest):
        return None
    for name in _TEXT_FIELDS:
        value = getattr(row, name)
        if not isinstance(value, str):
            return f"wrong type for {name}: {_type_name(value)}, expected text"
    for name in _OPTIONAL_TEXT_FIELDS:
        value = getattr(row, name)
        if value is not None and not isinstance(value, str):
            return f"wrong type for {name}: {_type_name(value)}, expected text"
    if not isinstance(row.is_error, bool):
        return f"wrong type for is_error: {_type_name(row.is_error)}, expected true/false"
    for name in _OPTIONAL_COUNT_FIELDS:
        value = getattr(row, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            return f"wrong type for {name}: {_type_name(value)}, expected an integer"
        if not -_INT64_MAX <= value <= _INT64_MAX:
            return f"{name} out of range: more than 64 bits"
    if not isinstance(row.ts, datetime):
        return f"wrong type for ts: {_type_name(row.ts)}, expected a timestamp"
    return time_problem(row.ts, latest)


def time_problem(ts: datetime, latest: datetime | None = None) -> str | None:
    """Why no daily partition can hold `ts` (the timestamp rule above), or None."""
    latest = latest or latest_ts()
    aware = ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    if aware < EARLIEST_TS:
        return f"timestamp out of range: year {aware.astimezone(UTC).year} is before 1970"
    if aware > latest:
        return f"timestamp out of range: after the day it was ingested ({latest.date().isoformat()})"
    return None


def checked_rows(
    rows: list[EventRow], staged_on: date | None = None
) -> tuple[list[EventRow], list[str | None], list[Reject]]:
    """Split parsed rows into those staging can hold (with their serialized `input`) and rejects.

    Naive timestamps are made UTC on the kept rows, as the lake reads them, so rows from one file always
    compare (a mix of naive and aware datetimes would raise when sessions are summarized).
    """
    latest = latest_ts(staged_on)
    kept: list[EventRow] = []
    inputs: list[str | None] = []
    rejects: list[Reject] = []
    for row in rows:
        problem = row_problem(row, latest)
        text: str | None = None
        if problem is None:
            try:
                text = input_text(row.input)
            except (TypeError, ValueError) as error:  # orjson: recursion limit, integer too large, ...
                problem = f"input cannot be stored as JSON: {error}"
        if problem is not None:
            rejects.append(Reject(row.source_line if isinstance(row.source_line, int) else None, problem))
            continue
        if row.ts.tzinfo is None:
            row.ts = row.ts.replace(tzinfo=UTC)
        kept.append(row)
        inputs.append(text)
    return kept, inputs, rejects
