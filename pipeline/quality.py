"""Data-quality checks on lake tables, run by Great Expectations 1.x.

GX validates pandas, not polars, so frames are converted at this boundary only. GX imports slowly and
phones home by default: it is imported lazily, with analytics off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import polars as pl


@dataclass(frozen=True)
class CheckOutcome:
    expectation: str
    kwargs: dict[str, Any]
    success: bool
    unexpected_count: int
    sample: list[Any]


@lru_cache(maxsize=1)
def _context() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _expectation(name: str, kwargs: dict[str, Any]) -> Any:
    import great_expectations as gx

    class_name = "".join(part.capitalize() for part in name.split("_"))
    return getattr(gx.expectations, class_name)(**kwargs)


def validate_frame(
    frame: pl.DataFrame, expectations: list[tuple[str, dict[str, Any]]], *, name: str = "frame"
) -> list[CheckOutcome]:
    """Validate `frame` against GE expectations given as (snake_case name, GE kwargs) pairs."""
    import great_expectations as gx

    context = _context()
    source_name = f"reverie_{name}"
    try:
        source = context.data_sources.get(source_name)
    except (KeyError, ValueError):
        source = context.data_sources.add_pandas(source_name)
    # One asset and batch definition per name, reused: the dataframe arrives as a batch parameter, so a
    # long-lived process (the Dagster daemon, `dagster dev`) does not grow the context with every check.
    try:
        asset = source.get_asset(name)
    except LookupError:
        asset = source.add_dataframe_asset(name)
    try:
        batch_definition = asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    suite = gx.ExpectationSuite(name=f"{name}_checks")
    for expectation, kwargs in expectations:
        suite.add_expectation(_expectation(expectation, kwargs))
    pandas_frame = frame.to_pandas()
    batch = batch_definition.get_batch(batch_parameters={"dataframe": pandas_frame})
    result = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5})
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        details = item.result or {}
        outcomes.append(
            CheckOutcome(
                expectation=config.type,
                kwargs={k: v for k, v in config.kwargs.items() if k != "batch_id"},
                success=bool(item.success),
                unexpected_count=int(details.get("unexpected_count") or 0),
                sample=[str(v) for v in (details.get("partial_unexpected_list") or [])][:5],
            )
        )
    return outcomes


EVENTS_EXPECTATIONS: list[tuple[str, dict[str, Any]]] = [
    ("expect_column_values_to_not_be_null", {"column": "session_id"}),
    ("expect_column_values_to_not_be_null", {"column": "event_id"}),
    ("expect_column_values_to_not_be_null", {"column": "ts"}),
    ("expect_compound_columns_to_be_unique", {"column_list": ["session_id", "event_id"]}),
    (
        "expect_column_values_to_be_in_set",
        {
            "column": "type",
            "value_set": [
                "session_start",
                "message",
                "tool_call",
                "tool_result",
                "decision",
                "observation",
                "error",
                "session_end",
            ],
        },
    ),
]

SESSIONS_EXPECTATIONS: list[tuple[str, dict[str, Any]]] = [
    ("expect_column_values_to_not_be_null", {"column": "session_id"}),
    ("expect_column_values_to_be_unique", {"column": "session_id"}),
    ("expect_column_values_to_not_be_null", {"column": "started_at"}),
    ("expect_column_values_to_be_between", {"column": "duration_s", "min_value": 0}),
    ("expect_column_values_to_be_between", {"column": "n_events", "min_value": 1}),
]


def insane_timestamps(frame: pl.DataFrame, column: str = "ts") -> pl.DataFrame:
    """Rows stamped before 2000 or more than a day in the future: clock bugs, not history."""
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    return frame.filter((pl.col(column) < datetime(2000, 1, 1, tzinfo=UTC)) | (pl.col(column) > tomorrow))
