"""The coding mission's loop at small size, through the same Dagster jobs as lunar: fly, ingest, score, dream,
evaluate, promote, report.

Written against the `Mission` contract only (pipeline/missions/base.py), so it runs as soon as
`pipeline.missions.coding` defines `CODING`, and skips with the reason until then. Like the lunar e2e, it
asserts the mechanics (a line of its own, typed reports, rows tagged with the mission, evidence from coding
sessions only), not the learning curve.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from cli import app
from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.missions.registry import UnknownMission, mission

NIGHTS, MISSIONS, EVAL = 2, 30, 30
START = date(2026, 3, 1)
runner = CliRunner()

try:
    CODING = mission("coding")
except UnknownMission as missing:
    pytestmark = pytest.mark.skip(reason=f"no coding mission yet: {missing}")
else:
    pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-coding")]


@pytest.fixture(scope="module")
def coding_home(tmp_path_factory) -> ReverieHome:
    root = tmp_path_factory.mktemp("e2e-coding")
    home = ReverieHome.at(root / "home")
    result = runner.invoke(
        app,
        ["--home", str(home.root), "demo", "--mission", "coding", "--nights", str(NIGHTS), "--missions",
         str(MISSIONS), "--eval-missions", str(EVAL), "--start", START.isoformat(), "--report-json",
         str(root / "report.json")],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return home


def test_the_report_is_the_coding_missions(coding_home):
    report = json.loads((coding_home.root.parent / "report.json").read_text())
    assert report["mission"] == "coding" and report["reference"] == CODING.reference_name
    assert [n["night"] for n in report["nights"]] == [1, 2]
    for night in report["nights"]:
        assert 0.0 <= night["heldout_success"] <= 1.0 and 0.0 <= night["reference_success"] <= 1.0
    assert (coding_home.reports / "coding" / "success_by_night.png").stat().st_size > 1000


def test_the_coding_line_is_its_own_and_lunars_is_untouched(coding_home):
    from pipeline.playbooks.store import PlaybookStore

    days = [(START + timedelta(days=i)).isoformat() for i in range(NIGHTS)]
    assert [v.removeprefix("pb-") for v in PlaybookStore(coding_home, mission="coding").versions()] == days
    assert PlaybookStore(coding_home).versions() == []
    con = lake.connect(coding_home)
    rows = con.execute(
        "select distinct day, mission from evaluations where arm = 'candidate' order by day"
    ).fetchall()
    assert [(d.isoformat(), m) for d, m in rows] == [(d, "coding") for d in days]


def test_coding_entries_cite_coding_sessions_only(coding_home):
    from pipeline.playbooks.store import PlaybookStore

    store = PlaybookStore(coding_home, mission="coding")
    con = lake.connect(coding_home)
    coding_sessions = {
        s
        for (s,) in con.execute(
            "select session_id from sessions where task is distinct from 'lunar_landing'"
        ).fetchall()
    }
    assert len(coding_sessions) == NIGHTS * MISSIONS
    for version in store.versions():
        for entry in store.load(version).entries:
            assert entry.evidence and set(entry.evidence) <= coding_sessions


def test_dagster_runs_carry_the_mission(coding_home):
    import dagster as dg

    from pipeline.home import activate

    activate(coding_home)
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(dg.RunsFilter(tags={"reverie/mission": "coding"}))
        jobs = {run.job_name for run in runs}
    assert {"fly_job", "nightly_dream_job"} <= jobs
