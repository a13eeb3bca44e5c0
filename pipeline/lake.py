"""The lake: one Parquet file per (table, date) partition, and DuckDB views over them.

Partitions are built into a local temporary file and committed: on a local lake the file is renamed into
place, on an object-store lake (`REVERIE_LAKE=s3://...`) it is uploaded under a unique name and a per-partition
commit record makes it visible (`pipeline.storage`). Either way a crash mid-write leaves nothing half-visible
and re-writing a partition replaces it (idempotent). The DuckDB catalog holds only views, so any number of
processes can write different partitions at once with no single-writer lock to fight.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipeline.home import ReverieHome
from pipeline.lazy import deferred_mapping, deferred_module

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from pipeline import storage
else:  # `reverie sql` connects and queries with DuckDB alone: polars and pyarrow load when a table is read,
    pl = deferred_module("polars")
    pa = deferred_module("pyarrow")
    storage = deferred_module("pipeline.storage")  # the object-store lake's commits when there is one
pq = deferred_module("pyarrow.parquet")

# The lake's tables, known without building their pyarrow schemas (pipeline.events); a test checks they agree.
TABLE_NAMES = ("events", "sessions", "rejects", "outcomes", "playbook_entries", "evaluations")
TABLE_SCHEMAS = deferred_mapping("pipeline.events", "TABLE_SCHEMAS", TABLE_NAMES)

PARTITION_FILE = "part-0.parquet"
_DATE_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def partition_dir(home: ReverieHome, table: str, day: date | str) -> Path:
    return home.table_dir(table) / f"date={_iso(day)}"


def _iso(day: date | str) -> str:
    return day if isinstance(day, str) else day.isoformat()


def conform(table: str, data: pa.Table | pl.DataFrame) -> pa.Table:
    """Cast to the table's contract schema so every partition of a table has identical types."""
    arrow = data.to_arrow() if isinstance(data, pl.DataFrame) else data
    schema = TABLE_SCHEMAS.get(table)
    if schema is None:
        return arrow
    missing = [f.name for f in schema if f.name not in arrow.column_names]
    for name in missing:
        arrow = arrow.append_column(name, pa.nulls(arrow.num_rows, schema.field(name).type))
    extra = [n for n in arrow.column_names if n not in schema.names]
    ordered = arrow.select(schema.names + extra)
    target = pa.schema(list(schema) + [ordered.schema.field(n) for n in extra])
    return ordered.cast(target)


def object_lake(home: ReverieHome) -> storage.ObjectLake | None:
    """The home's lake on an object store, or None when the lake is a local folder."""
    return None if home.object_lake is None else storage.ObjectLake(home.object_lake)


def write_partition(home: ReverieHome, table: str, day: date | str, data: pa.Table | pl.DataFrame) -> Path:
    """Atomically replace one partition with `data` (an empty frame leaves an empty, valid partition)."""
    arrow = conform(table, data)
    tmp = partition_temp_path(home, table, day)
    pq.write_table(arrow, tmp, compression="zstd")
    return commit_partition_file(home, table, day, tmp, rows=arrow.num_rows)


def partition_temp_path(home: ReverieHome, table: str, day: date | str) -> Path:
    """A fresh local path where a builder writes a partition's Parquet file before `commit_partition_file`.

    Local lake: beside the partition, so the commit is a rename on one filesystem. Object-store lake: under
    the home's cache, where the committed file then stays as the read cache's copy.
    """
    folder = home.cache / "lake-tmp" if object_lake(home) else partition_dir(home, table, day)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f".{PARTITION_FILE}.{uuid.uuid4().hex}.tmp"


def commit_partition_file(
    home: ReverieHome, table: str, day: date | str, tmp: Path, rows: int | None = None
) -> Path:
    """Make a finished local Parquet file (from `partition_temp_path`) the partition's content, atomically.

    Readers see the previous content or this file, never a mix; `tmp` is consumed. Returns the local path
    of the committed file (on an object-store lake, its cached copy).
    """
    store = object_lake(home)
    if store is None:
        target_dir = partition_dir(home, table, day)
        target_dir.mkdir(parents=True, exist_ok=True)
        final = target_dir / PARTITION_FILE
        os.replace(tmp, final)
        for stray in target_dir.glob("*.parquet"):
            if stray.name != PARTITION_FILE:
                stray.unlink(missing_ok=True)
        return final
    if rows is None:
        rows = pq.read_metadata(tmp).num_rows
    commit = storage.commit_partition(store, table, _iso(day), tmp, rows)
    cached = _cached_copy_path(home, commit.data_key or "")
    cached.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, cached)
    return cached


def _cached_copy_path(home: ReverieHome, key: str) -> Path:
    """Where an object-store data file is kept locally; its key is unique and immutable, so never stale."""
    return home.cache / "lake" / key


def replace_mission_rows(
    home: ReverieHome, table: str, day: date | str, mission: str, data: pl.DataFrame, *, legacy: str = "lunar"
) -> Path:
    """Replace one mission's rows of a day's partition, keeping the other missions' rows.

    Tables both missions write on the same day (`evaluations`, `playbook_entries`) carry a `mission` column;
    rows written before it existed (null) belong to `legacy`, the only mission there was.
    """
    path = partition_dir(home, table, day) / PARTITION_FILE
    data = data.with_columns(pl.lit(mission).alias("mission"))
    if path.exists():
        kept = pl.from_arrow(conform(table, pq.read_table(path)))
        kept = kept.filter(pl.col("mission").fill_null(legacy) != mission).with_columns(
            pl.col("mission").fill_null(legacy)
        )
        if kept.height:
            data = pl.concat([kept, pl.from_arrow(conform(table, data))], how="vertical_relaxed")
    return write_partition(home, table, day, data)


def write_file_atomically(path: Path, data: pa.Table) -> Path:
    """Write any Parquet file through a temp name (used for staging and non-partitioned tables)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(data, tmp, compression="zstd")
    os.replace(tmp, path)
    return path


def partitions(home: ReverieHome, table: str) -> list[str]:
    """Dates (ISO strings) that have a committed partition for `table`, oldest first."""
    store = object_lake(home)
    if store is not None:
        return sorted(storage.committed_partitions(store, table))
    root = home.table_dir(table)
    if not root.exists():
        return []
    days = []
    for child in root.iterdir():
        match = _DATE_DIR.match(child.name)
        if match and (child / PARTITION_FILE).exists():
            days.append(match.group(1))
    return sorted(days)


def empty_table(table: str) -> pa.Table:
    """A table's contract with no rows. Not `Schema.empty_table()`, which imports pandas (seconds, in a
    `reverie sql` that needs none of it)."""
    return pa.Table.from_batches([], schema=TABLE_SCHEMAS[table])


def partition_files(home: ReverieHome, table: str, days: Iterable[date | str] | None = None) -> list[Path]:
    """Local paths of the committed files of `days` (default: all), skipping absent partitions. On an
    object-store lake these are cached copies, downloaded once: Polars, pyarrow and DuckDB read them as is."""
    store = object_lake(home)
    if store is not None:
        commits = storage.committed_partitions(store, table)
        wanted_days = sorted(commits) if days is None else [_iso(d) for d in days if _iso(d) in commits]
        keys = [commits[d].data_key or "" for d in wanted_days]
        return [store.download(key, _cached_copy_path(home, key)) for key in keys]
    wanted = partitions(home, table) if days is None else [_iso(d) for d in days]
    files = [partition_dir(home, table, d) / PARTITION_FILE for d in wanted]
    return [f for f in files if f.exists()]


def committed_uris(home: ReverieHome, table: str) -> list[str]:
    """The URLs (or local paths) of the files in force for every partition of `table`: what Spark, Trino or any
    other engine should read, since an object-store lake also keeps superseded files beside them."""
    store = object_lake(home)
    if store is None:
        return [f.as_posix() for f in partition_files(home, table)]
    return [store.uri(c.data_key or "") for c in storage.committed_partitions(store, table).values()]


def read_table(home: ReverieHome, table: str, days: Iterable[date | str] | None = None) -> pl.DataFrame:
    """Read partitions of a table into polars; an absent table reads as an empty frame with its schema."""
    return scan_table(home, table, days).collect()


def scan_table(home: ReverieHome, table: str, days: Iterable[date | str] | None = None) -> pl.LazyFrame:
    files = partition_files(home, table, days)
    if not files:
        return pl.from_arrow(empty_table(table)).lazy()  # type: ignore[union-attr]
    schemas = [pq.read_schema(f) for f in files]
    if all(schema.names == schemas[0].names for schema in schemas):
        return pl.scan_parquet([str(f) for f in files])
    # Partitions written before a column joined the contract lack it (e.g. `evaluations.mission`): read every
    # column any partition has, null where a partition has none, as DuckDB's `union_by_name` does.
    union = pa.unify_schemas(schemas, promote_options="permissive")
    schema = pl.from_arrow(pa.Table.from_batches([], schema=union)).schema  # type: ignore[union-attr]
    return pl.scan_parquet([str(f) for f in files], schema=schema, missing_columns="insert")


# --- DuckDB catalog ------------------------------------------------------------------------------------------


def sql_string(value: str | Path) -> str:
    """`value` as a SQL string literal, quotes doubled.

    DDL such as CREATE VIEW takes no bound parameters, so a path must be spelled into the statement; a
    REVERIE_HOME like `/home/o'neil` would otherwise end the literal early and break (or inject into) it.
    """
    text = value.as_posix() if isinstance(value, Path) else value
    return "'" + text.replace("'", "''") + "'"


def _glob_escaped(path: Path) -> str:
    """A literal path inside a DuckDB glob: `*`, `?` and `[` in the home's own name match only themselves."""
    return re.sub(r"([*?\[\]])", r"[\1]", path.as_posix())


def _table_view_sql(home: ReverieHome, table: str) -> str:
    store = object_lake(home)
    if store is not None:
        commits = storage.committed_partitions(store, table)
        if commits:  # the files in force, named explicitly: a glob would also match superseded files
            files = ", ".join(sql_string(store.uri(c.data_key or "")) for c in commits.values())
            return (
                f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet([{files}], "
                "union_by_name = true, hive_partitioning = true)"
            )
    elif partitions(home, table):
        glob = f"{_glob_escaped(home.table_dir(table))}/date=*/{PARTITION_FILE}"
        return f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet({sql_string(glob)}, union_by_name = true)"
    # No data yet: an empty view with the contract's columns, so queries and clients still work.
    empty = home.root / "cache" / "empty" / f"{table}.parquet"
    if not empty.exists():
        write_file_atomically(empty, empty_table(table))
    return f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet({sql_string(empty)})"


def install_views(con: duckdb.DuckDBPyConnection, home: ReverieHome) -> None:
    """Create the table views and the derived views of sql/views.sql on a connection.

    An object-store lake is read through its fsspec filesystem registered on the connection: DuckDB's own
    httpfs extension would have to be downloaded at run time.
    """
    store = object_lake(home)
    if store is not None:
        con.register_filesystem(store.fs)
    for table in TABLE_SCHEMAS:
        con.execute(_table_view_sql(home, table))
    views_sql = SQL_DIR / "views.sql"
    if views_sql.exists():
        con.execute(views_sql.read_text())


def connect(home: ReverieHome) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake's views: no file lock, so any number of readers can query at once."""
    con = duckdb.connect()
    install_views(con, home)
    return con


def refresh_catalog(home: ReverieHome) -> Path:
    """Rebuild `reverie.duckdb` (views only) so any DuckDB client can open it and query the lake."""
    home.root.mkdir(parents=True, exist_ok=True)
    tmp = home.catalog.with_name(f".{home.catalog.name}.{uuid.uuid4().hex}.tmp")
    con = duckdb.connect(str(tmp))
    try:
        install_views(con, home)
    finally:
        con.close()
    os.replace(tmp, home.catalog)
    return home.catalog
