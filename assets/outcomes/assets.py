"""Outcome scores: every session of a day gets a verdict per criterion."""


from pathlib import Path

import dagster as dg
import polars as pl

from assets.shared.metadata import frame_metadata
from assets.shared.partitions import daily_partitions, days_with_data
from pipeline import lake
from pipeline.events import OUTCOMES_SCHEMA
from pipeline.outcomes import load_criteria, score_partition
from pipeline.outcomes.rubric import RubricGrader
from resources.lakehouse import LakehouseResource
from resources.llm import LLMResource


class ScoreConfig(dg.Config):
    criteria: list[str] = []  # extra criteria files or folders (`reverie score --criteria PATH`)


@dg.asset(
    deps=["sessions"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="outcomes",
    kinds={"polars", "parquet"},
    check_specs=[dg.AssetCheckSpec("every_session_scored", asset="outcome_scores", blocking=True)],
    description="Per-session verdicts for every criterion of outcomes/*.yaml, REVERIE_HOME/outcomes/*.yaml and "
    "any `--criteria` files (Great Expectations vocabulary compiled to polars, plus Claude-graded rubrics when a "
    "key is configured; otherwise `not_graded`).",
    code_version="2",
)
def outcome_scores(
    context: dg.AssetExecutionContext, config: ScoreConfig, lakehouse: LakehouseResource, llm: LLMResource
):
    home = lakehouse.reverie_home
    suite = load_criteria(home_root=home.root, extra=[Path(p) for p in config.criteria])
    settings = llm.settings()
    grader = RubricGrader(settings, cache_dir=home.cache / "rubrics") if settings.available else None
    start, end = context.partition_key_range.start, context.partition_key_range.end
    days = days_with_data(start, end, lake.partitions(home, "sessions"), lake.partitions(home, "outcomes"))
    reports = [score_partition(home, day, suite, grader=grader) for day in days]
    lakehouse.refresh_catalog()
    written = [str(r.day) for r in reports if r.n_sessions]
    scored = lake.read_table(home, "outcomes", written)
    n_sessions = sum(r.n_sessions for r in reports)
    unscored = sum(r.unscored_sessions for r in reports)
    pass_rates = {
        row["criterion"]: row["pass_rate"]
        for row in scored.group_by("criterion").agg(pl.col("passed").cast(pl.Float64).mean().alias("pass_rate"))
        .sort("criterion").to_dicts()
    }
    # Success is defined once, by the `session_outcomes` view (sql/views.sql).
    success_rate = lakehouse.connect().execute(
        "SELECT coalesce(avg(success::INT), 0) FROM session_outcomes WHERE date::VARCHAR IN (SELECT unnest($1))",
        [written],
    ).fetchone()[0]
    check = dg.AssetCheckResult(
        asset_key="outcome_scores",
        check_name="every_session_scored",
        passed=unscored == 0,
        metadata={"sessions": n_sessions, "unscored": unscored},
    )
    return dg.MaterializeResult(
        check_results=[check],
        metadata={
            **frame_metadata(scored, OUTCOMES_SCHEMA),
            "pass_rate_by_criterion": dg.MetadataValue.json(pass_rates),
            "success_rate": float(success_rate),
            "sessions_scored": n_sessions,
            "rubric_grader": settings.model if grader else "not_graded (no ANTHROPIC_API_KEY)",
        },
    )

