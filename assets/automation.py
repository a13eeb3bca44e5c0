"""Jobs, schedules and sensors: how the loop runs by itself once `dagster dev` (or a daemon) is up.

Chain: the daily mission schedule flies today's batch of every available mission into landing -> the
landing sensor stages new files -> a run-status sensor builds the lake partitions those files touched -> the
nightly schedule dreams over the day that just ended and evaluates each mission's candidate. The schedules
build their runs with the loop's own configs (`assets/loop.py`), one run per mission, tagged with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from assets.loop import batch_run_config, mission_tags, nightly_run_config
from assets.shared.partitions import daily_partitions
from pipeline.home import ReverieHome
from pipeline.loop_report import LoopSettings
from pipeline.missions.registry import available_missions

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=["staged_logs", "rejects"],
    description="Stage landing files (or given paths) into the lake; rebuild the rejects of the days touched.",
)
lake_job = dg.define_asset_job(
    "lake_job",
    selection=["events", "sessions", "outcomes", "session_outcomes"],
    partitions_def=daily_partitions,
    description="Build events and sessions partitions from staged logs, then score them.",
)
mission_job = dg.define_asset_job(
    "mission_batch_job",
    selection=["mission_batch"],
    partitions_def=daily_partitions,
    description="Fly a batch of a mission (config `mission`: lunar | coding) with its playbook in force.",
)
nightly_job = dg.define_asset_job(
    "nightly_dream_job",
    selection=["playbook", "playbook_evaluation"],
    partitions_def=daily_partitions,
    description="Dream a mission's playbook over the window ending on the partition day, then evaluate and "
    "maybe promote (config `mission` on both steps).",
)

fly_job = dg.define_asset_job(
    "fly_job",
    selection=mission_job.selection | ingest_job.selection | lake_job.selection,
    partitions_def=daily_partitions,
    description="Fly a day's batch of a mission, stage its logs, build and score the day's lake partitions: "
    "what `reverie fly` and each night of `reverie demo` run, as one run (config `mission` as in "
    "mission_batch_job).",
)

score_job = dg.define_asset_job(
    "score_job",
    selection=["outcomes", "session_outcomes"],
    partitions_def=daily_partitions,
    description="Re-score session partitions (after a criteria change).",
)
dream_job = dg.define_asset_job(
    "dream_job",
    selection=["playbook"],
    partitions_def=daily_partitions,
    description="Dream only: write the night's candidate playbook.",
)
evaluate_job = dg.define_asset_job(
    "evaluate_job",
    selection=["playbook_evaluation"],
    partitions_def=daily_partitions,
    description="Evaluate the night's candidate on held-out missions and apply the promotion policy.",
)

JOBS = [ingest_job, lake_job, mission_job, fly_job, nightly_job, score_job, dream_job, evaluate_job]


@dg.schedule(
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    name="nightly_dream_schedule",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="At 02:00 UTC, each available mission dreams over (and evaluates) the day that just ended.",
)
def nightly_dream_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """One run per mission: the missions' lines are independent, so one failing never holds the other back."""
    now = context.scheduled_execution_time or datetime.now(UTC)
    day = (now - timedelta(days=1)).date().isoformat()
    return _one_run_per_mission("nightly", day, nightly_run_config)


@dg.schedule(
    job=mission_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="At 06:00 UTC, each available mission flies the day's batch with what the night promoted.",
)
def daily_mission_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """One training batch per mission, with the loop's default settings."""
    day = (context.scheduled_execution_time or datetime.now(UTC)).date().isoformat()
    return _one_run_per_mission("missions", day, batch_run_config)


def _one_run_per_mission(
    kind: str, day: str, run_config: Callable[[LoopSettings], dict[str, Any]]
) -> list[dg.RunRequest]:
    """A run of `day` for every mission whose code is present (coding once it lands), with the loop's
    default settings; its run key `<kind>-<mission>-<day>` makes a second tick of the same day a no-op."""
    return [
        dg.RunRequest(
            run_key=f"{kind}-{settings.mission}-{day}",
            partition_key=day,
            run_config=run_config(settings),
            tags=mission_tags(settings),
        )
        for settings in (LoopSettings(mission=name) for name in available_missions())
    ]


def _landing_fingerprint(landing: Path) -> dict[str, float]:
    files = (
        [p for p in landing.rglob("*") if p.is_file() and not p.name.startswith(".")]
        if landing.exists()
        else []
    )
    return {"count": len(files), "max_mtime": max((p.stat().st_mtime for p in files), default=0.0)}


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Every 30 s: when files in REVERIE_HOME/landing are added or changed, record an observation "
    "of landing_logs and stage them (ingest_job).",
)
def landing_sensor(context: dg.SensorEvaluationContext):
    """New or changed files in REVERIE_HOME/landing trigger a staging run."""
    fingerprint = _landing_fingerprint(ReverieHome.from_env().landing)
    cursor = json.dumps(fingerprint, sort_keys=True)
    if fingerprint["count"] == 0 or cursor == context.cursor:
        return dg.SkipReason("no new files in landing")
    observed = dg.AssetObservation("landing_logs", metadata={"files": int(fingerprint["count"])})
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=cursor)], asset_events=[observed], cursor=cursor
    )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingest_job],
    request_job=lake_job,
    description="After a successful staging run, build the lake (lake_job) over exactly the session days "
    "the staged files touched.",
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def staged_to_lake_sensor(context: dg.RunStatusSensorContext):
    """After staging, rebuild exactly the session-date partitions the staged files touched."""
    event = context.instance.get_latest_materialization_event(dg.AssetKey("staged_logs"))
    if event is None or event.asset_materialization is None:
        return dg.SkipReason("no staging materialization")
    dates = event.asset_materialization.metadata.get("session_dates")
    days = sorted(dates.value) if dates is not None else []
    if not days:
        return dg.SkipReason("staging touched no session dates")
    return dg.RunRequest(
        run_key=f"lake-{context.dagster_run.run_id}",
        tags={RANGE_START_TAG: days[0], RANGE_END_TAG: days[-1]},
    )


SCHEDULES = [nightly_dream_schedule, daily_mission_schedule]
SENSORS = [landing_sensor, staged_to_lake_sensor]
