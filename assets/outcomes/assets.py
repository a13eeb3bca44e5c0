"""Outcomes: every session of a day gets a verdict per criterion; `session_outcomes` folds them into one."""

from pathlib import Path

import dagster as dg
import polars as pl

from assets.shared.code_version import engine_code_version
from assets.shared.metadata import frame_metadata
from assets.shared.partitions import daily_partitions, days_with_data
from assets.shared.tables import OWNERS, table_metadata, table_tags
from pipeline import lake
from pipeline.outcomes import load_criteria, score_partition
from pipeline.outcomes.rubric import RubricGrader
from resources.lakehouse import LakehouseResource
from resources.llm import LLMResource

OUTCOMES_CODE = engine_code_version("pipeline.outcomes", "pipeline.quality", "pipeline.lake")


class ScoreConfig(dg.Config):
    criteria: list[str] = []  # extra criteria files or folders (`reverie score --criteria PATH`)


@dg.asset(
    deps=["sessions"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="outcomes",
    kinds={"polars", "parquet"},
    owners=OWNERS,
    tags=table_tags("lake"),
    metadata=table_metadata("outcomes"),
    check_specs=[
        dg.AssetCheckSpec(
            "every_session_scored",
            asset="outcomes",
            blocking=True,
            partitions_def=daily_partitions,
            description="Every session of the day has a verdict for every criterion that applies to it; "
            "a session the suite could not score fails the check (and stops the dream downstream).",
        )
    ],
    description="Per-session verdicts for every criterion of `outcomes/*.yaml`, `REVERIE_HOME/outcomes/*.yaml` "
    "and any `--criteria` files (Great Expectations vocabulary compiled to polars, plus Claude-graded rubrics "
    "when a key is configured; otherwise `not_graded`).",
    code_version=OUTCOMES_CODE,
)
def outcomes(
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
        for row in scored.group_by("criterion")
        .agg(pl.col("passed").cast(pl.Float64).mean().alias("pass_rate"))
        .sort("criterion")
        .to_dicts()
    }
    check = dg.AssetCheckResult(
        asset_key="outcomes",
        check_name="every_session_scored",
        passed=unscored == 0,
        metadata={"sessions": n_sessions, "unscored": unscored},
    )
    return dg.MaterializeResult(
        check_results=[check],
        metadata={
            **frame_metadata(scored),
            "pass_rate_by_criterion": dg.MetadataValue.json(pass_rates),
            "sessions_scored": n_sessions,
            "scored_days": dg.MetadataValue.json(written),
            "rubric_grader": settings.model if grader else "not_graded (no ANTHROPIC_API_KEY)",
        },
    )


@dg.asset(
    deps=["sessions", outcomes],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="outcomes",
    kinds={"duckdb", "sql"},
    owners=OWNERS,
    tags={"layer": "lake", "storage": "view"},
    metadata=table_metadata("session_outcomes"),
    description="One verdict per session, defined once in `sql/views.sql` (a DuckDB view over `outcomes`): "
    "success = every required criterion passed; score = weighted pass fraction over graded criteria. "
    "Materializing it refreshes the catalog's views and records the day's success rate.",
    code_version=engine_code_version("pipeline.lake", "sql"),
)
def session_outcomes(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    lakehouse.refresh_catalog()
    start, end = context.partition_key_range.start, context.partition_key_range.end
    frame = (
        lakehouse.connect()
        .sql(
            "SELECT * FROM session_outcomes WHERE date BETWEEN $start::DATE AND $end::DATE ORDER BY date, session_id",
            params={"start": start, "end": end},
        )
        .pl()
    )
    success_rate = float(frame["success"].cast(pl.Float64).mean()) if frame.height else 0.0
    return dg.MaterializeResult(metadata={**frame_metadata(frame), "success_rate": success_rate})
