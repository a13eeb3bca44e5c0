"""The ingest engine: stage source files, then build the date-partitioned `events`, `sessions`, `rejects`.

Two steps because a session's partition is its start date, which is only known once all its files are
read (subagent transcripts and resumed sessions arrive as separate files). `stage_files` is incremental
and parallel (one worker process per core, one staged Parquet per ~8 MB batch of files); the
`build_*_partition` functions are pure DuckDB SQL over staging, so rebuilding any day is cheap,
deterministic and idempotent, and `build_partitions` rebuilds several days side by side.
The Dagster assets (`staged_logs` -> `session_events` -> `sessions`) and `reverie ingest` call these.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline.events import EVENTS_SCHEMA, REJECTS_SCHEMA, SESSIONS_SCHEMA
from pipeline.home import ReverieHome
from pipeline.ingest.staging import (
    StagedFile,
    events_path,
    read_manifest,
    read_session_index,
    record_staged,
    rejects_path,
    stage_files_together,
)
from pipeline.lake import partition_files, write_partition
from pipeline.redaction import Redactor

LOG_SUFFIXES = {".jsonl", ".ndjson", ".json", ".log", ".jsonlines"}
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
"""Below this, starting worker processes (each imports pyarrow and polars) costs more than it saves."""
TASK_CHARS = 500


@dataclass
class StageReport:
    """What one `stage_files` run did: the CLI prints it, the Dagster asset attaches it as metadata."""

    files_seen: int = 0
    files_staged: int = 0
    files_skipped_unchanged: int = 0
    events: int = 0
    rejects: int = 0
    redactions: int = 0
    events_already_staged: int = 0
    by_format: dict[str, int] = field(default_factory=dict)  # files staged per source format
    session_dates: set[date] = field(default_factory=set)  # `events`/`sessions` partitions to rebuild
    reject_dates: set[date] = field(default_factory=set)  # `rejects` partitions to rebuild
    unknown_format: list[str] = field(default_factory=list)

    @property
    def nothing_ingested(self) -> bool:
        """True when the inputs hold no usable event at all, new or previously staged (exit non-zero)."""
        return self.events == 0 and self.events_already_staged == 0

    @property
    def failure_reason(self) -> str | None:
        """A one-line reason for `nothing_ingested`, phrased so the user knows what to check."""
        if not self.nothing_ingested:
            return None
        if self.files_seen == 0:
            return "no log files found (looked for .jsonl/.json/.ndjson/.log files, hidden ones skipped)"
        if len(self.unknown_format) == self.files_seen:
            return f"none of the {self.files_seen} files is in a known log format (see `reverie formats`)"
        return f"no valid event in {self.files_seen} files: {self.rejects} lines rejected (see the rejects table)"


def discover_files(paths: Sequence[Path]) -> list[Path]:
    """Log files under `paths`: named files as given, folders recursively (hidden entries and
    sidecar `*.meta.json` skipped), resolved and sorted so runs are deterministic."""
    found: set[Path] = set()
    for given in paths:
        given = Path(given).expanduser()
        if given.is_file():
            found.add(given.resolve())
            continue
        if not given.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(given):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith(".") or name.endswith(".meta.json"):
                    continue
                if Path(name).suffix.lower() in LOG_SUFFIXES:
                    found.add((Path(dirpath) / name).resolve())
    return sorted(found)


# --- staging ------------------------------------------------------------------------------------------------

BATCH_BYTES = 8 * 1024 * 1024
"""Source files are staged in batches of about this size, one staged Parquet per batch: big enough that the
per-file cost of Parquet vanishes, small enough that both workers stay busy to the end of a run."""
BATCH_MAX_FILES = 256

_worker_args: tuple[ReverieHome, date, Redactor, frozenset[str]] | None = None


def _init_worker(
    home: ReverieHome, ingest_date: date, redactor: Redactor | None, known: frozenset[str]
) -> None:
    global _worker_args
    _worker_args = (home, ingest_date, redactor or Redactor(), known)


def _stage_in_worker(paths: list[Path]) -> list[StagedFile]:
    assert _worker_args is not None
    home, ingest_date, redactor, known = _worker_args
    return stage_files_together(home, paths, ingest_date, redactor, known)


def _batches(files: list[Path], sizes: list[int]) -> list[list[Path]]:
    """Consecutive files (so one session's transcripts tend to share a batch) up to `BATCH_BYTES` each,
    biggest batches first so the last ones to finish are small."""
    batches: list[list[Path]] = []
    batch_sizes: list[int] = []
    current: list[Path] = []
    size = 0
    for path, file_size in zip(files, sizes, strict=True):
        current.append(path)
        size += file_size
        if size >= BATCH_BYTES or len(current) >= BATCH_MAX_FILES:
            batches.append(current)
            batch_sizes.append(size)
            current, size = [], 0
    if current:
        batches.append(current)
        batch_sizes.append(size)
    order = sorted(range(len(batches)), key=lambda i: -batch_sizes[i])
    return [batches[i] for i in order]


def _stage_all(
    home: ReverieHome,
    files: list[Path],
    ingest_date: date,
    workers: int,
    redactor: Redactor | None,
    known: frozenset[str],
) -> Iterator[StagedFile]:
    sizes = [f.stat().st_size for f in files]
    batches = _batches(files, sizes)
    if workers <= 1 or len(batches) < 2 or sum(sizes) < PARALLEL_MIN_BYTES:
        active = redactor or Redactor()
        for batch in batches:
            yield from stage_files_together(home, batch, ingest_date, active, known)
        return
    # spawn, not fork: the parent may hold DuckDB/polars thread pools (and runs inside Dagster).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(home, ingest_date, redactor, known),
    ) as pool:
        futures = [pool.submit(_stage_in_worker, batch) for batch in batches]
        for future in as_completed(futures):
            yield from future.result()


def stage_files(
    home: ReverieHome,
    paths: Sequence[Path],
    *,
    ingest_date: date | None = None,
    workers: int | None = None,
    redactor: Redactor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StageReport:
    """Stage every log file under `paths` into `home.staging`; skip files already staged unchanged.

    Never raises on bad input: broken lines, empty files and unknown formats become rejects (dated
    `ingest_date`, default today UTC). `workers` defaults to the CPU count. `progress(done, total)` is
    called after each file. The report's `session_dates`/`reject_dates` say which partitions to rebuild.
    """
    home.staging.mkdir(parents=True, exist_ok=True)
    ingest_date = ingest_date or datetime.now(UTC).date()
    files = discover_files(paths)
    manifest = read_manifest(home)
    known = frozenset(manifest["stage_key"].to_list())
    report = StageReport(files_seen=len(files))
    staged: list[StagedFile] = []
    formats: Counter[str] = Counter()
    for done, result in enumerate(
        _stage_all(home, files, ingest_date, workers or os.cpu_count() or 1, redactor, known), start=1
    ):
        staged.append(result)
        if result.skipped:
            report.files_skipped_unchanged += 1
        else:
            report.files_staged += 1
            report.events += result.n_events
            report.rejects += result.n_rejects
            report.redactions += result.n_redactions
            formats[result.source_format] += 1
            if result.source_format == "unknown":
                report.unknown_format.append(result.source_file)
            if result.n_rejects:
                report.reject_dates.add(ingest_date)
        if progress is not None:
            progress(done, len(files))
    skipped_keys = [s.stage_key for s in staged if s.skipped]
    report.events_already_staged = int(
        manifest.filter(pl.col("stage_key").is_in(skipped_keys))["n_events"].sum()
    )
    report.by_format = dict(sorted(formats.items()))
    touched_sessions = record_staged(home, staged)
    starts = session_start_dates(home)
    report.session_dates = {starts[s] for s in touched_sessions if s in starts}
    return report


# --- partitions ---------------------------------------------------------------------------------------------


def _session_starts(home: ReverieHome) -> pl.DataFrame:
    """One row per session: its first timestamp across ALL staged files (the partition it belongs to)."""
    return (
        read_session_index(home)
        .group_by("session_id")
        .agg(pl.col("first_ts").min())
        .with_columns(pl.col("first_ts").dt.convert_time_zone("UTC").dt.date().alias("date"))
    )


def session_start_dates(home: ReverieHome) -> dict[str, date]:
    """Session id -> UTC start date, from every staged file (a session spread over files is one session)."""
    return dict(_session_starts(home).select("session_id", "date").iter_rows())


def staged_dates(home: ReverieHome) -> list[date]:
    """Every session start date present in staging, oldest first: the `events`/`sessions` partitions."""
    return sorted(_session_starts(home)["date"].unique().to_list())


def reject_dates(home: ReverieHome) -> list[date]:
    """Every ingest date that produced rejects, oldest first: the `rejects` partitions."""
    manifest = read_manifest(home).filter(pl.col("n_rejects") > 0)
    return sorted(manifest["ingest_date"].unique().to_list())


_duckdb_threads: int | None = None  # set while `build_partitions` runs days side by side


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # date casts and displays in UTC, whatever the machine's zone
    if _duckdb_threads is not None:
        con.execute(f"SET threads = {_duckdb_threads}")
    return con


def _sql_list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join("'" + p.as_posix().replace("'", "''") + "'" for p in paths) + "]"


def build_events_partition(home: ReverieHome, day: date) -> int:
    """Write the `events` partition of sessions starting on `day`; return its row count.

    Events are deduplicated on (session_id, event_id), keeping the earliest copy (by ts, file, line), and
    numbered `seq` in transcript order (session_start first, session_end last at equal timestamps).
    """
    starts = _session_starts(home).filter(pl.col("date") == day).select("session_id")
    index = read_session_index(home).join(starts, on="session_id", how="semi")
    current = index.select("stage_key").unique().join(read_manifest(home), on="stage_key")
    files = [events_path(home, bundle) for bundle in sorted(current["bundle"].unique().to_list())]
    files = [f for f in files if f.exists()]
    if not files:
        write_partition(home, "events", day, EVENTS_SCHEMA.empty_table())
        return 0
    columns = ", ".join(name for name in EVENTS_SCHEMA.names if name != "date")
    con = _connect()
    try:
        con.register("wanted_sessions", starts.to_arrow())
        con.register("current_files", current.select("stage_key").to_arrow())
        table = con.sql(
            f"""
            WITH staged AS (
                SELECT * FROM read_parquet({_sql_list(files)})
                WHERE session_id IN (SELECT session_id FROM wanted_sessions)
                  AND stage_key IN (SELECT stage_key FROM current_files)
                QUALIFY row_number() OVER (
                    PARTITION BY session_id, event_id
                    ORDER BY ts, source_file, source_line NULLS FIRST, type, content
                ) = 1
            )
            SELECT {columns}, DATE '{day.isoformat()}' AS date,
                   n_redactions
            FROM (
                SELECT * EXCLUDE (seq, stage_key), row_number() OVER (
                    PARTITION BY session_id
                    ORDER BY ts,
                             CASE type WHEN 'session_start' THEN 0 WHEN 'session_end' THEN 2 ELSE 1 END,
                             source_file, source_line NULLS FIRST, event_id
                ) - 1 AS seq
                FROM staged
            )
            ORDER BY session_id, seq
            """
        ).to_arrow_table()
    finally:
        con.close()
    write_partition(home, "events", day, table)
    return table.num_rows


_SESSIONS_SQL = """
WITH per_session AS (
    SELECT
        session_id,
        arg_min(input, seq) FILTER (WHERE type = 'session_start') AS start_input,
        arg_max(input, seq) FILTER (WHERE type = 'session_end') AS end_input,
        arg_min(content, seq) FILTER (WHERE type = 'message' AND role = 'user') AS first_prompt,
        arg_min(source_format, seq) AS source_format,
        min(ts) AS started_at,
        max(ts) AS ended_at,
        list_sort(list_distinct(list(agent))) AS agents,
        count(*) AS n_events,
        count(*) FILTER (WHERE type = 'message') AS n_messages,
        count(*) FILTER (WHERE type = 'tool_call') AS n_tool_calls,
        count(*) FILTER (WHERE is_error OR type = 'error') AS n_errors,
        sum(tokens_in) AS tokens_in,
        sum(tokens_out) AS tokens_out,
        sum(coalesce(n_redactions, 0)) AS n_redactions
    FROM read_parquet({files})
    GROUP BY session_id
)
SELECT
    session_id,
    coalesce(json_extract_string(start_input, '$.task'), left(first_prompt, {task_chars})) AS task,
    source_format,
    started_at,
    ended_at,
    epoch(ended_at) - epoch(started_at) AS duration_s,
    agents,
    n_events,
    n_messages,
    n_tool_calls,
    n_errors,
    tokens_in,
    tokens_out,
    coalesce(json_extract(start_input, '$.context')::VARCHAR, '{{}}') AS context,
    json_extract_string(end_input, '$.status') AS final_status,
    json_extract_string(start_input, '$.playbook_version') AS playbook_version,
    n_redactions,
    DATE '{day}' AS date
FROM per_session
ORDER BY started_at, session_id
"""


def build_sessions_partition(home: ReverieHome, day: date) -> int:
    """Aggregate the `events` partition of `day` into one `sessions` row per session; return the count.

    Task, context and playbook version come from the session_start event (Claude Code's adapter derives
    one from the first prompt and the transcript's cwd/branch/version/model); the final status from the
    last session_end. Build `events` for the day first.
    """
    files = partition_files(home, "events", [day])
    if not files:
        write_partition(home, "sessions", day, SESSIONS_SCHEMA.empty_table())
        return 0
    con = _connect()
    try:
        sql = _SESSIONS_SQL.format(task_chars=TASK_CHARS, day=day.isoformat(), files=_sql_list(files))
        table = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    write_partition(home, "sessions", day, table)
    return table.num_rows


def build_rejects_partition(home: ReverieHome, day: date) -> int:
    """Write the `rejects` partition of ingest date `day` from every file staged that day; return the count.

    Rebuilt from staging each time, so a second ingest on the same day adds its rejects to the first
    one's, and re-running changes nothing.
    """
    manifest = read_manifest(home).filter((pl.col("ingest_date") == day) & (pl.col("n_rejects") > 0))
    files = [rejects_path(home, bundle) for bundle in sorted(manifest["bundle"].unique().to_list())]
    files = [f for f in files if f.exists()]
    if not files:
        write_partition(home, "rejects", day, REJECTS_SCHEMA.empty_table())
        return 0
    table = (
        pl.read_parquet([str(f) for f in files])
        .filter(pl.col("stage_key").is_in(manifest["stage_key"].implode()))
        .select(REJECTS_SCHEMA.names)
        .with_columns(pl.lit(day).alias("date"))
        .sort("source_file", "source_line", "reason", nulls_last=False)
        .to_arrow()
    )
    write_partition(home, "rejects", day, table.cast(REJECTS_SCHEMA))
    return table.num_rows


@dataclass(frozen=True)
class PartitionCounts:
    """Rows written per rebuilt partition, by day."""

    events: dict[date, int] = field(default_factory=dict)
    sessions: dict[date, int] = field(default_factory=dict)
    rejects: dict[date, int] = field(default_factory=dict)


def build_partitions(
    home: ReverieHome,
    session_days: Iterable[date],
    reject_days: Iterable[date] = (),
    *,
    workers: int | None = None,
) -> PartitionCounts:
    """Rebuild `events` then `sessions` for each of `session_days`, and `rejects` for each of `reject_days`.

    Days are independent, so `workers` of them (default: the CPU count) are built side by side, each on a
    one-thread DuckDB connection: one day's window functions and sort keep about one core busy, so two
    days at once finish the set in about half the time of two threads on one day.
    """
    global _duckdb_threads
    counts = PartitionCounts()

    def one_day(day: date) -> None:
        counts.events[day] = build_events_partition(home, day)
        counts.sessions[day] = build_sessions_partition(home, day)

    def rejects(day: date) -> None:
        counts.rejects[day] = build_rejects_partition(home, day)

    jobs = [(one_day, day) for day in sorted(set(session_days))]
    jobs += [(rejects, day) for day in sorted(set(reject_days))]
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    if workers == 1:
        for job, day in jobs:
            job(day)
        return counts
    _duckdb_threads = 1
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(job, day) for job, day in jobs]:
                future.result()
    finally:
        _duckdb_threads = None
    return counts


def ingest(home: ReverieHome, paths: Sequence[Path], **stage_options: object) -> StageReport:
    """Stage `paths` and rebuild every partition they touched: the one-call path for the CLI and tests."""
    report = stage_files(home, paths, **stage_options)  # type: ignore[arg-type]
    workers = stage_options.get("workers")
    build_partitions(home, report.session_dates, report.reject_dates, workers=workers)  # type: ignore[arg-type]
    return report
