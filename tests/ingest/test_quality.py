"""Great Expectations checks on lake frames: real GE verdicts, and no growth of the GE context per call."""

import polars as pl

from pipeline import quality


def test_validate_frame_reports_real_great_expectations_verdicts():
    frame = pl.DataFrame({"session_id": ["a", "b", None], "n": [1, 2, 3]})
    outcomes = quality.validate_frame(
        frame,
        [
            ("expect_column_values_to_not_be_null", {"column": "session_id"}),
            ("expect_column_values_to_be_between", {"column": "n", "min_value": 0, "max_value": 10}),
        ],
        name="verdicts",
    )
    by_type = {o.expectation: o for o in outcomes}
    assert not by_type["expect_column_values_to_not_be_null"].success
    assert by_type["expect_column_values_to_not_be_null"].unexpected_count == 1
    assert by_type["expect_column_values_to_be_between"].success


def test_repeated_validation_reuses_one_asset():
    """The Dagster daemon validates every partition in one process; the GE context must not grow per call."""
    frame = pl.DataFrame({"x": [1, None]})
    for _ in range(4):
        (outcome,) = quality.validate_frame(
            frame, [("expect_column_values_to_not_be_null", {"column": "x"})], name="reuse"
        )
        assert outcome.unexpected_count == 1
    assert len(quality._context().data_sources.get("reverie_reuse").assets) == 1
