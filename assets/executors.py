"""Where a run's steps execute: in its own process (default), on Celery workers, or in Kubernetes pods.

Chosen once, at the definitions root, from `REVERIE_EXECUTOR` (as hooli merges executor settings only at the
root), so the same assets run on one machine or many without a code change (docs/operations.md):

- unset / `multiprocess`: Dagster's default, steps in subprocesses of the run;
- `in_process`: every step in the run's process;
- `celery`: steps are Celery tasks on the `dagster` queue, broker and result backend from
  `REVERIE_CELERY_BROKER` / `REVERIE_CELERY_BACKEND` (workers read the same variables through
  `deploy/celery/dagster_celery_config.py`);
- `k8s`: every step in its own Kubernetes Job (dagster-k8s), image and namespace from the run launcher's
  Helm values.

The CLI keeps running jobs in-process (`run_job`); runs launched by the UI, a schedule, a sensor, or
`job_for_workers` below use the executor chosen here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from dagster._core.definitions.reconstruct import ReconstructableJob

EXECUTOR_ENV = "REVERIE_EXECUTOR"
BROKER_ENV = "REVERIE_CELERY_BROKER"
BACKEND_ENV = "REVERIE_CELERY_BACKEND"
EXECUTORS = ("multiprocess", "in_process", "celery", "k8s")


class ExecutorChoiceError(ValueError):
    """REVERIE_EXECUTOR names no executor Reverie knows."""


def executor_from_env() -> dg.ExecutorDefinition | None:
    """The executor `REVERIE_EXECUTOR` names (None: Dagster's default multiprocess executor)."""
    kind = os.environ.get(EXECUTOR_ENV, "").strip().lower() or "multiprocess"
    if kind == "multiprocess":
        return None
    if kind == "in_process":
        return dg.in_process_executor
    if kind == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {"broker": {"env": BROKER_ENV}, "backend": {"env": BACKEND_ENV}}, name="celery"
        )
    if kind == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    raise ExecutorChoiceError(
        f"{EXECUTOR_ENV}={kind!r} is not an executor; choose one of {', '.join(EXECUTORS)}"
    )


def _definitions() -> dg.Definitions:
    """The code location's Definitions, built now from this process's environment: a module-level `defs`
    imported earlier may carry another executor."""
    from assets.definitions import build_definitions

    return build_definitions()


def job_for_workers(name: str) -> dg.JobDefinition:
    """A job of the code location, rebuilt by name in every process that runs one of its steps."""
    return _definitions().resolve_job_def(name)


def reconstructable_job(name: str) -> ReconstructableJob:
    """What `dg.execute_job` needs to hand a job's steps to other processes (Celery workers, pods): a
    pointer they can re-import, not the in-memory definition."""
    return dg.build_reconstructable_job("assets.executors", "job_for_workers", reconstructable_args=(name,))
