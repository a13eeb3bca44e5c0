"""A home with one real session dated yesterday: inside the daily partitions' span, whatever today is."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

NATIVE_LOG = Path(__file__).resolve().parents[1] / "fixtures" / "native" / "mission-0007.jsonl"


@pytest.fixture
def yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


@pytest.fixture
def landed_home(reverie_home, yesterday: date):
    """tests/fixtures/native/mission-0007.jsonl (a lunar mission that starts at 23:59:58 and lands after
    midnight) moved to yesterday and today, dropped in landing."""
    today = yesterday + timedelta(days=1)
    text = (
        NATIVE_LOG.read_text()
        .replace("2026-03-01", yesterday.isoformat())
        .replace("2026-03-02", today.isoformat())
    )
    target = reverie_home.landing / "mission-0007.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return reverie_home
