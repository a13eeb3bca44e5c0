"""Bad criteria specs fail when loaded, naming the file and line of the mistake."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipeline.outcomes import CriteriaError, load_criteria
from pipeline.outcomes.spec import DEFAULT_CRITERIA_DIR

HEADER = """\
version: 1
metrics:
  retries:
    sql: SELECT session_id, count(*) AS value FROM events WHERE type = 'tool_call' GROUP BY session_id
groups:
  - name: demo
    task: "demo*"
    criteria:
"""


def _spec(tmp_path: Path, criteria: str, header: str = HEADER) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(header + textwrap.indent(textwrap.dedent(criteria), "      "))
    return path


def _error(path: Path) -> str:
    with pytest.raises(CriteriaError) as raised:
        load_criteria([path])
    return str(raised.value)


def test_shipped_defaults_load_and_cover_coding_and_lunar():
    suite = load_criteria()
    names = {c.name for c in suite.criteria}
    assert {
        "no_unrecovered_tool_error",
        "landed_on_pad",
        "solved",
        "soft_touchdown",
        "within_fuel_budget",
    } <= names
    assert [g.name for g in suite.groups_for("lunar_landing")] == ["lunar_mission"]
    assert [g.name for g in suite.groups_for("refactor the parser")] == ["coding_defaults"]
    assert [g.name for g in suite.groups_for(None)] == ["coding_defaults"]


def test_a_valid_custom_spec_loads(tmp_path):
    path = _spec(
        tmp_path,
        """\
        - name: few_retries
          weight: 2
          expectation: {type: expect_column_values_to_be_between, kwargs: {column: retries, max_value: 3}}
        """,
    )
    suite = load_criteria([path])
    assert suite.criterion("few_retries").weight == 2.0 and suite.used_metrics().keys() == {"retries"}


def test_unknown_expectation_names_file_and_line(tmp_path):
    path = _spec(
        tmp_path,
        """\
        - name: ok
          expectation: {type: expect_column_values_to_be_between, kwargs: {column: retries, max_value: 3}}
        - name: typo
          expectation: {type: expect_column_values_to_be_betwen, kwargs: {column: retries, max_value: 3}}
        """,
    )
    message = _error(path)
    assert (
        message.startswith(f"{path}:12:")
        and "unknown expectation 'expect_column_values_to_be_betwen'" in message
    )


def test_unknown_metric_is_refused(tmp_path):
    path = _spec(
        tmp_path,
        """\
        - name: speed
          expectation: {type: expect_column_values_to_be_between, kwargs: {column: velocity, max_value: 3}}
        """,
    )
    message = _error(path)
    assert message.startswith(f"{path}:10:") and "unknown metric 'velocity'" in message


def test_bad_regex_is_refused(tmp_path):
    path = _spec(
        tmp_path,
        """\
        - name: status_ok
          expectation: {type: expect_column_values_to_match_regex, kwargs: {column: final_status, regex: "(ok"}}
        """,
    )
    message = _error(path)
    assert message.startswith(f"{path}:10:") and "bad regex" in message


def test_bad_yaml_points_at_the_line(tmp_path):
    path = _spec(
        tmp_path,
        """\
        - name: broken
          expectation: {type: expect_column_values_to_not_be_null, kwargs: {column: task}
        """,
    )
    message = _error(path)
    assert message.startswith(f"{path}:1") and "invalid YAML" in message


def test_schema_violation_points_at_the_criterion(tmp_path):
    path = _spec(
        tmp_path,
        """\
        - name: both
          rubric: Be nice.
          expectation: {type: expect_column_values_to_not_be_null, kwargs: {column: task}}
        """,
    )
    assert _error(path).startswith(f"{path}:9:")


def test_metric_sql_that_does_not_run_is_refused(tmp_path):
    header = HEADER.replace("FROM events", "FROM evnts")
    path = _spec(
        tmp_path,
        """\
        - name: x
          expectation: {type: expect_column_values_to_not_be_null, kwargs: {column: retries}}
        """,
        header=header,
    )
    message = _error(path)
    assert message.startswith(f"{path}:4:") and "metric 'retries'" in message


def test_bounds_that_do_not_fit_the_column_are_refused(tmp_path):
    path = _spec(
        tmp_path,
        """\
        - name: text_bounded
          expectation: {type: expect_column_values_to_be_between, kwargs: {column: final_status, max_value: 3}}
        """,
    )
    assert "GE 1.x bounds are numbers" in _error(path)


def test_unknown_argument_is_refused(tmp_path):
    path = _spec(
        tmp_path,
        """\
        - name: x
          expectation: {type: expect_column_values_to_not_be_null, kwargs: {column: task, max_value: 3}}
        """,
    )
    assert "does not take max_value" in _error(path)


def test_duplicate_criterion_names_are_refused(tmp_path):
    path = _spec(
        tmp_path,
        """\
        - name: twice
          expectation: {type: expect_column_values_to_not_be_null, kwargs: {column: task}}
        - name: twice
          expectation: {type: expect_column_values_to_not_be_null, kwargs: {column: task}}
        """,
    )
    assert "already defined" in _error(path)


def test_shipped_files_are_the_default(tmp_path):
    assert load_criteria([DEFAULT_CRITERIA_DIR]).criteria == load_criteria().criteria
