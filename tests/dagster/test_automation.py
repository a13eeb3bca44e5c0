"""Schedules evaluated and sensors ticked the Dagster way, against a real temporary REVERIE_HOME."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from assets.automation import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    daily_mission_schedule,
    landing_sensor,
    nightly_dream_schedule,
    staged_to_lake_sensor,
)
from assets.definitions import build_resources
from assets.ingest.assets import staged_logs


def test_nightly_schedule_targets_the_day_that_just_ended():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 10, 2, 0, tzinfo=UTC))
    requests = nightly_dream_schedule(context)
    # one run per mission: the missions' playbook lines are independent
    assert {r.tags["reverie/mission"] for r in requests} == {"lunar", "coding"}
    for request in requests:
        assert request.partition_key == "2026-03-09"
        assert request.run_key == f"nightly-{request.tags['reverie/mission']}-2026-03-09"


def test_mission_schedule_flies_the_current_day():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    requests = daily_mission_schedule(context)
    assert {r.tags["reverie/mission"] for r in requests} == {"lunar", "coding"}
    assert {r.partition_key for r in requests} == {"2026-03-10"}


def test_landing_sensor_observes_landing_and_requests_a_run_for_new_files_once(landed_home):
    with dg.instance_for_test() as instance:
        result = landing_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(result, dg.SensorResult)
        assert len(result.run_requests) == 1
        # the tick observes landing_logs: the UI shows when files arrived and how many
        [observed] = result.asset_events
        assert observed.asset_key == dg.AssetKey("landing_logs")
        assert observed.metadata["files"].value == 1
        # the next tick carries the cursor: nothing new, no run
        again = landing_sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor))
        assert isinstance(again, dg.SkipReason)
        (landed_home.landing / "another.jsonl").write_text(
            (landed_home.landing / "mission-0007.jsonl").read_text()
        )
        changed = landing_sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor))
        assert isinstance(changed, dg.SensorResult) and changed.run_requests


def test_empty_landing_skips(reverie_home):
    with dg.instance_for_test() as instance:
        assert isinstance(landing_sensor(dg.build_sensor_context(instance=instance)), dg.SkipReason)


def test_after_staging_the_lake_is_built_over_the_days_it_touched(landed_home, yesterday):
    with dg.instance_for_test() as instance:
        staged = dg.materialize([staged_logs], resources=build_resources(landed_home), instance=instance)
        assert staged.success
        context = dg.build_run_status_sensor_context(
            sensor_name="staged_to_lake_sensor",
            dagster_instance=instance,
            dagster_run=staged.dagster_run,
            dagster_event=staged.get_run_success_event(),
        )
        request = staged_to_lake_sensor(context)
        assert isinstance(request, dg.RunRequest)
        assert request.tags[RANGE_START_TAG] == request.tags[RANGE_END_TAG] == yesterday.isoformat()
