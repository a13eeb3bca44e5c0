"""Scoring: every session of a partition gets one verdict per criterion of the groups matching its task.

Expectations are evaluated as one polars `select` per criteria group over all sessions at once; rubric
criteria go to a `RubricGrader` in one batch. The result replaces the `outcomes` partition of that day, so
scoring is idempotent and re-scoring after a criteria change simply rewrites the verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.outcomes.expectations import ColumnInfo, compile_expectation, counts_nulls, describe_expectation
from pipeline.outcomes.metrics import compute_metrics
from pipeline.outcomes.spec import CriteriaGroup, CriteriaSuite, Criterion

if TYPE_CHECKING:
    from pipeline.outcomes.rubric import RubricGrader

GRADER_EXPECTATION = "expectation"
GRADER_NOT_GRADED = "not_graded"
OUTCOME_COLUMNS = ["session_id", "criterion", "passed", "value", "detail", "weight", "required", "grader"]


@dataclass(frozen=True)
class ScoreReport:
    """What a scoring run wrote and how it went; the integrator turns this into asset metadata and checks."""

    day: str
    outcomes: pl.DataFrame  # the rows written to the `outcomes` partition
    criteria: (
        pl.DataFrame
    )  # per criterion: sessions, passed, failed, not_graded, pass_rate, mostly, gx_success
    n_sessions: int
    n_scored_sessions: (
        int  # sessions with at least one verdict; equals n_sessions when a fallback group exists
    )
    rubric_calls: int  # LLM requests actually sent (0 when every verdict came from the cache)
    path: Path | None = None

    @property
    def unscored_sessions(self) -> int:
        return self.n_sessions - self.n_scored_sessions

    @property
    def pass_rates(self) -> dict[str, float | None]:
        return dict(zip(self.criteria["criterion"], self.criteria["pass_rate"], strict=True))


def evaluate_expectations(frame: pl.DataFrame, criteria: Sequence[Criterion]) -> pl.DataFrame:
    """`session_id` plus one boolean column per expectation criterion: True unless GE would list it unexpected.

    Pure and vectorized: this is the hot path the benchmark measures against Great Expectations.
    """
    expressions = []
    for criterion in criteria:
        if criterion.is_rubric:
            continue
        column = criterion.column or ""
        info = ColumnInfo(column, frame.schema[column], has_nulls=frame[column].null_count() > 0)
        compiled = compile_expectation(criterion.expectation_type or "", criterion.expectation_kwargs, info)
        expressions.append(compiled.alias(criterion.name))
    return frame.select(pl.col("session_id"), *expressions)


def _expectation_rows(frame: pl.DataFrame, criteria: Sequence[Criterion]) -> list[pl.DataFrame]:
    """One frame per criterion, each aligned row for row with `frame` (the group's sessions)."""
    verdicts = evaluate_expectations(frame, criteria)
    rows = []
    for criterion in criteria:
        if criterion.is_rubric:
            continue
        description = describe_expectation(criterion.expectation_type or "", criterion.expectation_kwargs)
        rows.append(
            pl.DataFrame(
                {
                    "session_id": frame["session_id"],
                    "passed": verdicts[criterion.name],
                    "value": frame[criterion.column or ""].cast(pl.String),
                }
            ).with_columns(
                criterion=pl.lit(criterion.name),
                detail=pl.lit(description),
                weight=pl.lit(criterion.weight),
                required=pl.lit(criterion.required),
                grader=pl.lit(GRADER_EXPECTATION),
            )
        )
    return rows


def _rubric_rows(
    home: ReverieHome | None,
    day: str,
    frame: pl.DataFrame,
    criteria: Sequence[Criterion],
    grader: RubricGrader | None,
) -> tuple[list[pl.DataFrame], int]:
    """Like `_expectation_rows` for rubric criteria: graded by `grader`, or recorded as not graded."""
    rubrics = [c for c in criteria if c.is_rubric]
    if not rubrics or frame.is_empty():
        return [], 0
    if grader is None:
        rows = [
            frame.select("session_id").with_columns(
                criterion=pl.lit(c.name),
                passed=pl.lit(None, dtype=pl.Boolean),
                value=pl.lit(GRADER_NOT_GRADED),
                detail=pl.lit("no LLM configured: rubric not graded (never counted as passed)"),
                weight=pl.lit(c.weight),
                required=pl.lit(c.required),
                grader=pl.lit(GRADER_NOT_GRADED),
            )
            for c in rubrics
        ]
        return rows, 0
    if home is None:
        raise ValueError("rubric grading needs the home (transcripts and cache live there)")
    from pipeline.outcomes.rubric import grade_sessions

    graded, calls = grade_sessions(home, day, frame["session_id"].to_list(), rubrics, grader)
    # grade_sessions keeps the session order within each criterion, so each slice stays aligned
    return [graded.filter(pl.col("criterion") == c.name) for c in rubrics], calls


def _aligned_scores(parts: Sequence[pl.DataFrame]) -> pl.Series:
    """Weighted pass fraction over graded criteria, for parts aligned row for row with the same sessions.

    Horizontal sums over aligned columns avoid a group-by/join over millions of outcome rows.
    """
    passed = sum(
        (p["passed"].fill_null(False).cast(pl.Float64) * p["weight"] for p in parts), pl.Series([0.0])
    )
    graded = sum((p["passed"].is_not_null().cast(pl.Float64) * p["weight"] for p in parts), pl.Series([0.0]))
    return pl.select(pl.when(graded > 0).then(passed / graded)).to_series().alias("score")


def _scores_by_session(rows: pl.DataFrame) -> pl.DataFrame:
    """Slow path for sessions judged by several groups: the same definition via a group-by."""
    graded_weight = pl.when(pl.col("passed").is_not_null()).then(pl.col("weight")).otherwise(0.0)
    passed_weight = pl.when(pl.col("passed")).then(pl.col("weight")).otherwise(0.0)
    scores = rows.group_by("session_id").agg(passed_w=passed_weight.sum(), graded_w=graded_weight.sum())
    scores = scores.select(
        "session_id", score=pl.when(pl.col("graded_w") > 0).then(pl.col("passed_w") / pl.col("graded_w"))
    )
    return rows.drop("score").join(scores, on="session_id", how="left")


def _criteria_summary(rows: pl.DataFrame, suite: CriteriaSuite) -> pl.DataFrame:
    """Pass rate per criterion, plus GE's partition-level success (which is where `mostly` applies)."""
    stats = (
        rows.group_by("criterion", maintain_order=True)
        .agg(
            pl.len().alias("sessions"),
            pl.col("passed").sum().alias("passed"),
            (~pl.col("passed")).sum().alias("failed"),
            pl.col("passed").is_null().sum().alias("not_graded"),
            pl.col("value").is_null().sum().alias("null_values"),
        )
        .with_columns(pl.exclude("criterion").cast(pl.Int64))
    )  # unsigned counts would wrap on subtraction
    mostly = {c.name: c.mostly for c in suite.criteria}
    judged_nulls = {
        c.name: (not c.is_rubric and counts_nulls(c.expectation_type or "")) for c in suite.criteria
    }
    considered = pl.col("sessions") - pl.when(pl.col("judges_nulls")).then(0).otherwise(pl.col("null_values"))
    return (
        stats.with_columns(
            mostly=pl.col("criterion").replace_strict(mostly, return_dtype=pl.Float64),
            judges_nulls=pl.col("criterion").replace_strict(judged_nulls, return_dtype=pl.Boolean),
        )
        .with_columns(
            pass_rate=pl.when(pl.col("passed") + pl.col("failed") > 0).then(
                pl.col("passed") / (pl.col("passed") + pl.col("failed"))
            ),
            gx_success=pl.when(considered == 0)
            .then(True)
            .otherwise((considered - pl.col("failed")) / considered >= pl.col("mostly")),
        )
        .drop("judges_nulls", "null_values")
    )


def score_frame(
    metrics: pl.DataFrame,
    suite: CriteriaSuite,
    day: date | str,
    *,
    home: ReverieHome | None = None,
    grader: RubricGrader | None = None,
) -> tuple[pl.DataFrame, int]:
    """Outcome rows (OUTCOMES_SCHEMA) for a frame of session metrics, and the number of LLM calls made."""
    day = day if isinstance(day, str) else day.isoformat()
    task_key = pl.col("task").fill_null("")
    tasks = metrics.select(task_key.unique())["task"].to_list() if metrics.height else []
    groups: dict[str, CriteriaGroup] = {}
    tasks_of_group: dict[str, list[str]] = {}
    for task in tasks:
        for group in suite.groups_for(task):
            groups[group.name] = group
            tasks_of_group.setdefault(group.name, []).append(task)
    scored: list[pl.DataFrame] = []
    calls = 0
    judged = 0
    for name, group in groups.items():
        subset = metrics.filter(task_key.is_in(tasks_of_group[name]))
        judged += subset.height
        parts = _expectation_rows(subset, group.criteria)
        rubric_parts, group_calls = _rubric_rows(home, day, subset, group.criteria, grader)
        parts.extend(rubric_parts)
        calls += group_calls
        score = _aligned_scores(parts)
        scored.extend(p.select(OUTCOME_COLUMNS).with_columns(score) for p in parts)
    date_value = pl.lit(date.fromisoformat(day))
    if not scored:
        return pl.DataFrame(schema=_EMPTY_SCHEMA).with_columns(date=date_value), calls
    rows = pl.concat(scored, how="vertical_relaxed").with_columns(date=date_value)
    if judged > metrics.height:  # some session matched several groups: its score spans all of them
        rows = _scores_by_session(rows)
    return rows, calls


_EMPTY_SCHEMA = {
    "session_id": pl.String,
    "criterion": pl.String,
    "passed": pl.Boolean,
    "value": pl.String,
    "detail": pl.String,
    "weight": pl.Float64,
    "required": pl.Boolean,
    "grader": pl.String,
    "score": pl.Float64,
}


def score_partition(
    home: ReverieHome, day: date | str, suite: CriteriaSuite, *, grader: RubricGrader | None = None
) -> ScoreReport:
    """Score every session of the `sessions` partition `day` and replace the `outcomes` partition `day`.

    `grader=None` records rubric criteria as `not_graded`. Re-running with the same inputs writes the same
    rows and, thanks to the grader's cache, sends no new LLM requests.
    """
    day = day if isinstance(day, str) else day.isoformat()
    metrics = compute_metrics(home, day, suite)
    rows, calls = score_frame(metrics, suite, day, home=home, grader=grader)
    path = lake.write_partition(home, "outcomes", day, rows)
    return ScoreReport(
        day=day,
        outcomes=rows,
        criteria=_criteria_summary(rows, suite),
        n_sessions=metrics.height,
        n_scored_sessions=rows["session_id"].n_unique() if rows.height else 0,
        rubric_calls=calls,
        path=path,
    )


def score_all(
    home: ReverieHome, suite: CriteriaSuite, *, grader: RubricGrader | None = None
) -> list[ScoreReport]:
    """Score every ingested `sessions` partition (what `reverie score` runs); idempotent."""
    return [score_partition(home, day, suite, grader=grader) for day in lake.partitions(home, "sessions")]


def show_outcomes(home: ReverieHome, criterion: str | None = None) -> pl.DataFrame:
    """Without `criterion`: pass rates per criterion over all partitions. With it: that criterion's verdicts."""
    outcomes = lake.read_table(home, "outcomes")
    if criterion is not None:
        return (
            outcomes.filter(pl.col("criterion") == criterion)
            .select("date", "session_id", "passed", "value", "detail", "grader", "score")
            .sort("date", "session_id")
        )
    return (
        outcomes.group_by("criterion")
        .agg(
            sessions=pl.len(),
            passed=pl.col("passed").sum(),
            failed=(~pl.col("passed")).sum(),
            not_graded=pl.col("passed").is_null().sum(),
            required=pl.col("required").any(),
            weight=pl.col("weight").first(),
            first_date=pl.col("date").min(),
            last_date=pl.col("date").max(),
        )
        .with_columns(
            pass_rate=pl.when(pl.col("passed") + pl.col("failed") > 0).then(
                pl.col("passed") / (pl.col("passed") + pl.col("failed"))
            )
        )
        .sort("criterion")
    )
