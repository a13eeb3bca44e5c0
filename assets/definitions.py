"""The code location's root module: `dg dev` ([tool.dg] in pyproject.toml) and `dagster dev -w
workspace.yaml` load `defs` from here, as code location `reverie`.

It only assembles: each domain package (assets/ingest, outcomes, missions, dreaming) holds its assets and
checks, assets/automation.py the jobs, schedules and sensors, resources/ the resources, and the work itself
is plain functions in `pipeline/`. The CLI submits runs of these jobs through `assets.runs`.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from assets.automation import JOBS, SCHEDULES, SENSORS
from assets.dreaming.assets import playbook
from assets.dreaming.evaluation import playbook_evaluation
from assets.dreaming.tables import LAKE_TABLE_SPECS
from assets.executors import executor_from_env
from assets.ingest.assets import events, landing_logs, sessions, staged_logs
from assets.missions.assets import mission_batch
from assets.outcomes.assets import outcomes, session_outcomes
from assets.runs import open_instance, run_job  # noqa: F401  (the CLI's entry points, kept importable here)
from pipeline.home import ReverieHome
from resources import LakehouseResource, LLMResource, MissionRuntimeResource


def build_resources(home: ReverieHome | None = None) -> dict[str, Any]:
    """`home` None: the lakehouse follows REVERIE_HOME when a run starts (see `LakehouseResource`)."""
    return {
        "lakehouse": LakehouseResource(
            home=str(home.root) if home else None, lake=home.lake_location if home else None
        ),
        "llm": LLMResource(),
        "runtime": MissionRuntimeResource(),
    }


def build_definitions(home: ReverieHome | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=dg.with_source_code_references(
            [
                landing_logs,
                mission_batch,
                staged_logs,
                events,
                sessions,
                outcomes,
                session_outcomes,
                playbook,
                playbook_evaluation,
                *LAKE_TABLE_SPECS,
            ]
        ),
        jobs=JOBS,
        schedules=SCHEDULES,
        sensors=SENSORS,
        resources=build_resources(home),
        executor=executor_from_env(),
    )


defs = build_definitions()
