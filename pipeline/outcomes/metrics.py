"""Session-level metrics: the columns criteria are judged on.

A criterion's column is either a column of `sessions` or a named metric: a SQL query over the partition's
`events` and `sessions` returning one `(session_id, value)` row per session. SQL keeps metrics declarative
and lets DuckDB do the per-session aggregation over millions of events; sessions a metric returns no row
for get a null value (which GE, and therefore we, treat as "not judged" except for null expectations).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import lake
from pipeline.events import EVENTS_SCHEMA, SESSIONS_SCHEMA
from pipeline.home import ReverieHome

if TYPE_CHECKING:
    from pipeline.outcomes.spec import CriteriaSuite

SESSION_COLUMNS: dict[str, pl.DataType] = {
    name: dtype
    # from_batches, not Schema.empty_table(): the latter imports pandas (seconds) at import time of this module
    for name, dtype in pl.from_arrow(pa.Table.from_batches([], schema=SESSIONS_SCHEMA)).schema.items()  # type: ignore[union-attr]
    if not isinstance(dtype, pl.List)
}
"""Columns of `sessions` a criterion may name directly (list columns have no GE map semantics)."""


class MetricError(ValueError):
    """A metric's SQL does not run, or does not return one `(session_id, value)` row per session."""


def _with_derived_columns(events: pa.Table | str) -> pa.Table | str:
    """Events as metrics expect them: a partition written before `events.action` existed (or a table built by
    hand) gets its actions computed here, so a metric over `action` never fails on an older lake."""
    names = pq.read_schema(events).names if isinstance(events, str) else events.column_names
    if "action" in names:
        return events
    from pipeline.actions import add_actions

    table = pq.read_table(events) if isinstance(events, str) else events
    frame = pl.from_arrow(table)
    if "input" not in frame.columns or "tool" not in frame.columns:
        return table.append_column("action", pa.nulls(table.num_rows, pa.string()))
    return add_actions(frame).to_arrow()  # type: ignore[arg-type]


def _bind_tables(con: duckdb.DuckDBPyConnection, events: pa.Table | str, sessions: pa.Table) -> None:
    events = _with_derived_columns(events)
    if isinstance(events, str):
        con.execute(f"CREATE OR REPLACE VIEW events AS SELECT * FROM read_parquet({lake.sql_string(events)})")
    else:
        con.register("events", events)
    con.register("sessions", sessions)


def _wrapped(sql: str) -> str:
    return f"SELECT session_id, value FROM ({sql.strip().rstrip(';')}) AS metric"


def _query(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    return pl.from_arrow(con.sql(_wrapped(sql)).to_arrow_table())  # type: ignore[return-value]


def infer_metric_dtype(sql: str) -> pl.DataType:
    """Run the metric against empty tables: catches SQL errors at load time and tells us the value type."""
    con = duckdb.connect()
    try:
        _bind_tables(con, EVENTS_SCHEMA.empty_table(), SESSIONS_SCHEMA.empty_table())
        try:
            frame = _query(con, sql)
        except duckdb.Error as exc:
            first_line = str(exc).strip().splitlines()[0]
            raise MetricError(
                f"metric SQL fails (it must return session_id and value): {first_line}"
            ) from exc
    finally:
        con.close()
    return frame.schema["value"]


def _nan_as_null(frame: pl.DataFrame) -> pl.DataFrame:
    """pandas (and so GE) treats NaN as missing: make it null so both engines skip the same values."""
    floats = [name for name, dtype in frame.schema.items() if dtype.is_float()]
    return frame.with_columns(pl.col(floats).fill_nan(None)) if floats else frame


def evaluate_metrics(
    sessions: pl.DataFrame,
    events: pa.Table | str,
    metrics: Mapping[str, str],
) -> pl.DataFrame:
    """`sessions` plus one column per named metric (SQL by name), one row per session."""
    frame = sessions
    if metrics:
        con = duckdb.connect()
        try:
            _bind_tables(con, events, sessions.to_arrow())
            for name, sql in metrics.items():
                try:
                    values = _query(con, sql)
                except duckdb.Error as exc:
                    raise MetricError(f"metric {name!r} failed: {str(exc).splitlines()[0]}") from exc
                if values.height != values["session_id"].n_unique():
                    raise MetricError(f"metric {name!r} returned more than one row for a session")
                frame = frame.join(
                    values.rename({"value": name}), on="session_id", how="left", maintain_order="left"
                )
        finally:
            con.close()
    return _nan_as_null(frame)


def compute_metrics(home: ReverieHome, day: date | str, suite: CriteriaSuite) -> pl.DataFrame:
    """Session-level metrics for one partition: every `sessions` column plus the suite's named metrics.

    Only metrics some criterion uses are computed, so shipping many metric definitions costs nothing.
    """
    sessions = lake.read_table(home, "sessions", [day])
    event_files = lake.partition_files(home, "events", [day])
    events: pa.Table | str = event_files[0].as_posix() if event_files else EVENTS_SCHEMA.empty_table()
    return evaluate_metrics(sessions, events, suite.used_metrics())
