"""Scoring a partition: every session gets its verdicts, and the SQL view turns them into success/score."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline import lake
from pipeline.outcomes import load_criteria, score_all, score_partition, show_outcomes
from tests.outcomes.conftest import DAY, SessionLog, ingest_sessions, lunar_metrics


@pytest.fixture
def scored_home(home):
    ingest_sessions(
        home,
        [
            SessionLog("lunar-ok", "lunar_landing").end("landed", lunar_metrics()),
            SessionLog("lunar-hard", "lunar_landing").end(
                "landed", lunar_metrics(touchdown_speed=-0.9, fuel_used=400.0)
            ),
            SessionLog("lunar-low", "lunar_landing").end("landed", lunar_metrics(reward=150.0)),
            SessionLog("lunar-off-pad", "lunar_landing").end(
                "landed_off_pad", lunar_metrics(landed=False, pad_distance=0.5, failure_mode="landed_off_pad")
            ),
            SessionLog("lunar-crash", "lunar_landing").end(
                "crashed", lunar_metrics(landed=False, crashed=True, touchdown_speed=None, reward=-120.0)
            ),
            SessionLog("lunar-lost", "lunar_landing"),  # no session_end: nothing reported
            SessionLog("code-recovered", "fix the bug")
            .message("user", "fix it")
            .tool("bash", "boom", error=True)
            .tool("bash", "ok")
            .message("assistant", "fixed, tests pass"),
            SessionLog("code-broken", "fix the bug")
            .message("user", "fix it")
            .tool("bash", "ok")
            .tool("bash", "boom", error=True)
            .message("assistant", "done"),
            SessionLog("code-no-tools", None).message("user", "hi").message("assistant", "hello"),
        ],
    )
    report = score_partition(home, DAY, load_criteria())
    return home, report


def _verdicts(report, session_id: str) -> dict[str, bool | None]:
    rows = report.outcomes.filter(pl.col("session_id") == session_id)
    return dict(zip(rows["criterion"], rows["passed"], strict=True))


def _session_outcomes(home) -> dict[str, tuple[bool, float | None]]:
    con = lake.connect(home)
    rows = con.sql("SELECT session_id, success, score FROM session_outcomes").fetchall()
    return {sid: (success, score) for sid, success, score in rows}


def test_every_session_is_scored_by_the_groups_matching_its_task(scored_home):
    _, report = scored_home
    assert report.n_sessions == 9 and report.unscored_sessions == 0
    lunar = set(_verdicts(report, "lunar-ok"))
    coding = set(_verdicts(report, "code-no-tools"))
    assert lunar == {"landed_on_pad", "mission_reported", "solved", "soft_touchdown", "within_fuel_budget"}
    assert "no_unrecovered_tool_error" in coding and not lunar & coding  # the fallback group skips lunar


def test_lunar_mission_success_is_landed_on_pad_with_solved_reward(scored_home):
    home, _ = scored_home
    outcomes = _session_outcomes(home)
    assert outcomes["lunar-ok"] == (True, 1.0)
    assert outcomes["lunar-hard"][0] is True and outcomes["lunar-hard"][1] == pytest.approx(7 / 9)
    for failed in ("lunar-low", "lunar-off-pad", "lunar-crash", "lunar-lost"):
        assert outcomes[failed][0] is False, failed


def test_a_crash_without_touchdown_is_not_a_soft_touchdown(scored_home):
    _, report = scored_home
    assert _verdicts(report, "lunar-crash")["soft_touchdown"] is False


def test_unrecovered_tool_error_fails_and_recovered_one_passes(scored_home):
    _, report = scored_home
    assert _verdicts(report, "code-recovered")["no_unrecovered_tool_error"] is True
    assert _verdicts(report, "code-broken")["no_unrecovered_tool_error"] is False
    assert _verdicts(report, "code-no-tools")["no_unrecovered_tool_error"] is True


def test_rubrics_without_llm_are_not_graded_and_never_count_as_passed(scored_home):
    home, report = scored_home
    rubric = report.outcomes.filter(pl.col("criterion") == "task_addressed")
    assert rubric.height == 3
    assert rubric["passed"].null_count() == 3 and set(rubric["grader"]) == {"not_graded"}
    # the score covers graded criteria only; success does not depend on an optional rubric
    success, score = _session_outcomes(home)["code-recovered"]
    # 1 of 11 graded weight failed (error rate 0.5); the commit criterion is not judged (null) and passes
    assert success is True and score == pytest.approx(10 / 11)


def test_rescoring_is_idempotent(scored_home):
    home, first = scored_home
    again = score_all(home, load_criteria())
    assert len(again) == 1
    stored = lake.read_table(home, "outcomes").sort("session_id", "criterion")
    assert stored.height == first.outcomes.height
    assert stored.drop("date").equals(
        first.outcomes.sort("session_id", "criterion").select(stored.drop("date").columns), null_equal=True
    )


def test_report_pass_rates_and_show_outcomes(scored_home):
    home, report = scored_home
    assert report.pass_rates["landed_on_pad"] == pytest.approx(3 / 6)
    assert report.pass_rates["task_addressed"] is None
    summary = show_outcomes(home)
    # ok, hard, off-pad (reward 240) and lost: GE skips the null reward, mission_reported catches it
    assert summary.filter(pl.col("criterion") == "solved")["passed"].item() == 4
    assert _verdicts(report, "lunar-lost")["mission_reported"] is False
    detail = show_outcomes(home, "solved")
    assert detail.height == 6 and set(detail.columns) >= {"session_id", "passed", "value", "detail"}


def test_a_session_matched_by_two_groups_gets_one_score_over_both(home, tmp_path):
    spec = tmp_path / "two.yaml"
    spec.write_text(
        """\
version: 1
groups:
  - name: any_fix
    task: "fix*"
    criteria:
      - name: has_events
        weight: 3
        expectation: {type: expect_column_values_to_be_between, kwargs: {column: n_events, min_value: 1}}
  - name: bug_fix
    task: "fix the bug"
    criteria:
      - name: few_events
        expectation: {type: expect_column_values_to_be_between, kwargs: {column: n_events, max_value: 1}}
"""
    )
    ingest_sessions(
        home,
        [
            SessionLog("both", "fix the bug").message("user", "a").message("assistant", "b"),
            SessionLog("one", "fix typo").message("assistant", "b"),
        ],
    )
    report = score_partition(home, DAY, load_criteria([spec]))
    scores = dict(report.outcomes.group_by("session_id").agg(pl.col("score").unique()).iter_rows())
    assert scores == {"both": [0.75], "one": [1.0]}
