"""Ingest assets: landing logs -> staged per-file tables -> daily `events` and `sessions` partitions."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from assets.checks import gx_check, timestamp_check
from assets.metadata import frame_metadata
from assets.partitions import daily_partitions, days_with_data
from pipeline import lake
from pipeline.events import EVENTS_SCHEMA, SESSIONS_SCHEMA
from pipeline.ingest import engine
from pipeline.quality import EVENTS_EXPECTATIONS, SESSIONS_EXPECTATIONS
from resources.lakehouse import LakehouseResource

landing_logs = dg.AssetSpec(
    key="landing_logs",
    description="Raw session logs as they arrive in REVERIE_HOME/landing (any supported format), "
    "plus any paths passed to `reverie ingest`.",
    group_name="ingest",
    kinds={"file"},
)


class StageConfig(dg.Config):
    paths: list[str] = []  # empty: the landing folder (or the paths of an `IngestRequest`)


@dataclass(frozen=True)
class IngestRequest:
    """The paths one `reverie ingest` names, handed to its run in memory as a resource.

    Not run config: Dagster stores run config, tags and metadata in the instance's run storage under
    REVERIE_HOME, and a path can hold a secret (a folder named after a token). A resource object lives only
    in the process that runs the job, and staging stores paths only redacted.
    """

    paths: Sequence[str] = ()


INGEST_REQUEST = "ingest_request"


@dg.asset(
    deps=[landing_logs, "mission_batch"],
    group_name="ingest",
    kinds={"python", "parquet"},
    description="Every source file sniffed, parsed, redacted and normalized to reverie.event/v1 rows "
    "(staged in batches keyed by each file's content hash, so unchanged files are skipped). Bad lines go "
    "to `rejects`.",
    code_version="1",
    resource_defs={INGEST_REQUEST: dg.ResourceDefinition.hardcoded_resource(IngestRequest())},
)
def staged_logs(
    context: dg.AssetExecutionContext,
    config: StageConfig,
    lakehouse: LakehouseResource,
    ingest_request: dg.ResourceParam[IngestRequest],
):
    home = lakehouse.reverie_home
    paths = [Path(p) for p in (*ingest_request.paths, *config.paths)] or [home.landing]
    report = engine.stage_files(home, paths)
    n_rejects = sum(engine.build_rejects_partition(home, day) for day in sorted(report.reject_dates))
    lakehouse.refresh_catalog()
    context.log.info(
        f"staged {report.files_staged} files ({report.files_skipped_unchanged} unchanged): "
        f"{report.events} events, {report.rejects} rejects"
    )
    return dg.MaterializeResult(
        metadata={
            "files_seen": report.files_seen,
            "files_staged": report.files_staged,
            "files_unchanged": report.files_skipped_unchanged,
            "events": report.events,
            "rejects": report.rejects,
            "rejects_in_partitions": n_rejects,
            "by_format": dg.MetadataValue.json(dict(report.by_format)),
            "records_skipped": dg.MetadataValue.json(report.records_skipped),
            "paths_skipped": dg.MetadataValue.json(report.skipped_paths),
            "failure_reason": report.failure_reason or "",
            "session_dates": dg.MetadataValue.json(sorted(d.isoformat() for d in report.session_dates)),
        }
    )


@dg.asset(
    deps=[staged_logs],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="lake",
    kinds={"duckdb", "parquet"},
    check_specs=[
        dg.AssetCheckSpec("ids_present_and_unique", asset="session_events", blocking=True),
        dg.AssetCheckSpec("timestamps_sane", asset="session_events"),
    ],
    description="Normalized events of the sessions that started on the partition's day (UTC), "
    "deduplicated on (session_id, event_id).",
    code_version="1",
)
def session_events(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    home = lakehouse.reverie_home
    start, end = context.partition_key_range.start, context.partition_key_range.end
    days = days_with_data(start, end, engine.staged_dates(home), lake.partitions(home, "events"))
    counts = {day.isoformat(): engine.build_events_partition(home, day) for day in days}
    lakehouse.refresh_catalog()
    written = [d for d, n in counts.items() if n]
    checked = lake.scan_table(home, "events", written).select("session_id", "event_id", "ts", "type").collect()
    return dg.MaterializeResult(
        check_results=[
            gx_check("session_events", "ids_present_and_unique", checked, EVENTS_EXPECTATIONS),
            timestamp_check("session_events", checked, "ts"),
        ],
        metadata={
            **frame_metadata(lake.read_table(home, "events", written[-1:] or [end]), EVENTS_SCHEMA),
            "dagster/row_count": sum(counts.values()),
            "rows_by_day": dg.MetadataValue.json({k: v for k, v in counts.items() if v}),
        }
    )


@dg.asset(
    deps=[session_events],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="lake",
    kinds={"duckdb", "parquet"},
    check_specs=[dg.AssetCheckSpec("sessions_valid", asset="sessions", blocking=True)],
    description="One row per session: task, context, timing, counts, tokens, final status, playbook version.",
    code_version="1",
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
                "sessions", "sessions_valid",
                frame.select("session_id", "started_at", "duration_s", "n_events"), SESSIONS_EXPECTATIONS,
            )
        ],
        metadata={
            **frame_metadata(frame, SESSIONS_SCHEMA),
            "dagster/row_count": sum(counts.values()),
            "sessions_by_day": dg.MetadataValue.json({k: v for k, v in counts.items() if v}),
            "formats": dg.MetadataValue.json(
                frame.group_by("source_format").len().to_dicts() if frame.height else []
            ),
        }
    )


