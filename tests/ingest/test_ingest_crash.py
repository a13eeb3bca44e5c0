"""A SIGKILL between staging and the lake (or half-way through the lake) never loses a row.

`reverie ingest` stages files in one Dagster run and builds the partitions in the next; once staging has
committed its manifest the files count as seen. These tests kill the real CLI process with SIGKILL at
those points (`REVERIE_KILL_AT`, see `pipeline.ingest.pending.checkpoint`), run it again, and compare the
lake with an uninterrupted run over the same files.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest, stage_files
from pipeline.ingest.partitions import build_partitions
from pipeline.ingest.pending import KILL_ENV

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TABLES = ("events", "sessions", "rejects")


def _logs(tmp_path: Path) -> Path:
    """A few formats and a broken file, so all three tables have rows on several days."""
    logs = tmp_path / "logs"
    shutil.copytree(FIXTURES / "native", logs / "native")
    shutil.copytree(FIXTURES / "codex", logs / "codex")
    shutil.copy(FIXTURES / "broken/invalid_json.jsonl", logs / "invalid_json.jsonl")
    return logs


def _reverie_ingest(home: Path, logs: Path, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in (KILL_ENV, "DAGSTER_HOME")}
    env["REVERIE_HOME"] = str(home)
    if kill_at:
        env[KILL_ENV] = kill_at
    command = [sys.executable, "-c", "from cli import app; app()", "ingest", str(logs)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def _tables(home: Path) -> dict[str, pl.DataFrame]:
    reverie = ReverieHome.at(home)
    return {
        t: lake.read_table(reverie, t).drop("date" if t == "rejects" else []).sort(pl.all()) for t in TABLES
    }


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pl.DataFrame]]:
    root = tmp_path_factory.mktemp("uninterrupted")
    logs = _logs(root)
    done = _reverie_ingest(root / "home", logs)
    assert done.returncode == 0, done.stdout + done.stderr
    tables = _tables(root / "home")
    assert all(frame.height for frame in tables.values())
    return logs, tables


def test_sigkill_half_way_through_the_lake_then_a_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    """Killed after the first `events` partition is written: the other days and `sessions` are pending."""
    logs = _logs(tmp_path)
    expected_home = ReverieHome.at(tmp_path / "expected").ensure()
    ingest(expected_home, [logs], workers=1)
    home = tmp_path / "home"
    env = {**os.environ, KILL_ENV: "events_partition"}
    script = (
        "import sys; from pathlib import Path; from pipeline.home import ReverieHome; "
        "from pipeline.ingest.engine import ingest; "
        "ingest(ReverieHome.at(sys.argv[1]).ensure(), [Path(sys.argv[2])], workers=1)"
    )
    killed = subprocess.run([sys.executable, "-c", script, str(home), str(logs)], env=env, timeout=600)
    assert killed.returncode == -signal.SIGKILL
    assert len(lake.partitions(ReverieHome.at(home), "events")) == 1  # one day built, then the kill
    rerun = ingest(ReverieHome.at(home), [logs], workers=1)
    assert rerun.files_staged == 0
    got, expected = _tables(home), _tables(expected_home.root)
    for table in TABLES:
        assert got[table].equals(expected[table]), table


@pytest.mark.slow  # three `reverie ingest` processes, each starting Dagster
def test_sigkill_between_staging_and_the_lake_then_a_rerun_equals_an_uninterrupted_run(
    tmp_path: Path, uninterrupted: tuple[Path, dict[str, pl.DataFrame]]
) -> None:
    logs, expected = uninterrupted
    # the same paths as the uninterrupted run, so source_file columns compare equal
    home = tmp_path / "home"
    killed = _reverie_ingest(home, logs, kill_at="staged")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert (home / "staging/_manifest.parquet").exists()  # staging had committed: the files count as seen

    rerun = _reverie_ingest(home, logs)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "files unchanged (skipped)" in rerun.stdout
    got = _tables(home)
    for table in TABLES:
        assert got[table].equals(expected[table]), table


def test_days_left_unbuilt_by_a_failed_lake_step_are_built_by_the_next_run(tmp_path: Path) -> None:
    home = ReverieHome.at(tmp_path / "home").ensure()
    logs = _logs(tmp_path)
    first = stage_files(home, [logs], workers=1)
    assert first.session_dates and first.reject_dates
    # the lake step never ran (it failed, or the process died); nothing changed in the logs since
    again = stage_files(home, [logs], workers=1)
    assert again.files_staged == 0
    assert again.session_dates == first.session_dates and again.reject_dates == first.reject_dates
    build_partitions(home, again.session_dates, again.reject_dates, workers=1)
    expected = ReverieHome.at(tmp_path / "expected").ensure()
    ingest(expected, [logs], workers=1)
    for table in TABLES:
        assert _tables(home.root)[table].equals(_tables(expected.root)[table]), table
    after = stage_files(home, [logs], workers=1)
    assert after.session_dates == set() and after.reject_dates == set()
