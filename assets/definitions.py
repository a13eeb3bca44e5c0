"""The Dagster code location: `dagster dev -w workspace.yaml` loads `defs` from here.

This module only assembles; the assets are thin wrappers over plain functions in `pipeline/`.
`run_job` lets the CLI execute the same jobs on the same instance (REVERIE_HOME/dagster), so every CLI
run shows in the UI.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import dagster as dg

from assets.automation import JOBS, RANGE_END_TAG, RANGE_START_TAG, SCHEDULES, SENSORS
from assets.dreaming import playbook
from assets.evaluation import playbook_evaluation
from assets.executors import executor_from_env
from assets.ingest import landing_logs, session_events, sessions, staged_logs
from assets.missions import mission_batch
from assets.outcomes import outcome_scores
from pipeline.home import ReverieHome, activate, instance_lock
from resources import LakehouseResource, LLMResource, MissionRuntimeResource


def build_resources(home: ReverieHome) -> dict[str, Any]:
    return {
        "lakehouse": LakehouseResource(home=str(home.root), lake=home.lake_location),
        "llm": LLMResource(),
        "runtime": MissionRuntimeResource(workers=int(os.environ.get("REVERIE_WORKERS", "2"))),
    }


def build_definitions(home: ReverieHome | None = None) -> dg.Definitions:
    home = home or ReverieHome.from_env()
    return dg.Definitions(
        assets=[landing_logs, mission_batch, staged_logs, session_events, sessions, outcome_scores, playbook, playbook_evaluation],
        jobs=JOBS,
        schedules=SCHEDULES,
        sensors=SENSORS,
        resources=build_resources(home),
        executor=executor_from_env(),
    )


defs = build_definitions()


@lru_cache(maxsize=8)
def _jobs_for(root: str, lake: str | None, workers: str) -> dg.Definitions:
    """One Definitions per home and worker setting in a process: resolving a job walks the whole asset
    graph, and `reverie demo` runs several jobs a night."""
    return build_definitions(ReverieHome.at(Path(root), lake=lake))


def run_job(
    name: str,
    home: ReverieHome,
    *,
    partition_key: str | None = None,
    partition_range: tuple[str, str] | None = None,
    run_config: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Execute a job in this process on the persistent instance, so the run is recorded for the UI."""
    activate(home)
    job = _jobs_for(
        str(home.root), home.lake_location, os.environ.get("REVERIE_WORKERS", "2")
    ).resolve_job_def(name)
    run_tags = dict(tags or {})
    if partition_range is not None:
        run_tags.update({RANGE_START_TAG: partition_range[0], RANGE_END_TAG: partition_range[1]})
    config = {"loggers": {"console": {"config": {"log_level": os.environ.get("REVERIE_LOG_LEVEL", "CRITICAL")}}}}
    config.update(run_config or {})
    with open_instance(home) as instance:
        return job.execute_in_process(
            run_config=config, instance=instance, partition_key=partition_key, tags=run_tags
        )


def open_instance(home: ReverieHome) -> dg.DagsterInstance:
    """REVERIE_HOME's Dagster instance, opened under `instance_lock` so concurrent first uses of a fresh
    home initialise its SQLite storage once (see `pipeline.home.instance_lock`)."""
    activate(home)
    with instance_lock(home):
        return dg.DagsterInstance.get()
