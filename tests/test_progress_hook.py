"""The progress hook: the CLI installs a reporter (`pipeline.progress.reporting`) and the engine's long loops
call it, also when Dagster runs them in-process, so `reverie ingest`, `fly`, `evaluate` and `demo` show bars that
advance. An explicit callback wins over the installed reporter."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

from pipeline.evaluation import evaluate_candidate
from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest
from pipeline.missions.lunar.batch import fly_batch
from pipeline.playbooks.model import Playbook
from pipeline.playbooks.store import PlaybookStore, version_for
from pipeline.progress import progress_for, reporting

FIXTURES = Path(__file__).parent / "fixtures"
DAY = date(2025, 4, 2)


def test_ingest_reports_each_file_to_the_installed_reporter(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    with reporting("ingest", lambda done, total: seen.append((done, total))):
        report = ingest(ReverieHome.at(tmp_path / "home"), [FIXTURES / "native"], workers=1)
    assert report.files_seen > 1
    assert seen == [(k, report.files_seen) for k in range(1, report.files_seen + 1)]


def test_fly_batch_reports_each_mission_and_an_explicit_callback_wins(tmp_path: Path) -> None:
    installed: list[tuple[int, int]] = []
    explicit: list[tuple[int, int]] = []
    home = ReverieHome.at(tmp_path / "home")
    with reporting("fly", lambda done, total: installed.append((done, total))):
        fly_batch(home, DAY, 3, workers=1, write_logs=False)
        fly_batch(home, DAY, 2, workers=1, write_logs=False, progress=lambda d, t: explicit.append((d, t)))
    assert installed == [(1, 3), (2, 3), (3, 3)]
    assert explicit == [(1, 2), (2, 2)]
    assert progress_for("fly") is None  # gone once the block ends


def test_evaluation_reports_every_flown_arm(reverie_home: ReverieHome, monkeypatch) -> None:
    monkeypatch.setenv("REVERIE_ARM_CACHE", "0")
    store = PlaybookStore(reverie_home)
    store.write(
        Playbook(
            version=version_for(DAY),
            partition=DAY.isoformat(),
            entries=[],
            created_at=datetime.combine(DAY, time.max, tzinfo=UTC),
        )
    )
    seen: list[tuple[int, int]] = []
    with reporting("evaluate", lambda done, total: seen.append((done, total))):
        evaluate_candidate(reverie_home, DAY, n_missions=4, policy="manual", workers=1)
    # the candidate and the playbook in force fly the 4 seeds each; the reference arm has no crew to report
    assert seen == [(k, 4) for k in range(1, 5)] * 2


def test_the_cli_reporter_sees_a_batch_flown_through_its_dagster_job(
    reverie_home: ReverieHome, monkeypatch
) -> None:
    from assets.definitions import run_job

    monkeypatch.setenv("REVERIE_WORKERS", "1")

    seen: list[tuple[int, int]] = []
    config = {"ops": {"mission_batch": {"config": {"missions": 3}}}}
    with reporting("fly", lambda done, total: seen.append((done, total))):
        assert run_job(
            "mission_batch_job", reverie_home, partition_key=DAY.isoformat(), run_config=config
        ).success
    assert seen[-1] == (3, 3) and len(seen) == 3
