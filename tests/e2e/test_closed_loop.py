"""The whole loop at small size, through Dagster: fly, ingest, score, dream, evaluate, promote, report.

Asserts the mechanics a user relies on (versions, lineage, decisions, nothing lost, reproducible backfill),
not the learning curve, which needs the full-size run (`make demo`).
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, timedelta

import pytest
from filelock import FileLock
from typer.testing import CliRunner

from cli import app
from pipeline import lake
from pipeline.home import ReverieHome

NIGHTS, MISSIONS, EVAL = 2, 30, 30
START = date(2026, 3, 1)
runner = CliRunner()

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]


def reverie(home: ReverieHome, *args: str):
    result = runner.invoke(app, ["--home", str(home.root), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="session")
def loop_home(tmp_path_factory) -> ReverieHome:
    """The 2-night demo, built once per test session even when its tests land on several xdist workers.

    The workers of one session share the parent of their temp folders; the first to take the lock builds the
    demo there, the others wait and reuse it (the tests only read it). A failed build leaves no DONE marker,
    so the next worker retries it.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    shared = root / "e2e-loop"
    home = ReverieHome.at(shared / "home")
    with FileLock(str(root / "e2e-loop.lock")):
        if not (shared / "DONE").exists():
            shutil.rmtree(shared, ignore_errors=True)
            shared.mkdir(parents=True)
            reverie(
                home,
                "demo",
                "--mission",
                "lunar",
                "--nights",
                str(NIGHTS),
                "--missions",
                str(MISSIONS),
                "--eval-missions",
                str(EVAL),
                "--start",
                START.isoformat(),
                "--report-json",
                str(shared / "report.json"),
            )
            (shared / "DONE").write_text("built\n")
    return home


def test_report_has_one_row_per_night(loop_home):
    report = json.loads((loop_home.root.parent / "report.json").read_text())
    assert [n["night"] for n in report["nights"]] == [1, 2]
    for night in report["nights"]:
        assert set(night) >= {
            "night",
            "playbook_version",
            "train_success",
            "heldout_success",
            "reference_success",
        }
        assert 0.0 <= night["heldout_success"] <= 1.0
    assert (loop_home.reports / "success_by_night.png").stat().st_size > 1000
    assert report["mission"] == "lunar" and report["reference"] == "gymnasium heuristic"
    final = report["final_playbook"]
    if report["nights"][-1]["playbook_version"]:  # something was promoted: shown as approved
        assert final == str(loop_home.reports / "PLAYBOOK.md")
        assert "- status: approved" in (loop_home.reports / "PLAYBOOK.md").read_text()


def test_every_mission_flown_is_in_the_lake_and_scored(loop_home):
    con = lake.connect(loop_home)
    assert con.execute("select count(*) from sessions").fetchone()[0] == NIGHTS * MISSIONS
    assert con.execute("select count(distinct session_id) from outcomes").fetchone()[0] == NIGHTS * MISSIONS
    files = list(loop_home.landing.rglob("*.jsonl"))
    assert len(files) == NIGHTS * MISSIONS


def test_a_version_per_night_with_recorded_decisions(loop_home):
    from pipeline.playbooks.store import PlaybookStore

    store = PlaybookStore(loop_home)
    days = [(START + timedelta(days=i)).isoformat() for i in range(NIGHTS)]
    assert [v.removeprefix("pb-") for v in store.versions()] == days
    con = lake.connect(loop_home)
    decisions = con.execute(
        "select day, decision from evaluations where arm = 'candidate' order by day"
    ).fetchall()
    assert [d.isoformat() for d, _ in decisions] == days
    assert all(d in {"promoted", "kept", "no_change", "awaiting_approval"} for _, d in decisions)


def test_playbook_entries_cite_sessions_that_exist(loop_home):
    from pipeline.playbooks.store import PlaybookStore

    store = PlaybookStore(loop_home)
    sessions = set(lake.read_table(loop_home, "sessions")["session_id"].to_list())
    entries = [e for v in store.versions() for e in store.load(v).entries]
    assert entries, "two nights of missions should yield at least one pattern"
    for entry in entries:
        assert entry.evidence and set(entry.evidence) <= sessions


def test_dagster_recorded_the_runs_and_lineage(loop_home):
    import dagster as dg

    from pipeline.home import activate

    activate(loop_home)
    with dg.DagsterInstance.get() as instance:
        for key in (
            "mission_batch",
            "staged_logs",
            "events",
            "sessions",
            "outcomes",
            "session_outcomes",
            "playbook",
            "playbook_entries",
            "playbook_evaluation",
            "evaluations",
        ):
            assert instance.get_latest_materialization_event(dg.AssetKey(key)) is not None, key


def test_backfill_reproduces_the_nightly_playbooks(loop_home, tmp_path):
    """Rebuild from the same raw logs in a new home with a headless backfill: identical versions."""
    other = ReverieHome.at(tmp_path / "replay")
    shutil.copytree(loop_home.landing, other.landing)
    reverie(other, "ingest", str(other.landing))
    last = START + timedelta(days=NIGHTS - 1)
    reverie(
        other,
        "backfill",
        "--start",
        START.isoformat(),
        "--end",
        last.isoformat(),
        "--eval-missions",
        str(EVAL),
    )
    for version in sorted(p.name for p in loop_home.playbooks.iterdir() if p.is_dir()):
        original = (loop_home.playbooks / version / "playbook.json").read_text()
        replayed = (other.playbooks / version / "playbook.json").read_text()
        assert replayed == original, version
