"""Partitioning shared by every daily asset: one partition per UTC day."""

from __future__ import annotations

from datetime import date, timedelta

from dagster import DailyPartitionsDefinition

# Agent logs in the wild go back a few years; the current day is included (end_offset=1) so today's
# missions and logs can be materialized before midnight.
PARTITION_START = "2020-01-01"
daily_partitions = DailyPartitionsDefinition(start_date=PARTITION_START, end_offset=1, timezone="UTC")


def days_in(start: str, end: str) -> list[date]:
    """Partition keys of a range (inclusive), as dates."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
