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


def test_a_fly_is_one_run_that_lands_stages_builds_and_scores_the_day(reverie_home, yesterday):
    """`reverie fly` is one run of `fly_job` (the batch, staging and the lake jobs' assets): the same
    materializations and checks the three separate runs recorded, the day's partitions on the daily assets."""
    from assets.loop import MISSION_TAG, fly_night
    from pipeline import lake
    from pipeline.loop_report import LoopSettings

    report = fly_night(reverie_home, yesterday, LoopSettings(missions=3))
    day = yesterday.isoformat()
    with open_instance(reverie_home) as instance:
        runs = instance.get_runs()
        assert [(r.job_name, r.status) for r in runs] == [("fly_job", dg.DagsterRunStatus.SUCCESS)]
        run = runs[0]
        listed = instance.get_runs(
            filters=dg.RunsFilter(tags={".dagster/repository": f"{REPOSITORY}@{CODE_LOCATION}"})
        )
        assert [r.run_id for r in listed] == [run.run_id]  # under its job in the UI, which can re-execute it
        assert run.tags["dagster/partition"] == day
        assert run.tags[MISSION_TAG] == "lunar"
        materialized = {
            entry.dagster_event.asset_key.to_user_string(): entry.dagster_event.partition
            for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        }
        checks = {
            (e.asset_key.to_user_string(), e.check_name): (e.passed, e.partition)
            for e in (
                entry.dagster_event.event_specific_data
                for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
            )
        }
    assert materialized == {
        "mission_batch": day,
        "staged_logs": None,
        "rejects": None,
        "events": day,
        "sessions": day,
        "outcomes": day,
        "session_outcomes": day,
    }
    assert checks == {
        ("events", "ids_present_and_unique"): (True, day),
        ("events", "timestamps_sane"): (True, day),
        ("sessions", "sessions_valid"): (True, day),
        ("outcomes", "every_session_scored"): (True, day),
    }
    assert report.missions == 3
    assert lake.read_table(reverie_home, "sessions", [day]).height == 3
    assert lake.read_table(reverie_home, "outcomes", [day])["session_id"].n_unique() == 3
