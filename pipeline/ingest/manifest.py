"""The staging manifest and session index: which staged batch holds each source file's rows, and which
files hold which sessions, from which each session's date (its partition) is decided.

Both are small Parquet files under `staging/`, replaced atomically by `record_staged` once a staging run's
batches are written (index first: a session listed without its file is harmless, a file without its
sessions would be invisible).
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from pipeline.home import ReverieHome
from pipeline.ingest import pending
from pipeline.ingest.staging import StagedFile, events_path, rejects_path
from pipeline.lake import write_file_atomically

MANIFEST_FILE = "_manifest.parquet"
SESSION_INDEX_FILE = "_sessions.parquet"
MANIFEST_COLUMNS = {
    "source_file": pl.String,
    "content_hash": pl.String,
    "stage_key": pl.String,
    "source_format": pl.String,
    "n_events": pl.Int64,
    "n_rejects": pl.Int64,
    "size_bytes": pl.Int64,
    "ingest_date": pl.Date,
    "bundle": pl.String,
    "first_staged": pl.Int64,
}
SESSION_INDEX_COLUMNS = {
    "stage_key": pl.String,
    "session_id": pl.String,
    "first_ts": pl.Datetime("us", "UTC"),
    "n_events": pl.Int64,
    "has_main": pl.Boolean,  # the file holds rows of the session's main agent (not only subagent sidechains)
}


def read_manifest(home: ReverieHome) -> pl.DataFrame:
    """One row per staged source file version (path, content hash, stage key, format, counts, ingest date,
    the bundle file holding its rows, and `first_staged`: the number of the staging run that first saw
    that path, which decides whose copy of a duplicated event id is kept). A manifest from before bundles
    lists nothing, so its files are staged again (staging is a cache of the logs, never the only copy)."""
    path = home.staging / MANIFEST_FILE
    if not path.exists():
        return pl.DataFrame(schema=MANIFEST_COLUMNS)
    manifest = pl.read_parquet(path)
    if "bundle" not in manifest.columns:
        return pl.DataFrame(schema=MANIFEST_COLUMNS)
    if "first_staged" not in manifest.columns:
        manifest = manifest.with_columns(pl.lit(0, pl.Int64).alias("first_staged"))
    return manifest.select(list(MANIFEST_COLUMNS))


def session_starts_of(index: pl.DataFrame, manifest: pl.DataFrame) -> pl.DataFrame:
    """One row per session of a session index: its start and that start's UTC date (its partition).

    The start is the first timestamp in the session's *dating* files: those of the earliest staging run
    (the manifest's `first_staged`) that held rows of the session's main agent, or of its earliest run if no
    file did yet. A file staged by a later run adds its events but never moves the date: otherwise a file
    reusing a known session id with earlier timestamps would move someone else's session to another day.
    Files staged in the same run date the session together (a transcript and its subagents' files), and a
    session seen first only through subagent files is dated again when its main transcript arrives.
    """
    # Inner: index rows of a run killed before its manifest committed name no staged file, and never count.
    runs = index.join(manifest.select("stage_key", "first_staged"), on="stage_key", how="inner")
    run = pl.col("first_staged")
    main_run = pl.when(pl.col("has_main")).then(run).min().over("session_id")
    dating_run = main_run.fill_null(run.min().over("session_id"))
    return (
        runs.filter(run == dating_run)
        .group_by("session_id")
        .agg(pl.col("first_ts").min())
        .with_columns(pl.col("first_ts").dt.convert_time_zone("UTC").dt.date().alias("date"))
    )


def read_session_index(home: ReverieHome) -> pl.DataFrame:
    """One row per (staged file, session): which files hold which sessions, and their first timestamp."""
    path = home.staging / SESSION_INDEX_FILE
    if not path.exists():
        return pl.DataFrame(schema=SESSION_INDEX_COLUMNS)
    index = pl.read_parquet(path)
    if "has_main" not in index.columns:  # an index from before the column: every file counts as main
        index = index.with_columns(pl.lit(True).alias("has_main"))
    return index.select(list(SESSION_INDEX_COLUMNS))


def record_staged(home: ReverieHome, staged: Iterable[StagedFile]) -> set[str]:
    """Add newly staged files to the manifest and index; drop superseded versions of the same paths.

    Returns the session ids whose staged data changed (added or removed). The partitions to rebuild, the
    start dates of those sessions before *and* after the change (a main transcript staged after its
    subagents' files can move its session to an earlier day, and the old day must lose its rows), are
    written to the build journal first, so a crash after the manifest commits still leaves them to the
    next run (`pipeline.ingest.pending`).
    """
    fresh = [s for s in staged if not s.skipped]
    manifest = read_manifest(home)
    index = read_session_index(home).join(manifest.select("stage_key"), on="stage_key", how="semi")
    if not fresh:
        return set()
    new_paths = {s.source_file for s in fresh}
    new_keys = {s.stage_key for s in fresh}
    superseded = manifest.filter(
        pl.col("source_file").is_in(new_paths) & ~pl.col("stage_key").is_in(new_keys)
    )
    stale_keys = superseded["stage_key"].to_list()
    touched = set(index.filter(pl.col("stage_key").is_in(stale_keys))["session_id"].to_list())
    # A path keeps the run number it was first staged in when it grows: its events stay first in line.
    run_number = int(manifest["first_staged"].max() or 0) + 1 if manifest.height else 0
    first_seen = dict(superseded.group_by("source_file").agg(pl.col("first_staged").min()).iter_rows())
    new_manifest = pl.DataFrame(
        [
            {
                "source_file": s.source_file,
                "content_hash": s.content_hash,
                "stage_key": s.stage_key,
                "source_format": s.source_format,
                "n_events": s.n_events,
                "n_rejects": s.n_rejects,
                "size_bytes": s.size_bytes,
                "ingest_date": s.ingest_date,
                "bundle": s.bundle,
                "first_staged": first_seen.get(s.source_file, run_number),
            }
            for s in fresh
        ],
        schema=MANIFEST_COLUMNS,
    )
    new_index = pl.DataFrame(
        [
            {"stage_key": s.stage_key, "session_id": sid, "first_ts": ts, "n_events": n, "has_main": main}
            for s in fresh
            for sid, ts, n, main in s.sessions
        ],
        schema=SESSION_INDEX_COLUMNS,
    )
    touched |= set(new_index["session_id"].to_list())
    keep = ~pl.col("stage_key").is_in(stale_keys + list(new_keys))
    old_starts = session_starts_of(index, manifest)
    manifest = pl.concat([manifest.filter(keep), new_manifest]).sort("source_file", "stage_key")
    index = pl.concat([index.filter(keep), new_index]).sort("stage_key", "session_id")
    new_starts = session_starts_of(index, manifest)
    moved = pl.concat([old_starts, new_starts]).filter(pl.col("session_id").is_in(list(touched)))
    pending.mark(home, "events", moved["date"].to_list())
    reject_days = {s.ingest_date for s in fresh if s.n_rejects and s.ingest_date is not None}
    reject_days |= set(superseded.filter(pl.col("n_rejects") > 0)["ingest_date"].to_list())
    pending.mark(home, "rejects", reject_days)
    # Index first: a session listed without its file is harmless, a file without its sessions is invisible.
    write_file_atomically(home.staging / SESSION_INDEX_FILE, index.to_arrow())
    pending.checkpoint("session_index")
    write_file_atomically(home.staging / MANIFEST_FILE, manifest.to_arrow())
    # A bundle goes once no file staged in it is current any more.
    stale_bundles = set(superseded["bundle"].to_list()) - set(manifest["bundle"].to_list())
    for bundle in stale_bundles:
        events_path(home, bundle).unlink(missing_ok=True)
        rejects_path(home, bundle).unlink(missing_ok=True)
    return touched
