"""The Dagster instance on Postgres, configured by the `dagster.yaml` that docs/operations.md gives.

The YAML is read from the doc itself, so the doc cannot drift from what works; the server is Debian's
PostgreSQL in a throwaway folder on 127.0.0.1 (skipped with the reason when it cannot start).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.home import ReverieHome
from tests.distributed.servers import postgres_server

pytestmark = pytest.mark.xdist_group("postgres")
OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def documented_instance_yaml() -> str:
    section = OPERATIONS.read_text().split("## 2. The Dagster instance on Postgres", 1)[1]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


def test_runs_and_the_dream_pool_live_in_postgres(reverie_home: ReverieHome, monkeypatch) -> None:
    from assets.runs import open_instance, run_job

    with postgres_server() as settings:
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        (reverie_home.dagster_home / "dagster.yaml").write_text(documented_instance_yaml())
        with open_instance(reverie_home) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            # what `dagster instance concurrency set dream 1` does
            instance.event_log_storage.set_concurrency_slots("dream", 1)
            assert instance.event_log_storage.get_concurrency_info("dream").slot_count == 1

        result = run_job("ingest_job", reverie_home)
        assert result.success
        with open_instance(reverie_home) as instance:
            assert [r.job_name for r in instance.get_runs()] == ["ingest_job"]
