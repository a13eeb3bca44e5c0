"""Outcomes: what success means for a task, judged for every session.

Criteria (YAML, Great Expectations vocabulary or Claude-graded rubrics) are loaded by `load_criteria`,
session metrics computed by `compute_metrics`, and `score_partition` writes one verdict per session and
criterion to the `outcomes` table. The Dagster asset and the CLI are thin callers of these functions.
"""

from pipeline.outcomes.metrics import MetricError, compute_metrics
from pipeline.outcomes.scoring import (
    ScoreReport,
    evaluate_expectations,
    score_all,
    score_partition,
    show_outcomes,
)
from pipeline.outcomes.spec import CriteriaError, CriteriaGroup, CriteriaSuite, Criterion, load_criteria

__all__ = [
    "CriteriaError",
    "CriteriaGroup",
    "CriteriaSuite",
    "Criterion",
    "MetricError",
    "ScoreReport",
    "compute_metrics",
    "evaluate_expectations",
    "load_criteria",
    "score_all",
    "score_partition",
    "show_outcomes",
]
