"""How the CLI submits a job: in this process, on REVERIE_HOME's instance, as a run of the code location.

A run started with `JobDefinition.execute_in_process` carries no origin: the UI lists it under no job (a
job's Runs tab and the Overview timeline filter on the `.dagster/repository` tag that only an origin adds)
and cannot re-execute it. Here the run is created the way the UI's own launches are, with the origin of
the code location `workspace.yaml` and `[tool.dg]` load (named `reverie`, module `assets.definitions`),
then executed in this process with the in-process executor, so the CLI keeps its results without a
daemon or a second Python.

Dagster has no public call that creates a run with an origin outside the webserver: the imports from
`dagster._core` below are the ones `dagster job launch` uses (dagster/_cli/job.py), and tests/dagster/test_runs.py
fails if an upgrade changes what they record.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG as RANGE_END_TAG
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_START_TAG as RANGE_START_TAG
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from assets.shared.partitions import PARTITIONS_FROM_ENV
from pipeline.home import ReverieHome, activate, instance_lock

CODE_LOCATION = "reverie"
"""The location name in workspace.yaml and `[tool.dg.project] code_location_name`: runs are filed under it."""
DEFINITIONS_MODULE = "assets.definitions"
REPOSITORY = "__repository__"  # the name Dagster gives the repository a `Definitions` object makes
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def code_location_origin() -> ManagedGrpcPythonEnvCodeLocationOrigin:
    """The origin the webserver gives the workspace's location: same name, same module."""
    return ManagedGrpcPythonEnvCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(
            executable_path=sys.executable,
            module_name=DEFINITIONS_MODULE,
            working_directory=str(PROJECT_ROOT),
        ),
        location_name=CODE_LOCATION,
    )


def job_origin(name: str) -> RemoteJobOrigin:
    return RemoteJobOrigin(
        repository_origin=RemoteRepositoryOrigin(code_location_origin(), REPOSITORY), job_name=name
    )


def run_job(
    name: str,
    home: ReverieHome,
    *,
    partition_key: str | None = None,
    partition_range: tuple[str, str] | None = None,
    run_config: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> dg.ExecutionResult:
    """Run job `name` of the code location on `home`'s instance and wait for it.

    Raises the step's error (as `execute_in_process` did), so the CLI can name it in one line.
    """
    activate(home)  # REVERIE_HOME is what the lakehouse resource reads when the run starts
    first_day = partition_key or (partition_range[0] if partition_range else None)
    if first_day is not None:
        cover_day(first_day)
    recon_job = ReconstructableRepository.for_module(
        DEFINITIONS_MODULE, "defs", working_directory=str(PROJECT_ROOT)
    ).get_reconstructable_job(name)
    job = recon_job.get_definition()
    run_tags = dict(tags or {})
    if partition_key is not None:
        run_tags.update(job.get_tags_for_partition_key(partition_key, selected_asset_keys=None))
    if partition_range is not None:
        run_tags.update({RANGE_START_TAG: partition_range[0], RANGE_END_TAG: partition_range[1]})
    config: dict[str, Any] = {
        "loggers": {"console": {"config": {"log_level": os.environ.get("REVERIE_LOG_LEVEL", "CRITICAL")}}},
    }
    if (
        job.executor_def.name == dg.multi_or_in_process_executor.name
    ):  # the default: this process, no subprocesses
        config["execution"] = {"config": {"in_process": {}}}
    # Otherwise REVERIE_EXECUTOR chose one (assets/executors.py): in_process already is; Celery or Kubernetes
    # steps go to the workers, and this call waits for them.
    if "REVERIE_WORKERS" in os.environ:
        config["resources"] = {"runtime": {"config": {"workers": int(os.environ["REVERIE_WORKERS"])}}}
    config.update(run_config or {})
    with open_instance(home) as instance:
        run = instance.create_run_for_job(
            job_def=job,
            run_config=config,
            tags=run_tags,
            remote_job_origin=job_origin(name),
            job_code_origin=recon_job.get_python_origin(),
        )
        return execute_run(recon_job, run, instance, raise_on_error=True)


def cover_day(day: str) -> None:
    """Make the daily partitions include `day` (see `assets.shared.partitions`).

    The span is fixed when the code location's modules load; for a day before it, they are dropped from
    this process and load again on the job's next lookup, now from `day`.
    """
    requested = os.environ.get(PARTITIONS_FROM_ENV)
    os.environ[PARTITIONS_FROM_ENV] = min(day, requested) if requested else day
    loaded = sys.modules.get("assets.shared.partitions")
    if loaded is None or day >= loaded.daily_partitions.start.date().isoformat():
        return
    for name in [m for m in sys.modules if m == "assets" or m.startswith("assets.")]:
        if name != __name__:
            del sys.modules[name]
    # the reconstructable job memoizes its definition by value: the same job name would return the old one
    ReconstructableJob.get_definition.cache_clear()
    ReconstructableJob.get_repository_definition.cache_clear()


def open_instance(home: ReverieHome) -> dg.DagsterInstance:
    """REVERIE_HOME's Dagster instance, opened under `instance_lock` so concurrent first uses of a fresh
    home initialise its SQLite storage once (see `pipeline.home.instance_lock`)."""
    activate(home)
    with instance_lock(home):
        return dg.DagsterInstance.get()
