"""Missions by name, their playbook lines, and the lake rows both missions write on the same day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import polars as pl
import pytest

from pipeline import lake
from pipeline.dreaming.window import load_window
from pipeline.missions.base import Mission
from pipeline.missions.registry import UnknownMission, available_missions, mission, session_scope
from pipeline.playbooks.model import Playbook
from pipeline.playbooks.store import PlaybookError, PlaybookStore, version_for

DAY = date(2026, 4, 2)


def test_lunar_is_a_mission_by_contract():
    lunar: Mission = mission("lunar")
    assert all(callable(getattr(lunar, name)) for name in ("fly_batch", "heldout_seeds", "fly_reference"))
    assert (lunar.name, lunar.reference_name) == ("lunar", "gymnasium heuristic")
    seeds = lunar.heldout_seeds(5)
    assert seeds == lunar.heldout_seeds(5) and len(set(seeds)) == 5
    assert all(seed % 2 == 1 for seed in seeds)  # held-out seeds are odd, training seeds even
    assert "lunar" in available_missions()


def test_unknown_and_absent_missions_fail_in_one_line():
    with pytest.raises(UnknownMission, match="known missions: lunar, coding"):
        mission("chess")
    try:
        mission("coding")
    except UnknownMission as error:  # before the coding mission lands
        assert "coding" in str(error) and "\n" not in str(error)


def test_lunar_reference_arm_agrees_with_the_batch_reference(reverie_home):
    from pipeline.missions.lunar.batch import reference_success_rate

    lunar = mission("lunar")
    seeds = lunar.heldout_seeds(6)
    arm = lunar.fly_reference(seeds)
    assert arm.seeds == tuple(seeds) and len(arm.success) == 6
    assert sum(arm.success) / 6 == reference_success_rate(seeds)


def _version(store: PlaybookStore, day: date, notes: list[str]) -> None:
    store.write(
        Playbook(
            version=version_for(day),
            partition=day.isoformat(),
            created_at=datetime.combine(day, time.max, tzinfo=UTC),
            notes=notes,
        )
    )


def test_each_mission_keeps_its_own_line_and_lunar_stays_where_it_was(reverie_home):
    lunar, coding = PlaybookStore(reverie_home), PlaybookStore(reverie_home, mission="coding")
    _version(lunar, DAY, ["lunar"])
    _version(coding, DAY, ["coding"])
    assert (
        reverie_home.playbooks / version_for(DAY) / "playbook.json"
    ).is_file()  # an existing home's layout
    assert (reverie_home.playbooks / "coding" / version_for(DAY) / "playbook.json").is_file()
    assert lunar.versions() == coding.versions() == [version_for(DAY)]
    assert lunar.load(version_for(DAY)).notes == ["lunar"]
    assert coding.load(version_for(DAY)).notes == ["coding"]
    with pytest.raises(PlaybookError):
        PlaybookStore(reverie_home, mission="../elsewhere")


def test_both_missions_rows_share_a_day_and_old_rows_read_as_lunar(reverie_home):
    old = pl.DataFrame({"day": [DAY], "arm": ["candidate"], "rate": [0.5], "date": [DAY]})
    lake.write_partition(reverie_home, "evaluations", DAY, old.drop("rate").with_columns(rate=pl.lit(0.5)))
    partition = lake.partition_dir(reverie_home, "evaluations", DAY) / lake.PARTITION_FILE
    assert pl.read_parquet(partition)["mission"].to_list() == [None]  # written before missions had lines
    coding = pl.DataFrame(
        {"day": [DAY, DAY], "arm": ["candidate", "reference"], "rate": [0.7, 0.9], "date": [DAY] * 2}
    )
    lake.replace_mission_rows(reverie_home, "evaluations", DAY, "coding", coding)
    again = coding.with_columns(rate=pl.lit(0.8))
    lake.replace_mission_rows(reverie_home, "evaluations", DAY, "coding", again)  # a re-run replaces its rows
    rows = (
        lake.connect(reverie_home)
        .execute("select mission, arm, rate from evaluations order by mission, arm")
        .fetchall()
    )
    assert rows == [("coding", "candidate", 0.8), ("coding", "reference", 0.8), ("lunar", "candidate", 0.5)]


def _session(session_id: str, task: str | None) -> dict:
    return {"session_id": session_id, "task": task, "context": "{}", "date": DAY, "playbook_version": None}


def test_a_line_learns_only_from_its_missions_sessions(reverie_home):
    sessions = pl.DataFrame(
        [_session("lunar-1", "lunar_landing"), _session("cc-1", "fix the build"), _session("cc-2", None)]
    )
    outcomes = pl.DataFrame(
        {"session_id": ["lunar-1", "cc-1", "cc-2"], "criterion": ["ok"] * 3, "passed": [True, False, True],
         "required": [True] * 3, "date": [DAY] * 3}
    )  # fmt: skip
    lake.write_partition(reverie_home, "sessions", DAY, sessions)
    lake.write_partition(reverie_home, "outcomes", DAY, outcomes)
    seen = {
        name: sorted(load_window(reverie_home, DAY, 1, scope=session_scope(name)).sessions["session_id"])
        for name in ("lunar", "coding")
    }
    assert seen == {"lunar": ["lunar-1"], "coding": ["cc-1", "cc-2"]}
    assert sorted(load_window(reverie_home, DAY, 1).sessions["session_id"]) == ["cc-1", "cc-2", "lunar-1"]


def test_partitions_from_before_the_mission_column_read_with_new_ones(reverie_home):
    old = pl.DataFrame({"day": [DAY], "arm": ["candidate"], "rate": [0.5], "date": [DAY]})
    lake.write_partition(reverie_home, "evaluations", DAY, old)
    partition = lake.partition_dir(reverie_home, "evaluations", DAY) / lake.PARTITION_FILE
    pl.read_parquet(partition).drop("mission").write_parquet(partition)  # as a home written before it
    later = date(2026, 4, 3)
    lake.replace_mission_rows(
        reverie_home, "evaluations", later, "coding", old.with_columns(day=pl.lit(later))
    )
    frame = lake.read_table(reverie_home, "evaluations").sort("day")
    assert frame["mission"].to_list() == [None, "coding"] and frame["rate"].to_list() == [0.5, 0.5]
