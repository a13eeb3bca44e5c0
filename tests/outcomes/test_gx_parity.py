"""Our vectorized verdicts must equal Great Expectations 1.x's, session by session, on the same data."""

from __future__ import annotations

import math

import polars as pl
import pytest

from pipeline.outcomes.expectations import ColumnInfo, validate_expectation
from pipeline.outcomes.gx_bridge import validate_with_gx
from pipeline.outcomes.scoring import evaluate_expectations
from pipeline.outcomes.spec import Criterion

EDGE_FRAME = pl.DataFrame(
    {
        "session_id": [f"s{i}" for i in range(10)],
        "speed": [0.5, 0.49, 0.51, None, math.nan, -1.0, 0.0, math.inf, 200.0, 0.2],
        "steps": [0, 1, 2, 3, None, 5, 6, 7, 8, 9],
        "steps_full": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        "status": [
            "landed",
            "crashed",
            None,
            "aborted",
            "landed",
            "",
            "Landed",
            "timeout",
            "landed ok",
            "x9",
        ],
        "landed": [True, False, None, True, True, False, True, None, False, True],
        "landed_full": [True, False, True, True, True, False, True, False, False, True],
    }
)


def _criterion(name: str, expectation: str, **kwargs: object) -> Criterion:
    return Criterion(name=name, group="g", expectation_type=expectation, expectation_kwargs=kwargs)


CRITERIA = [
    _criterion(
        "between_inclusive",
        "expect_column_values_to_be_between",
        column="speed",
        min_value=0.0,
        max_value=0.5,
    ),
    _criterion(
        "between_strict",
        "expect_column_values_to_be_between",
        column="speed",
        min_value=0.0,
        max_value=0.5,
        strict_min=True,
        strict_max=True,
    ),
    _criterion("max_only", "expect_column_values_to_be_between", column="speed", max_value=0.5, mostly=0.5),
    _criterion(
        "min_only_int", "expect_column_values_to_be_between", column="steps", min_value=3, strict_min=True
    ),
    _criterion(
        "int_full_float_bound", "expect_column_values_to_be_between", column="steps_full", max_value=4.5
    ),
    _criterion(
        "in_set_text", "expect_column_values_to_be_in_set", column="status", value_set=["landed", "aborted"]
    ),
    _criterion(
        "not_in_set_text", "expect_column_values_to_not_be_in_set", column="status", value_set=["crashed", ""]
    ),
    _criterion("in_set_bool_nulls", "expect_column_values_to_be_in_set", column="landed", value_set=[True]),
    _criterion("in_set_bool", "expect_column_values_to_be_in_set", column="landed_full", value_set=[True]),
    _criterion("in_set_float", "expect_column_values_to_be_in_set", column="speed", value_set=[0.5, 0, 200]),
    _criterion("in_set_int", "expect_column_values_to_be_in_set", column="steps", value_set=[1, 2.0, 7.5]),
    _criterion("not_null", "expect_column_values_to_not_be_null", column="speed", mostly=0.9),
    _criterion("null", "expect_column_values_to_be_null", column="landed"),
    _criterion("regex", "expect_column_values_to_match_regex", column="status", regex="^land"),
    _criterion("regex_anywhere", "expect_column_values_to_match_regex", column="status", regex=r"\d"),
    _criterion("not_regex", "expect_column_values_to_not_match_regex", column="status", regex="(?i)LANDED"),
    _criterion(
        "lengths", "expect_column_value_lengths_to_be_between", column="status", min_value=1, max_value=6
    ),
    _criterion("length_equal", "expect_column_value_lengths_to_equal", column="status", value=6),
    _criterion("type_float", "expect_column_values_to_be_of_type", column="speed", type_="float"),
    _criterion("type_int_with_nulls", "expect_column_values_to_be_of_type", column="steps", type_="int64"),
    _criterion("type_int", "expect_column_values_to_be_of_type", column="steps_full", type_="int64"),
    _criterion("type_bool_nulls", "expect_column_values_to_be_of_type", column="landed", type_="bool"),
    _criterion("type_str", "expect_column_values_to_be_of_type", column="status", type_="str"),
    _criterion(
        "type_list",
        "expect_column_values_to_be_in_type_list",
        column="landed_full",
        type_list=["int", "bool"],
    ),
]


@pytest.fixture(scope="module")
def gx_result():
    frame = EDGE_FRAME.with_columns(pl.col("speed").fill_nan(None))  # what compute_metrics hands over
    return frame, validate_with_gx(frame, CRITERIA)


def test_every_edge_case_criterion_is_valid_for_its_column():
    for criterion in CRITERIA:
        column = criterion.column or ""
        validate_expectation(
            criterion.expectation_type or "",
            criterion.expectation_kwargs,
            ColumnInfo(column, EDGE_FRAME.schema[column]),
        )


def test_verdicts_equal_great_expectations_row_by_row(gx_result):
    frame, gx = gx_result
    assert not gx.raised, f"GE raised on a spec we accept: {gx.raised}"
    ours = evaluate_expectations(frame, CRITERIA)
    for criterion in CRITERIA:
        mismatches = frame["session_id"].filter(ours[criterion.name] != gx.verdicts[criterion.name]).to_list()
        assert not mismatches, f"{criterion.name}: ours differs from GE on {mismatches}"


def test_partition_level_success_follows_mostly_like_great_expectations(gx_result, tmp_path):
    from pipeline.outcomes.scoring import _criteria_summary, score_frame
    from pipeline.outcomes.spec import CriteriaGroup, CriteriaSuite

    frame, gx = gx_result
    suite = CriteriaSuite(metrics={}, groups=(CriteriaGroup("g", ("*",), tuple(CRITERIA)),))
    rows, _ = score_frame(frame.with_columns(task=pl.lit("t")), suite, "2025-01-01")
    summary = _criteria_summary(rows, suite)
    ours = dict(zip(summary["criterion"], summary["gx_success"], strict=True))
    assert ours == gx.success
