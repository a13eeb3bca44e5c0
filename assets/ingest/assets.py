"""Ingest assets: landing logs -> staged per-file tables (+ `rejects`) -> daily `events` and `sessions`."""

from pathlib import Path

import dagster as dg

from assets.shared.checks import gx_check, timestamp_check
from assets.shared.code_version import engine_code_version
from assets.shared.metadata import frame_metadata
from assets.shared.partitions import daily_partitions, days_with_data
from assets.shared.tables import OWNERS, table_metadata, table_tags
from pipeline import lake
from pipeline.ingest import engine
from pipeline.quality import EVENTS_EXPECTATIONS, SESSIONS_EXPECTATIONS
from resources.ingest_request import requested_paths
from resources.lakehouse import LakehouseResource

INGEST_CODE = engine_code_version("pipeline.ingest", "pipeline.redaction", "pipeline.events", "pipeline.lake")


def landing_fingerprint(landing: Path) -> dict[str, float]:
    """How many files landing holds and when the newest changed: a new file or an edit changes it."""
    files = (
        [p for p in landing.rglob("*") if p.is_file() and not p.name.startswith(".")]
        if landing.exists()
        else []
    )
    return {"count": len(files), "max_mtime": max((p.stat().st_mtime for p in files), default=0.0)}


@dg.multi_observable_source_asset(
    specs=[
        dg.AssetSpec(
            "landing_logs",
            description="Raw session logs as they arrive in `REVERIE_HOME/landing` (any supported format), "
            "plus any paths passed to `reverie ingest`. Observing it records how many files landing holds; its "
            "data version changes when a file is added or edited.",
            group_name="ingest",
            kinds={"file"},
            owners=OWNERS,
            tags={"layer": "landing"},
        )
    ],
)
def landing_logs(lakehouse: LakehouseResource):
    landing = lakehouse.reverie_home.landing
    fingerprint = landing_fingerprint(landing)
    yield dg.ObserveResult(
        asset_key="landing_logs",
        data_version=dg.DataVersion(f"{int(fingerprint['count'])}-{fingerprint['max_mtime']:.6f}"),
        metadata={"files": int(fingerprint["count"]), "path": dg.MetadataValue.path(str(landing))},
    )


class StageConfig(dg.Config):
    paths: list[str] = []  # empty: the landing folder (or the paths of an `ingest_request`)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "staged_logs",
            deps=["landing_logs", "mission_batch"],
            description="Every source file sniffed, parsed, redacted and normalized to reverie.event/v1 rows "
            "(staged in batches keyed by each file's content hash, so unchanged files are skipped).",
            group_name="ingest",
            kinds={"python", "parquet"},
            owners=OWNERS,
            tags={"layer": "staging", "storage": "parquet"},
            code_version=INGEST_CODE,
        ),
        dg.AssetSpec(
            "rejects",
            deps=["staged_logs"],
            description="Lines that could not be ingested, with file, line and reason (the line itself "
            "truncated and redacted): one partition folder per ingest day, rebuilt by the staging step.",
            group_name="lake",
            kinds={"duckdb", "parquet"},
            owners=OWNERS,
            tags=table_tags("lake"),
            metadata=table_metadata("rejects"),
            code_version=INGEST_CODE,
        ),
    ],
)
def staged_logs(context: dg.AssetExecutionContext, config: StageConfig, lakehouse: LakehouseResource):
    home = lakehouse.reverie_home
    paths = [Path(p) for p in (*requested_paths(), *config.paths)] or [home.landing]
    report = engine.stage_files(home, paths)
    built = {
        day.isoformat(): engine.build_rejects_partition(home, day) for day in sorted(report.reject_dates)
    }
    lakehouse.refresh_catalog()
    context.log.info(
        f"staged {report.files_staged} files ({report.files_skipped_unchanged} unchanged): "
        f"{report.events} events, {report.rejects} rejects"
    )
    yield dg.MaterializeResult(
        asset_key="staged_logs",
        metadata={
            "files_seen": report.files_seen,
            "files_staged": report.files_staged,
            "files_unchanged": report.files_skipped_unchanged,
            "events": report.events,
            "rejects": report.rejects,
            "by_format": dg.MetadataValue.json(dict(report.by_format)),
            "records_skipped": dg.MetadataValue.json(report.records_skipped),
            "paths_skipped": dg.MetadataValue.json(report.skipped_paths),
            "failure_reason": report.failure_reason or "",
            "session_dates": dg.MetadataValue.json(sorted(d.isoformat() for d in report.session_dates)),
        },
    )
    rebuilt = [day for day, n in built.items() if n]
    yield dg.MaterializeResult(
        asset_key="rejects",
        metadata={
            **frame_metadata(lake.read_table(home, "rejects", rebuilt[-1:]) if rebuilt else None),
            "dagster/row_count": sum(built.values()),
            "rows_by_ingest_day": dg.MetadataValue.json({k: v for k, v in built.items() if v}),
        },
    )


@dg.asset(
    deps=["staged_logs"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="lake",
    kinds={"duckdb", "parquet"},
    owners=OWNERS,
    tags=table_tags("lake"),
    metadata=table_metadata("events"),
    check_specs=[
        dg.AssetCheckSpec(
            "ids_present_and_unique",
            asset="events",
            blocking=True,
            partitions_def=daily_partitions,
            description="Great Expectations on the built days: session_id, event_id and ts present, "
            "(session_id, event_id) unique, type in the event vocabulary. Blocking: a failure stops the "
            "tables downstream.",
        ),
        dg.AssetCheckSpec(
            "timestamps_sane",
            asset="events",
            partitions_def=daily_partitions,
            description="Warns when an event is stamped before 2000 or more than a day ahead: a clock bug in "
            "the source, not history.",
        ),
    ],
    description="Normalized events of the sessions that started on the partition's day (UTC), "
    "deduplicated on (session_id, event_id).",
    code_version=INGEST_CODE,
)
def events(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    home = lakehouse.reverie_home
    start, end = context.partition_key_range.start, context.partition_key_range.end
    days = days_with_data(start, end, engine.staged_dates(home), lake.partitions(home, "events"))
    counts = {day.isoformat(): engine.build_events_partition(home, day) for day in days}
    lakehouse.refresh_catalog()
    written = [d for d, n in counts.items() if n]
    checked = (
        lake.scan_table(home, "events", written).select("session_id", "event_id", "ts", "type").collect()
    )
    return dg.MaterializeResult(
        check_results=[
            gx_check("events", "ids_present_and_unique", checked, EVENTS_EXPECTATIONS),
            timestamp_check("events", checked, "ts"),
        ],
        metadata={
            **frame_metadata(lake.read_table(home, "events", written[-1:] or [end])),
            "dagster/row_count": sum(counts.values()),
            "rows_by_day": dg.MetadataValue.json({k: v for k, v in counts.items() if v}),
        },
    )


@dg.asset(
    deps=[events],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="lake",
    kinds={"duckdb", "parquet"},
    owners=OWNERS,
    tags=table_tags("lake"),
    metadata=table_metadata("sessions"),
    check_specs=[
        dg.AssetCheckSpec(
            "sessions_valid",
            asset="sessions",
            blocking=True,
            partitions_def=daily_partitions,
            description="Great Expectations on the built days: session_id present and unique, a start "
            "time, a duration of at least 0 s and at least one event. Blocking.",
        )
    ],
    description="One row per session: task, context, timing, counts, tokens, final status, playbook version.",
    code_version=INGEST_CODE,
)
def sessions(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    home = lakehouse.reverie_home
    start, end = context.partition_key_range.start, context.partition_key_range.end
    days = days_with_data(start, end, lake.partitions(home, "events"), lake.partitions(home, "sessions"))
    counts = {day.isoformat(): engine.build_sessions_partition(home, day) for day in days}
    lakehouse.refresh_catalog()
    written = [d for d, n in counts.items() if n]
    frame = lake.read_table(home, "sessions", written)
    return dg.MaterializeResult(
        check_results=[
            gx_check(
                "sessions",
                "sessions_valid",
                frame.select("session_id", "started_at", "duration_s", "n_events"),
                SESSIONS_EXPECTATIONS,
            )
        ],
        metadata={
            **frame_metadata(frame),
            "dagster/row_count": sum(counts.values()),
            "sessions_by_day": dg.MetadataValue.json({k: v for k, v in counts.items() if v}),
            "formats": dg.MetadataValue.json(
                frame.group_by("source_format").len().to_dicts() if frame.height else []
            ),
        },
    )
