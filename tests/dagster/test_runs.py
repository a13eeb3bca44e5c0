"""CLI runs are runs of the code location: the UI lists them under their job (and can re-execute them)."""

from __future__ import annotations

import dagster as dg

from assets.runs import CODE_LOCATION, REPOSITORY, open_instance, run_job


def test_a_cli_run_carries_the_code_location_origin(reverie_home):
    result = run_job("ingest_job", reverie_home)
    assert result.success
    with open_instance(reverie_home) as instance:
        # the filter a job's Runs tab and the Overview timeline use: the repository label tag
        label = f"{REPOSITORY}@{CODE_LOCATION}"
        listed = instance.get_runs(
            filters=dg.RunsFilter(job_name="ingest_job", tags={".dagster/repository": label})
        )
        assert [r.run_id for r in listed] == [result.run_id]
        run = listed[0]
        assert run.remote_job_origin.location_name == CODE_LOCATION
        assert run.status == dg.DagsterRunStatus.SUCCESS
        # the run's materializations are recorded on the instance the UI reads
        assert instance.get_latest_materialization_event(dg.AssetKey("staged_logs")) is not None


def test_a_partitioned_cli_run_is_tagged_with_its_partition(landed_home, yesterday):
    assert run_job("ingest_job", landed_home).success
    result = run_job("lake_job", landed_home, partition_range=(yesterday.isoformat(), yesterday.isoformat()))
    assert result.success
    day = yesterday.isoformat()
    with open_instance(landed_home) as instance:
        record = instance.get_latest_materialization_event(dg.AssetKey("sessions"))
        assert record.asset_materialization.partition == day


def test_a_cli_run_for_a_day_before_the_span_widens_it(reverie_home, monkeypatch):
    """A backfill of old logs runs days the code location did not know when it loaded (its span starts a
    week ago on an empty home): the run widens the span instead of failing on an unknown partition."""
    from datetime import UTC, datetime, timedelta

    from assets.shared.partitions import PARTITIONS_FROM_ENV

    monkeypatch.delenv(PARTITIONS_FROM_ENV, raising=False)
    old = (datetime.now(UTC).date() - timedelta(days=60)).isoformat()
    result = run_job("lake_job", reverie_home, partition_range=(old, old))
    assert result.success
    with open_instance(reverie_home) as instance:
        record = instance.get_latest_materialization_event(dg.AssetKey("events"))
        assert record.asset_materialization.partition == old
