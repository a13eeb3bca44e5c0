"""Building the date-partitioned `events`, `sessions` and `rejects` tables from staging, in DuckDB SQL.

The second step of ingest (see `pipeline.ingest.engine`): every partition is rebuilt from what is staged, so
rebuilding any day is cheap, deterministic and idempotent, and `build_partitions` rebuilds several days side
by side. A session's partition is its start date across all its staged files; a day's query reads only the
row groups of its staged days (`staged_frames.STAGED_DAY`) from the batches that hold its sessions.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.actions import add_actions
from pipeline.error_signatures import add_error_signatures
from pipeline.events import EVENTS_DERIVED_COLUMNS, EVENTS_SCHEMA, REJECTS_SCHEMA, SESSIONS_SCHEMA
from pipeline.home import ReverieHome
from pipeline.ingest import pending
from pipeline.ingest.manifest import read_manifest, read_session_index, session_starts_of
from pipeline.ingest.scope import session_branch, session_project
from pipeline.ingest.staged_frames import STAGED_DAY, write_staged_batch
from pipeline.ingest.staging import events_path, rejects_path
from pipeline.lake import conform, partition_files, write_partition

TASK_CHARS = 500
BUILD_MEMORY_LIMIT = "1GB"
"""DuckDB's memory for a partition build (its queries stream or work on one day at a time)."""
# Empty tables built from no batches: `Schema.empty_table()` imports pandas (~1 s of CPU in the parent and
# again in every spawned staging worker, which imports this module through the engine).
_EMPTY_EVENTS = pa.Table.from_batches([], schema=EVENTS_SCHEMA.append(pa.field("n_redactions", pa.int64())))


def _session_starts(home: ReverieHome) -> pl.DataFrame:
    """One row per session: its start across its dating files (the partition it belongs to; see
    `session_starts_of`)."""
    return session_starts_of(read_session_index(home), read_manifest(home))


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


def _connect() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB (its own database: concurrent builds share nothing) in UTC, within
    `BUILD_MEMORY_LIMIT` and spilling, if ever, to a folder in the system's temporary directory (never to
    DuckDB's default `.tmp` in whatever folder the process runs in)."""
    con = duckdb.connect(config={"memory_limit": BUILD_MEMORY_LIMIT, "temp_directory": tempfile.gettempdir()})
    return _in_utc(con)


def _in_utc(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.execute("SET TimeZone = 'UTC'")  # date casts and displays in UTC, whatever the machine's zone
    return con


def _sql_list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join("'" + p.as_posix().replace("'", "''") + "'" for p in paths) + "]"


def build_events_partition(home: ReverieHome, day: date) -> int:
    """Write the `events` partition of sessions starting on `day`; return its row count.

    Events are deduplicated on (session_id, event_id), keeping the copy from the source first staged (the
    manifest's `first_staged` run number, then file and line), never the copy with the earliest timestamp:
    a later file that reuses a session's ids with earlier timestamps must not replace its events. Then
    they are numbered `seq` in transcript order (session_start first, session_end last at equal ts).
    The day's entry in the build journal is cleared once the partition is written (see `pending`).
    """
    seen = pending.token(home, "events", day)
    con = _connect()
    try:
        rows = _write_events_day(home, day, con, _staged_rows_by_day(home, [day])[day]).num_rows
    finally:
        con.close()
    pending.clear(home, "events", day, seen, then_mark="sessions")
    pending.checkpoint("events_partition")
    return rows


@dataclass(frozen=True)
class _StagedRows:
    """Where one day's staged rows are: the batches holding its sessions, the day's sessions, the current
    files (stage key and `first_staged`) among them, and the range of their `STAGED_DAY`s, by which a
    query skips the row groups of other days."""

    files: list[Path]
    sessions: pa.Table
    current_files: pa.Table
    first_staged_day: date | None = None
    last_staged_day: date | None = None


def _staged_rows_by_day(home: ReverieHome, days: Sequence[date]) -> dict[date, _StagedRows]:
    """The `_StagedRows` of each of `days`, from the session index and the manifest (no staged row read).

    A row is wanted when its stage key is current (listed in the manifest: superseded versions of a file
    may still sit in a batch) and its session starts on the day, as `session_start_dates` gives it. Its
    `STAGED_DAY` is its (file, session)'s first timestamp in the index, so the day's range holds them all.
    """
    starts = _session_starts(home).filter(pl.col("date").is_in(list(days))).select("session_id", "date")
    located = (
        read_session_index(home)
        .join(starts, on="session_id")
        .join(read_manifest(home).select("stage_key", "first_staged", "bundle"), on="stage_key")
        .with_columns(pl.col("first_ts").dt.convert_time_zone("UTC").dt.date().alias(STAGED_DAY))
    )
    by_day = located.partition_by("date", as_dict=True)
    sessions_by_day = starts.partition_by("date", as_dict=True)
    result: dict[date, _StagedRows] = {}
    for day in days:
        rows = by_day.get((day,))
        if rows is None:  # every session left this day: an empty partition
            result[day] = _StagedRows([], pa.table({}), pa.table({}))
            continue
        files = [events_path(home, bundle) for bundle in sorted(rows["bundle"].unique().to_list())]
        result[day] = _StagedRows(
            files=[f for f in files if f.exists()],
            sessions=sessions_by_day[(day,)].select("session_id").to_arrow(),
            current_files=rows.select("stage_key", "first_staged").unique().to_arrow(),
            first_staged_day=rows[STAGED_DAY].min(),  # type: ignore[arg-type]
            last_staged_day=rows[STAGED_DAY].max(),  # type: ignore[arg-type]
        )
    _add_staged_days({f for rows in result.values() for f in rows.files})
    return result


def _add_staged_days(files: Iterable[Path]) -> None:
    """Rewrite, once, any batch staged before batches had `STAGED_DAY` row groups (same rows, plus the
    column), so every build reads one layout."""
    for path in sorted(files):
        if STAGED_DAY not in pq.read_schema(path).names:
            write_staged_batch(path, pl.read_parquet(path))


def _write_events_day(
    home: ReverieHome, day: date, con: duckdb.DuckDBPyConnection, staged: _StagedRows
) -> pa.Table:
    """Write one day's `events` partition, deduplicated and numbered (see `build_events_partition`), from
    the row groups of its days in the batches holding its sessions; return the table written."""
    if not staged.files:
        write_partition(home, "events", day, _EMPTY_EVENTS)
        return _EMPTY_EVENTS
    sessions, current = f"day_sessions_{day:%Y%m%d}", f"current_files_{day:%Y%m%d}"
    cursor = _in_utc(con.cursor())  # a connection of its own: days are written from several threads
    try:
        cursor.register(sessions, staged.sessions)
        cursor.register(current, staged.current_files)
        ordered = cursor.sql(
            f"""
            WITH wanted AS (
                SELECT s.* EXCLUDE ({STAGED_DAY}, seq), c.first_staged
                FROM read_parquet({_sql_list(staged.files)}, hive_partitioning = false) AS s
                JOIN {current} AS c USING (stage_key)
                JOIN {sessions} AS w USING (session_id)
                WHERE s.{STAGED_DAY} BETWEEN DATE '{staged.first_staged_day}' AND DATE '{staged.last_staged_day}'
            ),
            repeated AS (SELECT session_id, event_id FROM wanted GROUP BY ALL HAVING count(*) > 1),
            kept AS (
                SELECT * FROM wanted ANTI JOIN repeated USING (session_id, event_id)
                UNION ALL BY NAME
                SELECT * FROM (SELECT * FROM wanted SEMI JOIN repeated USING (session_id, event_id))
                QUALIFY row_number() OVER (
                    PARTITION BY session_id, event_id
                    ORDER BY first_staged, source_file, source_line NULLS FIRST, ts, type, content
                ) = 1
            )
            SELECT * EXCLUDE (stage_key, first_staged), DATE '{day.isoformat()}' AS date
            FROM kept
            ORDER BY session_id, ts, CASE type WHEN 'session_start' THEN 0 WHEN 'session_end' THEN 2 ELSE 1 END,
                     source_file, source_line NULLS FIRST, event_id
            """
        ).to_arrow_table()
    finally:
        cursor.close()
    if not ordered.num_rows:
        write_partition(home, "events", day, _EMPTY_EVENTS)
        return _EMPTY_EVENTS
    # Rows come in transcript order within each session, so `seq` is a row's place in its session.
    events = pl.from_arrow(ordered).with_columns(  # type: ignore[union-attr]
        pl.int_range(pl.len(), dtype=pl.Int64).over("session_id").alias("seq")
    )
    columns = [name for name in EVENTS_SCHEMA.names if name not in EVENTS_DERIVED_COLUMNS]
    events = events.select(*columns, "date", "n_redactions")
    table = conform("events", add_error_signatures(add_actions(events)))
    write_partition(home, "events", day, table)
    return table


_SESSIONS_SQL = """
WITH per_session AS (
    SELECT
        session_id,
        arg_min(input, seq) FILTER (WHERE type = 'session_start') AS start_input,
        arg_max(input, seq) FILTER (WHERE type = 'session_end') AS end_input,
        arg_min(content, seq) FILTER (WHERE type = 'message' AND role = 'user') AS first_prompt,
        arg_min(source_format, seq) AS source_format,
        arg_min(source_file, seq) AS first_source_file,
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
    FROM {events}
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
    DATE '{day}' AS date,
    first_source_file
FROM per_session
ORDER BY started_at, session_id
"""


def build_sessions_partition(home: ReverieHome, day: date) -> int:
    """Aggregate the `events` partition of `day` into one `sessions` row per session; return the count.

    Task, context and playbook version come from the session_start event (Claude Code's adapter derives
    one from the first prompt and the transcript's cwd/branch/version/model); the final status from the
    last session_end; project and branch from the context (see `pipeline.ingest.scope`). Build `events`
    for the day first.
    """
    seen = pending.token(home, "sessions", day)
    rows = _build_sessions(home, day, None)
    pending.clear(home, "sessions", day, seen)
    return rows


def _build_sessions(
    home: ReverieHome, day: date, con: duckdb.DuckDBPyConnection | None, events: pa.Table | None = None
) -> int:
    """The sessions partition of `day`, queried on a new connection of `con`'s database (or a new one),
    from the day's `events` table just written when given (not read back), else from its partition."""
    if events is None:
        files = partition_files(home, "events", [day])
        if files and pq.read_metadata(files[0]).num_rows:
            source = f"read_parquet({_sql_list(files)})"
        else:
            events = _EMPTY_EVENTS
    if events is not None:
        if not events.num_rows:
            write_partition(home, "sessions", day, pa.Table.from_batches([], schema=SESSIONS_SCHEMA))
            return 0
        source = f"day_events_{day:%Y%m%d}"
    cursor = _connect() if con is None else _in_utc(con.cursor())
    try:
        if events is not None:
            cursor.register(source, events)
        sql = _SESSIONS_SQL.format(task_chars=TASK_CHARS, day=day.isoformat(), events=source)
        frame = pl.from_arrow(cursor.sql(sql).to_arrow_table())
    finally:
        cursor.close()
    write_partition(home, "sessions", day, _with_scope(frame))  # type: ignore[arg-type]
    return frame.height


def _with_scope(sessions: pl.DataFrame) -> pl.DataFrame:
    """Add `project` and `branch` (pipeline/ingest/scope.py) from each session's context and first file."""
    rows = zip(sessions["context"].to_list(), sessions["first_source_file"].to_list(), strict=True)
    scopes = [(session_project(context, source), session_branch(context)) for context, source in rows]
    return sessions.drop("first_source_file").with_columns(
        pl.Series("project", [p for p, _ in scopes], dtype=pl.String),
        pl.Series("branch", [b for _, b in scopes], dtype=pl.String),
    )


def build_rejects_partition(home: ReverieHome, day: date) -> int:
    """Write the `rejects` partition of ingest date `day` from every file staged that day; return the count.

    Rebuilt from staging each time, so a second ingest on the same day adds its rejects to the first
    one's, and re-running changes nothing.
    """
    seen = pending.token(home, "rejects", day)
    rows = _build_rejects(home, day)
    pending.clear(home, "rejects", day, seen)
    return rows


def _build_rejects(home: ReverieHome, day: date) -> int:
    manifest = read_manifest(home).filter((pl.col("ingest_date") == day) & (pl.col("n_rejects") > 0))
    files = [rejects_path(home, bundle) for bundle in sorted(manifest["bundle"].unique().to_list())]
    files = [f for f in files if f.exists()]
    if not files:
        write_partition(home, "rejects", day, pa.Table.from_batches([], schema=REJECTS_SCHEMA))
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

    Days are built `workers` at a time (default: the CPU count), each on a one-thread connection of the
    same in-memory database, reading only its own row groups of the staged batches. A day that fails stays
    pending in the build journal and does not stop the others (a failure to locate the staged rows leaves
    every day pending); the first failure is raised once every day was tried.
    """
    counts = PartitionCounts()
    days = sorted(set(session_days))
    failures: list[BaseException] = []
    con = _connect()
    try:
        seen = {day: pending.token(home, "events", day) for day in days}
        staged: dict[date, _StagedRows] = {}
        try:
            staged = _staged_rows_by_day(home, days) if days else {}
        except Exception as error:  # every day stays pending
            failures.append(error)
            days = []

        def one_day(day: date) -> None:
            events = _write_events_day(home, day, con, staged[day])
            counts.events[day] = events.num_rows
            pending.clear(home, "events", day, seen[day], then_mark="sessions")
            pending.checkpoint("events_partition")
            seen_sessions = pending.token(home, "sessions", day)
            counts.sessions[day] = _build_sessions(home, day, con, events)
            pending.clear(home, "sessions", day, seen_sessions)

        def rejects(day: date) -> None:
            counts.rejects[day] = build_rejects_partition(home, day)

        jobs: list[tuple[Callable[[date], None], date]] = [(one_day, day) for day in days]
        jobs += [(rejects, day) for day in sorted(set(reject_days))]
        workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
        if workers == 1:
            for job, day in jobs:
                try:
                    job(day)
                except Exception as error:  # the other days are still built; this one stays pending
                    failures.append(error)
        else:
            # One day's query and sort keep about one core busy: two days at once beat two threads on one.
            con.execute("SET threads = 1")
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for future in [pool.submit(job, day) for job, day in jobs]:
                    if future.exception() is not None:
                        failures.append(future.exception())  # type: ignore[arg-type]
    finally:
        con.close()
    if failures:
        raise failures[0]
    return counts
