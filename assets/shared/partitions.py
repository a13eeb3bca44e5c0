"""Partitioning shared by every daily asset: one partition per UTC day, from the first day that holds data.

The span is read from REVERIE_HOME when the code location loads (the lake's partition folders and the
dated landing folders, no file contents), so the UI shows the days that hold data and not every day since
1970: its partitions tab, health bars and launch dialog stay on the real days. A week before today is always
included (the dream window), so a fresh home can fly, dream and evaluate its first nights.

The CLI runs days before any of their data exists (a new home's first nights, a backfill of old logs): it
sets `REVERIE_PARTITIONS_FROM` to the earliest day it runs and loads the code location afresh if that day
precedes the span (`assets.runs`); the UI shows those days on its next load ("Reload", or `reverie ui`),
by then from the data they left.
Logs that carry no time at all are dated by a fixed rule (docs/formats.md: a date in their path, else
1970-01-01), which is idempotent; such a log widens the span to its day, since that is where its data is.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta

from dagster import DailyPartitionsDefinition

from pipeline import lake
from pipeline.home import ReverieHome

PARTITIONS_FROM_ENV = "REVERIE_PARTITIONS_FROM"
"""An ISO day the span must include, set by the CLI for the days it is about to run."""
FLOOR_DAYS = 7
"""Days before today that are always partitions, data or not: the default dream window."""
_LAKE_TABLES = ("events", "sessions", "outcomes", "rejects")
_LANDING_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def first_day_with_data(home: ReverieHome) -> date | None:
    """The earliest day any lake table or dated landing folder holds, or None for an empty home."""
    days = [day for table in _LAKE_TABLES for day in lake.partitions(home, table)]
    if home.landing.is_dir():
        days += [p.name for p in home.landing.iterdir() if p.is_dir() and _LANDING_DAY.match(p.name)]
    found = []
    for day in days:
        try:
            found.append(date.fromisoformat(day))
        except ValueError:  # a folder named like a date that is not one (2026-13-40) holds no partition
            continue
    return min(found, default=None)


def partition_start(home: ReverieHome, today: date | None = None) -> date:
    floor = (today or datetime.now(UTC).date()) - timedelta(days=FLOOR_DAYS)
    days = [floor, first_day_with_data(home)]
    if requested := os.environ.get(PARTITIONS_FROM_ENV):
        days.append(date.fromisoformat(requested))
    return min(d for d in days if d is not None)


def daily_partitions_for(home: ReverieHome) -> DailyPartitionsDefinition:
    # end_offset=1: the current day is a partition, so today's missions can be materialized before midnight
    return DailyPartitionsDefinition(
        start_date=partition_start(home).isoformat(), end_offset=1, timezone="UTC"
    )


daily_partitions = daily_partitions_for(ReverieHome.from_env())


def days_with_data(start: str, end: str, *candidates: list[date] | list[str]) -> list[date]:
    """The days of a range that some source has data for: a range run skips the empty days in between."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    found = {d if isinstance(d, date) else date.fromisoformat(d) for group in candidates for d in group}
    return sorted(d for d in found if first <= d <= last)
