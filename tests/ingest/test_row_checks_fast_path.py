"""`row_problem`'s one-expression fast path accepts a row only where its field-by-field checks would."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from pipeline.ingest import row_checks
from pipeline.ingest.base import EventRow

LATEST = row_checks.latest_ts(date(2026, 2, 1))
GOOD = EventRow("s", "e", datetime(2026, 1, 5, tzinfo=UTC), "message", tokens_in=3, source_line=1)


class Text(str):
    pass


VARIANTS = [
    {},
    {"parent_event_id": "p", "role": "user", "tool": "Bash", "content": "hi", "tokens_out": 0},
    {"ts": datetime(2026, 1, 5)},  # naive: made UTC, accepted by the slow path
    {"ts": datetime(2026, 1, 5, tzinfo=timezone(timedelta(hours=5)))},
    {"ts": datetime(1969, 12, 31, 23, tzinfo=UTC)},
    {"ts": LATEST + timedelta(microseconds=1)},
    {"ts": LATEST},
    {"ts": "2026-01-05"},
    {"session_id": 7},
    {"session_id": Text("s")},
    {"event_id": None},
    {"role": 3},
    {"content": ["x"]},
    {"is_error": 1},
    {"tokens_in": True},
    {"tokens_in": 2**63},
    {"tokens_in": -(2**63) + 1},
    {"tokens_out": 1.5},
    {"source_line": 2**64},
]


@pytest.mark.parametrize("changes", VARIANTS, ids=[str(v) for v in VARIANTS])
def test_fast_path_agrees_with_the_field_by_field_checks(
    changes: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    row = dataclasses.replace(GOOD, **changes)
    fast = row_checks._plainly_storable(row, LATEST)
    with_fast_path = row_checks.row_problem(row, LATEST)
    monkeypatch.setattr(row_checks, "_plainly_storable", lambda row, latest: False)
    slow = row_checks.row_problem(row, LATEST)
    assert with_fast_path == slow
    if fast:
        assert slow is None
