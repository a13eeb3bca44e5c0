"""Daily partitions span the days that hold data (a week at least), never every day since 1970."""

from __future__ import annotations

from datetime import date

import pytest

from assets.shared.partitions import PARTITIONS_FROM_ENV, daily_partitions_for, partition_start
from pipeline import lake
from pipeline.events import EVENTS_SCHEMA, SESSIONS_SCHEMA

TODAY = date(2026, 11, 29)


@pytest.fixture(autouse=True)
def _no_requested_day(monkeypatch):
    monkeypatch.delenv(PARTITIONS_FROM_ENV, raising=False)


def test_a_fresh_home_spans_the_last_week(reverie_home):
    assert partition_start(reverie_home, today=TODAY) == date(2026, 11, 22)


def test_the_span_starts_on_the_first_day_that_holds_data(reverie_home):
    lake.write_partition(reverie_home, "sessions", "2026-10-03", SESSIONS_SCHEMA.empty_table())
    (reverie_home.landing / "2026-09-30").mkdir(parents=True)
    (reverie_home.landing / "not-a-day").mkdir()
    assert partition_start(reverie_home, today=TODAY) == date(2026, 9, 30)
    # the same data, the same span: loading twice changes nothing
    assert partition_start(reverie_home, today=TODAY) == date(2026, 9, 30)


def test_an_undated_log_dated_1970_by_the_fixed_rule_widens_the_span_to_1970(reverie_home):
    """docs/formats.md: a log with no time in it or its path is dated 1970-01-01; its partition must exist."""
    lake.write_partition(reverie_home, "events", "1970-01-01", EVENTS_SCHEMA.empty_table())
    assert partition_start(reverie_home, today=TODAY) == date(1970, 1, 1)


def test_the_cli_widens_the_span_to_a_day_it_runs(reverie_home, monkeypatch):
    monkeypatch.setenv(PARTITIONS_FROM_ENV, "2026-11-01")
    assert partition_start(reverie_home, today=TODAY) == date(2026, 11, 1)
    keys = daily_partitions_for(reverie_home).get_partition_keys()
    assert keys[0] == "2026-11-01"
