"""Staging: normalized, redacted Parquet per batch of source files, plus a manifest and a session index.

Staging sits between raw logs and the date-partitioned lake because a session's partition (its start
date) is only known once every file of the session has been read: subagent transcripts, resumed files
and out-of-order arrivals all add to a session later. Each source file is keyed by its path and content
hash (its stage key, carried on every staged row), so unchanged files are skipped and a file that grew
supersedes its previous rows; the manifest says which batch file (`bundle`) holds each file's rows.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from pipeline.events import REJECTS_SCHEMA
from pipeline.home import ReverieHome
from pipeline.ingest import pending
from pipeline.ingest.base import RAW_PREVIEW_CHARS, EventRow, RecordTally, Reject
from pipeline.ingest.registry import SNIFF_BYTES, sniff_head
from pipeline.ingest.row_checks import checked_rows
from pipeline.ingest.staged_frames import (
    STAGING_FRAME_SCHEMA,
    ParsedFile,
    events_frame,
    write_frame_atomically,
    write_staged_batch,
)
from pipeline.lake import write_file_atomically
from pipeline.redaction import Redactor
from pipeline.redaction_fields import redact_across_blocks, redact_identifier, redact_row_identifiers

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
UNKNOWN_FORMAT = "unknown"


@dataclass(slots=True)
class StagedFile:
    """What staging one source file produced; small enough to send back from a worker process."""

    source_file: str
    content_hash: str
    stage_key: str
    source_format: str
    n_events: int = 0
    n_rejects: int = 0
    n_redactions: int = 0
    size_bytes: int = 0
    ingest_date: date | None = None
    skipped: bool = False
    # (session_id, first ts, events, holds main-agent rows) per session in the file
    sessions: list[tuple[str, datetime, int, bool]] = field(default_factory=list)
    bundle: str = ""  # the staged Parquet (shared with the other files of its batch) that holds its rows
    records_skipped: RecordTally = field(default_factory=RecordTally)  # read, but made no event


def events_path(home: ReverieHome, bundle: str) -> Path:
    return home.staging / f"{bundle}.parquet"


def rejects_path(home: ReverieHome, bundle: str) -> Path:
    return home.staging / f"{bundle}.rejects.parquet"


def stage_key_for(source_file: str, content_hash: str) -> str:
    """Path and content together: identical bytes at two paths are two sources (their rejects differ)."""
    return hashlib.blake2b(f"{source_file}\0{content_hash}".encode(), digest_size=16).hexdigest()


def stage_files_together(
    home: ReverieHome, paths: list[Path], ingest_date: date, redactor: Redactor, known_keys: frozenset[str]
) -> list[StagedFile]:
    """Parse, redact and stage a batch of source files into one staged Parquet (and one for their rejects).

    Files whose exact content at that path is staged already are skipped. Each row keeps its own file's
    stage key, so a file that later changes is superseded row by row without rewriting its batch-mates.
    One file per batch rather than per source file because the fixed cost of writing, and later of
    opening, a Parquet file outweighed the work on a typical small transcript (see benchmarks/README.md).
    `known_keys` are the stage keys in the manifest: only those count as staged, so files written by a
    run that crashed before updating the manifest are simply staged again.
    """
    results: list[StagedFile] = []
    parsed: list[tuple[StagedFile, ParsedFile]] = []
    reject_frames: dict[str, pl.DataFrame] = {}  # by stage key
    for path in paths:
        try:
            staged, one, rejects = _stage_one(path, ingest_date, redactor, known_keys)
        except Exception as error:  # a bug in one file's staging loses that file, never its batch-mates
            staged, one, rejects = _failed_file(path, ingest_date, redactor, error)
        results.append(staged)
        if one is not None and one.rows:
            parsed.append((staged, one))
        if rejects is not None:
            reject_frames[staged.stage_key] = rejects
    fresh = [r for r in results if not r.skipped]
    if not fresh:
        return results
    frames = _frame_batch(parsed, results, reject_frames, ingest_date, redactor)
    fresh = [r for r in results if not r.skipped]
    bundle = hashlib.blake2b("\0".join(r.stage_key for r in fresh).encode(), digest_size=16).hexdigest()
    for staged in fresh:
        staged.bundle = bundle
    events = pl.concat(frames) if frames else pl.DataFrame(schema=STAGING_FRAME_SCHEMA)
    write_staged_batch(events_path(home, bundle), events)
    if reject_frames:
        write_frame_atomically(rejects_path(home, bundle), pl.concat(list(reject_frames.values())))
    return results


def _frame_batch(
    parsed: list[tuple[StagedFile, ParsedFile]],
    results: list[StagedFile],
    reject_frames: dict[str, pl.DataFrame],
    ingest_date: date,
    redactor: Redactor,
) -> list[pl.DataFrame]:
    """The batch's rows as one frame, redacted; if that raises, file by file, so only a file at fault is
    lost (it becomes a `staging failed` reject, as when its parsing raises)."""
    try:
        frame, found = events_frame([one for _, one in parsed], redactor)
    except Exception:
        frames = []
        for staged, one in parsed:
            try:
                frame, found = events_frame([one], redactor)
            except Exception as error:
                failed, _, rejects = _failed_file(one.path, ingest_date, redactor, error)
                results[results.index(staged)] = failed
                reject_frames[staged.stage_key] = rejects
                continue
            staged.n_redactions = found[0]
            frames.append(frame)
        return frames
    for (staged, _), n_redactions in zip(parsed, found, strict=True):
        staged.n_redactions = n_redactions
    return [frame] if frame.height else []


def _stage_one(
    path: Path, ingest_date: date, redactor: Redactor, known_keys: frozenset[str]
) -> tuple[StagedFile, ParsedFile | None, pl.DataFrame | None]:
    """Parse and check one file; its rows are redacted and framed with the rest of its batch."""
    data = path.read_bytes()
    content_hash = hashlib.blake2b(data, digest_size=16).hexdigest()
    key = stage_key_for(str(path), content_hash)
    source_file = redact_identifier(redactor, str(path))  # what is stored: paths can hold secrets too
    if key in known_keys:
        return StagedFile(source_file, content_hash, key, "", size_bytes=len(data), skipped=True), None, None
    adapter = sniff_head(path, data[:SNIFF_BYTES])
    size, is_empty = len(data), not data.strip()
    del data  # the adapter reads the file itself; never hold two copies of a big file
    source_format = adapter.name if adapter is not None else UNKNOWN_FORMAT
    rows: list[EventRow] = []
    rejects: list[Reject] = []
    tally = RecordTally()
    if is_empty:
        rejects.append(Reject(None, "empty file"))
    elif adapter is None:
        rejects.append(Reject(None, "unknown format: no adapter recognised this file"))
    else:
        try:
            for item in adapter.parse(path, tally=tally):
                (rejects if isinstance(item, Reject) else rows).append(item)
        except Exception as error:  # an adapter bug loses the rest of this file, never the run
            rejects.append(Reject(None, f"{source_format} adapter failed: {type(error).__name__}: {error}"))
    redact_row_identifiers(redactor, rows)
    redact_across_blocks(redactor, rows)
    rows, inputs, unstorable = checked_rows(rows)
    rejects.extend(unstorable)
    result = StagedFile(
        source_file,
        content_hash,
        key,
        source_format,
        n_events=len(rows),
        n_rejects=len(rejects),
        size_bytes=size,
        ingest_date=ingest_date,
        sessions=_session_summary(rows),
        records_skipped=tally,
    )
    rejects_frame = (
        _rejects_frame(rejects, source_format, source_file, key, ingest_date, redactor) if rejects else None
    )
    return result, ParsedFile(path, source_format, source_file, key, rows, inputs), rejects_frame


def _failed_file(
    path: Path, ingest_date: date, redactor: Redactor, error: Exception
) -> tuple[StagedFile, None, pl.DataFrame]:
    """A file whose staging raised: one reject naming the error, so the file shows in `rejects` and is
    staged again by a later run once fixed (its content key is recorded, a changed file is new)."""
    source_file = redact_identifier(redactor, str(path))
    try:
        content_hash = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    except OSError:
        content_hash = ""
    key = stage_key_for(str(path), content_hash)
    reason = f"staging failed: {type(error).__name__}"
    rejects = _rejects_frame([Reject(None, reason)], UNKNOWN_FORMAT, source_file, key, ingest_date, redactor)
    staged = StagedFile(source_file, content_hash, key, UNKNOWN_FORMAT, n_rejects=1, ingest_date=ingest_date)
    return staged, None, rejects


def stored_preview(raw: str | None, redactor: Redactor) -> str | None:
    """The `raw` kept for a reject: redacted first, then cut to `RAW_PREVIEW_CHARS`.

    In that order because a secret that crosses the cut would otherwise be stored in part, and a part is
    too short for any detector to recognise. Adapters hand over a wider window (`raw_preview`) for this.
    """
    if not raw:
        return raw
    return redactor.redact(raw).text[:RAW_PREVIEW_CHARS]


REJECTS_STAGING_SCHEMA = pl.Schema({**pl.Schema(REJECTS_SCHEMA), "stage_key": pl.String})


def _rejects_frame(
    rejects: list[Reject],
    source_format: str,
    source_file: str,
    stage_key: str,
    ingest_date: date,
    redactor: Redactor,
) -> pl.DataFrame:
    n = len(rejects)
    return pl.DataFrame(
        {
            "source_file": [source_file] * n,
            "source_line": [r.source_line for r in rejects],
            "source_format": [source_format] * n,
            "reason": [redactor.redact(r.reason).text for r in rejects],  # reasons quote the bad value
            "raw": [stored_preview(r.raw, redactor) for r in rejects],
            "date": [ingest_date] * n,
            "stage_key": [stage_key] * n,
        },
        schema=REJECTS_STAGING_SCHEMA,
    )


def _session_summary(rows: list[EventRow]) -> list[tuple[str, datetime, int, bool]]:
    """(session_id, first ts, n_events, has main-agent rows) per session in the file: the index that routes
    sessions to dates."""
    first: dict[str, datetime] = {}
    counts: Counter[str] = Counter()
    with_main: set[str] = set()
    for row in rows:
        counts[row.session_id] += 1
        seen = first.get(row.session_id)
        if seen is None or row.ts < seen:
            first[row.session_id] = row.ts
        if row.agent == "main":
            with_main.add(row.session_id)
    return [(sid, first[sid], counts[sid], sid in with_main) for sid in sorted(first)]


# --- manifest and session index -------------------------------------------------------------------------


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
