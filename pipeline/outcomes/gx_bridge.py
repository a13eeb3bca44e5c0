"""Run the same criteria through Great Expectations 1.x itself.

The vectorized engine claims GE's verdicts; this is how that claim is checked (parity tests, the
benchmark) and how anyone can audit a partition with the reference implementation. GE is imported lazily:
its import alone takes seconds, which scoring should never pay.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from pipeline.outcomes.spec import Criterion

RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["session_id"]}


@dataclass(frozen=True)
class GxValidation:
    verdicts: pl.DataFrame  # session_id + one boolean column per criterion (True = not unexpected)
    success: dict[str, bool]  # GE's own expectation-level success (where `mostly` applies)
    raised: dict[str, str]  # criteria whose validation raised inside GE, with the exception message


def _gx_context() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    return context


def validate_with_gx(frame: pl.DataFrame, criteria: Sequence[Criterion]) -> GxValidation:
    """Validate `frame` (one row per session) against the expectation criteria with GE's pandas engine."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    context = _gx_context()
    batch = (
        context.data_sources.add_pandas("reverie_sessions")
        .add_dataframe_asset("session_metrics")
        .add_batch_definition_whole_dataframe("all_sessions")
        .get_batch(batch_parameters={"dataframe": frame.to_pandas()})
    )
    expectation_criteria = [c for c in criteria if not c.is_rubric]
    results = []
    for index, members in enumerate(_suites_without_lookalikes(expectation_criteria)):
        suite = gx.ExpectationSuite(name=f"reverie_outcomes_{index}")
        for criterion in members:
            suite.add_expectation_configuration(
                ExpectationConfiguration(
                    type=criterion.expectation_type or "",
                    kwargs=dict(criterion.expectation_kwargs),
                    meta={"criterion": criterion.name},
                )
            )
        results.extend(batch.validate(suite, result_format=RESULT_FORMAT).results)
    ids = frame["session_id"]
    verdicts: dict[str, pl.Series] = {"session_id": ids}
    success: dict[str, bool] = {}
    raised: dict[str, str] = {}
    for outcome in results:
        name = outcome.expectation_config.meta["criterion"]
        success[name] = bool(outcome.success)
        exception = _raised(outcome.exception_info)
        if exception:
            raised[name] = exception
        unexpected = outcome.result.get("unexpected_index_list")
        if unexpected is None:
            # aggregate path (e.g. a typed column for _to_be_of_type): the verdict is the column's
            verdicts[name] = pl.repeat(bool(outcome.success), len(ids), eager=True)
        else:
            bad = {row["session_id"] for row in unexpected}
            verdicts[name] = ~ids.is_in(list(bad))
    ordered = ["session_id", *[c.name for c in expectation_criteria if c.name in verdicts]]
    return GxValidation(pl.DataFrame(verdicts).select(ordered), success, raised)


def _suites_without_lookalikes(criteria: Sequence[Criterion]) -> list[list[Criterion]]:
    """GE suites replace an expectation by a later one of the same type on the same column: split them."""
    suites: list[list[Criterion]] = []
    for criterion in criteria:
        key = (criterion.expectation_type, criterion.column)
        home = next((s for s in suites if all((c.expectation_type, c.column) != key for c in s)), None)
        if home is None:
            suites.append(home := [])
        home.append(criterion)
    return suites


def _raised(info: Any) -> str:
    """GE nests exception info per metric; find any raised exception message."""
    if isinstance(info, dict):
        if info.get("raised_exception"):
            return str(info.get("exception_message") or "raised")
        for value in info.values():
            found = _raised(value)
            if found:
                return found
    elif hasattr(info, "raised_exception") and info.raised_exception:
        return str(getattr(info, "exception_message", "raised"))
    return ""
