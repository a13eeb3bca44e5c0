"""A 10-day backfill on Dagster's Celery executor: Redis broker, two Celery worker processes, the lake on S3.

Every server runs on 127.0.0.1 and is started and stopped here (moto's S3 server, Debian's redis-server, two
`celery -A dagster_celery.app worker` processes); a server that cannot start skips the module with the reason.
The runs are submitted the way a daemon or the UI submits them (`execute_job` on a reconstructable job), a
few at once, so both workers write different partitions of the same tables at the same time. Then the same
logs go through the single-machine path (in-process, local lake) and both lakes and the last night's playbook
must agree: every row present once, the playbook byte for byte.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from assets.definitions import defs  # noqa: F401  built now, before a test sets REVERIE_EXECUTOR
from pipeline import lake
from pipeline.home import ReverieHome, activate
from pipeline.playbooks.store import PLAYBOOK_JSON, PlaybookStore, version_for
from tests.distributed.servers import die_with_parent, environment, moto_s3_server, redis_server, stop

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("celery")]

REPO = Path(__file__).resolve().parents[2]
START = date(2026, 3, 1)
DAYS = [(START + timedelta(days=i)).isoformat() for i in range(10)]
NIGHTS = DAYS[-3:]  # dreamed in order; the last one's window covers 7 of the 10 days
MISSIONS = 6  # per day: small batches keep the module within a few minutes on 2 cores
SUBMITTED_AT_ONCE = 2  # runs in flight, so both workers write different partitions at the same time
WORKERS = ("worker-a", "worker-b")


@dataclass(frozen=True)
class Cluster:
    home: ReverieHome
    worker_logs: list[Path]


def _wait_for_workers(broker: str, logs: list[Path], processes: list[subprocess.Popen]) -> None:
    from celery import Celery

    app = Celery(broker=broker)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            pytest.skip(
                "a Celery worker exited at start: " + " | ".join(log.read_text()[-400:] for log in logs)
            )
        if len(app.control.ping(timeout=1.0)) == len(processes):
            return
    pytest.skip("the Celery workers did not answer a ping within 90 s")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    from assets.runs import open_instance
    from pipeline.storage import reset_filesystems

    logs = tmp_path_factory.mktemp("servers")
    with moto_s3_server(logs) as s3, redis_server(logs) as redis_url, pytest.MonkeyPatch.context() as env:
        home = ReverieHome.at(tmp_path_factory.mktemp("distributed") / "home", lake=s3.lake_url)
        settings = {
            **s3.env,
            "REVERIE_HOME": str(home.root),
            "REVERIE_LAKE": s3.lake_url,
            "DAGSTER_HOME": str(home.dagster_home),
            "REVERIE_EXECUTOR": "celery",
            "REVERIE_CELERY_BROKER": redis_url,
            "REVERIE_CELERY_BACKEND": redis_url,
            "REVERIE_WORKERS": "1",
            # Every process loads the code location with the backfill's first day inside its partitions (the
            # span otherwise starts at the first day holding data, and the lake is empty at start).
            "REVERIE_PARTITIONS_FROM": DAYS[0],
        }
        for name, value in settings.items():
            env.setenv(name, value)
        reset_filesystems()
        with open_instance(home):  # storages created once, before workers and coordinators open them at once
            pass
        worker_env = environment(**settings, PYTHONPATH=f"{REPO / 'deploy' / 'celery'}:{REPO}")
        worker_logs = [logs / f"{name}.log" for name in WORKERS]
        workers = []
        for name, log in zip(WORKERS, worker_logs, strict=True):
            with log.open("w") as out:
                workers.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "celery",
                            "-A",
                            "dagster_celery.app",
                            "worker",
                            "-Q",
                            "dagster",
                            "--pool",
                            "solo",
                            "-n",
                            f"{name}@127.0.0.1",
                            "--loglevel",
                            "INFO",
                        ],
                        cwd=REPO,
                        env=worker_env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        preexec_fn=die_with_parent,
                    )
                )
        try:
            _wait_for_workers(redis_url, worker_logs, workers)
            yield Cluster(home, worker_logs)
        finally:
            for worker in workers:
                stop(worker)
            reset_filesystems()


def _submit(job: str, lanes: list[list[str]] | None = None, run_config: dict | None = None) -> None:
    """Submit runs of `job` from one coordinator process per lane, the lanes at once (None: one
    unpartitioned run); their steps go to the Celery workers through Redis."""
    command = [sys.executable, "-m", "tests.distributed.submit_runs", job, json.dumps(run_config or {})]
    coordinators = [
        subprocess.Popen(
            [*command, *lane], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for lane in (lanes or [[]])
    ]
    outputs = [c.communicate(timeout=600)[0] for c in coordinators]
    assert all(c.returncode == 0 for c in coordinators), "\n".join(o[-2000:] for o in outputs)


@pytest.fixture(scope="module")
def backfilled(cluster: Cluster) -> Cluster:
    lanes = [DAYS[i::SUBMITTED_AT_ONCE] for i in range(SUBMITTED_AT_ONCE)]
    _submit("mission_batch_job", lanes, {"ops": {"mission_batch": {"config": {"missions": MISSIONS}}}})
    _submit("ingest_job")
    _submit("lake_job", lanes)
    _submit("dream_job", [NIGHTS])  # in order: each dream starts from the previous night's version
    return cluster


@pytest.fixture(scope="module")
def single_machine(backfilled: Cluster, tmp_path_factory: pytest.TempPathFactory) -> ReverieHome:
    """The same landing logs through the CLI's in-process path on a local lake."""
    from assets.runs import run_job

    home = ReverieHome.at(tmp_path_factory.mktemp("single") / "home")
    shutil.copytree(backfilled.home.landing, home.landing)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("REVERIE_EXECUTOR", "in_process")
        env.delenv("REVERIE_LAKE")
        assert run_job("ingest_job", home).success
        assert run_job("lake_job", home, partition_range=(DAYS[0], DAYS[-1])).success
        for day in NIGHTS:
            assert run_job("dream_job", home, partition_key=day).success
    activate(backfilled.home)
    return home


def test_both_workers_ran_steps(backfilled: Cluster) -> None:
    for log in backfilled.worker_logs:
        assert "succeeded" in log.read_text(), f"{log.name} ran no step"


def test_every_row_is_in_the_s3_lake_once(backfilled: Cluster) -> None:
    home = backfilled.home
    landing_files = sorted(p for p in home.landing.rglob("*") if p.is_file())
    assert len(landing_files) == MISSIONS * len(DAYS)
    assert lake.partitions(home, "sessions") == DAYS
    con = lake.connect(home)
    sessions, distinct = con.execute("SELECT count(*), count(DISTINCT session_id) FROM sessions").fetchone()
    assert sessions == distinct == len(landing_files)
    events, keys = con.execute(
        "SELECT count(*), count(DISTINCT (session_id, event_id)) FROM events"
    ).fetchone()
    assert events == keys > sessions
    scored = con.execute("SELECT count(DISTINCT session_id) FROM outcomes").fetchone()[0]
    assert scored == sessions


def test_the_s3_lake_equals_the_single_machine_lake(backfilled: Cluster, single_machine: ReverieHome) -> None:
    columns = {
        "events": "session_id, event_id, seq, ts, type, content",
        "sessions": "session_id, task, n_events, final_status, date",
        "outcomes": "session_id, criterion, passed, value, date",
    }
    remote, local = lake.connect(backfilled.home), lake.connect(single_machine)
    for table, selected in columns.items():
        query = f"SELECT {selected} FROM {table} ORDER BY ALL"
        assert remote.execute(query).fetchall() == local.execute(query).fetchall(), table


def test_the_last_nights_playbook_matches_byte_for_byte(
    backfilled: Cluster, single_machine: ReverieHome
) -> None:
    version = version_for(date.fromisoformat(DAYS[-1]))
    distributed = PlaybookStore(backfilled.home)
    assert distributed.versions() == [version_for(date.fromisoformat(d)) for d in NIGHTS]
    remote = distributed._read(version, PLAYBOOK_JSON)
    local = (single_machine.playbooks / version / PLAYBOOK_JSON).read_text()
    assert remote is not None and remote == local
    assert distributed.load(version).n_sessions_reviewed > 0
