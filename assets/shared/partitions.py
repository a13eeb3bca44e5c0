"""Partitioning shared by every daily asset: one partition per UTC day."""

from __future__ import annotations

from datetime import date, timedelta

from dagster import DailyPartitionsDefinition

# Logs that carry no timestamps at all are dated 1970-01-01 by a fixed rule (see docs/formats.md), so
# partitions start there; range runs only visit days that hold data, so the span costs nothing. The
# current day is included (end_offset=1) so today's missions can be materialized before midnight.
PARTITION_START = "1970-01-01"
daily_partitions = DailyPartitionsDefinition(start_date=PARTITION_START, end_offset=1, timezone="UTC")


def days_in(start: str, end: str) -> list[date]:
    """Partition keys of a range (inclusive), as dates."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def days_with_data(start: str, end: str, *candidates: list[date] | list[str]) -> list[date]:
    """The days of a range that some source has data for: a range run skips the empty days in between."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    found = {d if isinstance(d, date) else date.fromisoformat(d) for group in candidates for d in group}
    return sorted(d for d in found if first <= d <= last)
