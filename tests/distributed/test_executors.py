"""The executor chosen by REVERIE_EXECUTOR at the definitions root, and the dream's concurrency pool."""

from __future__ import annotations

import pytest

from assets.definitions import defs  # noqa: F401  built now, before a test sets REVERIE_EXECUTOR
from assets.executors import ExecutorChoiceError, executor_from_env, reconstructable_job


@pytest.mark.parametrize(
    ("setting", "name"),
    [("", None), ("multiprocess", None), ("in_process", "in_process"), ("celery", "celery"), ("k8s", "k8s")],
)
def test_the_setting_names_the_executor(
    setting: str, name: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVERIE_EXECUTOR", setting)
    executor = executor_from_env()
    assert (executor.name if executor else None) == name


def test_an_unknown_executor_is_refused_with_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVERIE_EXECUTOR", "spark")
    with pytest.raises(ExecutorChoiceError, match="celery, k8s"):
        executor_from_env()


def test_workers_rebuild_the_job_with_the_executor_of_their_environment(reverie_home, monkeypatch) -> None:
    monkeypatch.setenv("REVERIE_EXECUTOR", "celery")
    recon = reconstructable_job("lake_job")
    assert recon.get_definition().executor_def.name == "celery"
    pointer = recon.get_python_origin().get_repo_pointer().describe()  # what a worker re-imports
    assert "assets.executors" in pointer


def test_dreams_share_one_concurrency_pool(reverie_home) -> None:
    from assets.dreaming.assets import playbook

    assert playbook.op.pool == "dream"
