"""Staging: normalized, redacted Parquet per batch of source files, plus a manifest and a session index.

Staging sits between raw logs and the date-partitioned lake because a session's partition (its start
date) is only known once every file of the session has been read: subagent transcripts, resumed files
and out-of-order arrivals all add to a session later. Each source file is keyed by its path and content
hash (its stage key, carried on every staged row), so unchanged files are skipped and a file that grew
supersedes its previous rows; the manifest says which batch file (`bundle`) holds each file's rows.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa

from pipeline.events import EVENTS_DERIVED_COLUMNS, EVENTS_SCHEMA, REJECTS_SCHEMA
from pipeline.home import ReverieHome
from pipeline.ingest import pending
from pipeline.ingest.base import RAW_PREVIEW_CHARS, EventRow, RecordTally, Reject
from pipeline.ingest.registry import SNIFF_BYTES, sniff_head
from pipeline.ingest.row_checks import checked_rows
from pipeline.lake import write_file_atomically
from pipeline.redaction import Redactor
from pipeline.redaction_fields import redact_across_blocks, redact_identifier, redact_row_identifiers

STAGING_SCHEMA = pa.schema(
    [f for f in EVENTS_SCHEMA if f.name not in EVENTS_DERIVED_COLUMNS]
    + [pa.field("n_redactions", pa.int64()), pa.field("stage_key", pa.string())]
)
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
    sessions: list[tuple[str, datetime, int]] = field(default_factory=list)  # (session_id, first ts, events)
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
    frames: list[pl.DataFrame] = []
    reject_frames: list[pl.DataFrame] = []
    for path in paths:
        try:
            staged, events, rejects = _stage_one(path, ingest_date, redactor, known_keys)
        except Exception as error:  # a bug in one file's staging loses that file, never its batch-mates
            staged, events, rejects = _failed_file(path, ingest_date, redactor, error)
        results.append(staged)
        if events is not None and events.height:
            frames.append(events)
        if rejects is not None:
            reject_frames.append(rejects)
    fresh = [r for r in results if not r.skipped]
    if not fresh:
        return results
    bundle = hashlib.blake2b("\0".join(r.stage_key for r in fresh).encode(), digest_size=16).hexdigest()
    for staged in fresh:
        staged.bundle = bundle
    events_frame = pl.concat(frames) if frames else pl.DataFrame(schema=_STAGING_FRAME_SCHEMA)
    _write_frame_atomically(events_path(home, bundle), events_frame)
    if reject_frames:
        _write_frame_atomically(rejects_path(home, bundle), pl.concat(reject_frames))
    return results


def _stage_one(
    path: Path, ingest_date: date, redactor: Redactor, known_keys: frozenset[str]
) -> tuple[StagedFile, pl.DataFrame | None, pl.DataFrame | None]:
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
    events_frame, n_redactions = _events_frame(rows, inputs, source_format, source_file, key, redactor)
    result = StagedFile(
        source_file,
        content_hash,
        key,
        source_format,
        n_events=events_frame.height,
        n_rejects=len(rejects),
        n_redactions=n_redactions,
        size_bytes=size,
        ingest_date=ingest_date,
        sessions=_session_summary(rows),
        records_skipped=tally,
    )
    rejects_frame = (
        _rejects_frame(rejects, source_format, source_file, key, ingest_date, redactor) if rejects else None
    )
    return result, events_frame, rejects_frame


def _failed_file(
    path: Path, ingest_date: date, redactor: Redactor, error: Exception
) -> tuple[StagedFile, None, pl.DataFrame]:
    """A file whose staging raised: one reject naming the error, so the file shows in `rejects` and is
    staged again by a later run once fixed (its content key is recorded, a changed file is new)."""
    source_file = str(path)
    try:
        content_hash = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    except OSError:
        content_hash = ""
    key = stage_key_for(source_file, content_hash)
    reason = f"staging failed: {type(error).__name__}"
    rejects = _rejects_frame([Reject(None, reason)], UNKNOWN_FORMAT, source_file, key, ingest_date, redactor)
    staged = StagedFile(source_file, content_hash, key, UNKNOWN_FORMAT, n_rejects=1, ingest_date=ingest_date)
    return staged, None, rejects


STAGING_COMPRESSION = "lz4"
"""Staging files are read once, by the partition build on the same machine: fast (de)compression matters
more than size there, and polars' writer has a fraction of pyarrow's fixed cost per file (measured 3.5x on
4,000 small files), which dominates when sessions are small."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_STAGING_FRAME_SCHEMA = pl.Schema(
    {name: (pl.Int64 if name == "ts" else dtype) for name, dtype in pl.Schema(STAGING_SCHEMA).items()}
)


def _epoch_us(ts: datetime) -> int:
    """Timestamps go to polars as integers: converting tz-aware datetime objects costs 6x more per value."""
    if ts.tzinfo is None:  # naive means UTC in the lake, as pyarrow would read it
        ts = ts.replace(tzinfo=UTC)
    return (ts - _EPOCH) // _MICROSECOND


def _redact_texts(redactor: Redactor, texts: list[str | None]) -> tuple[list[str | None], list[int]]:
    """`Redactor.redact_all`, or text by text for any other object with a `redact` method."""
    if isinstance(redactor, Redactor):
        return redactor.redact_all(texts)
    found = [0] * len(texts)
    for index, text in enumerate(texts):
        if text:
            result = redactor.redact(text)
            texts[index], found[index] = result.text, result.n
    return texts, found


def _events_frame(
    rows: list[EventRow],
    inputs: list[str | None],
    source_format: str,
    source_file: str,
    stage_key: str,
    redactor: Redactor,
) -> tuple[pl.DataFrame, int]:
    """Columns straight from the rows, every text field redacted on the way.

    `input` is redacted as its serialized JSON text, once, rather than value by value: the secret-name
    patterns accept JSON's quoted `"password": "..."` shape, so the result is the same at a fraction of
    the calls. Texts with nothing to redact (nearly all) are kept as the very same object.
    """
    contents, content_found = _redact_texts(redactor, [row.content for row in rows])
    inputs, input_found = _redact_texts(redactor, inputs)
    redaction_counts = [a + b for a, b in zip(content_found, input_found, strict=True)]
    n = len(rows)
    columns = {
        "session_id": [r.session_id for r in rows],
        "event_id": [r.event_id for r in rows],
        "parent_event_id": [r.parent_event_id for r in rows],
        "seq": [None] * n,
        "ts": [_epoch_us(r.ts) for r in rows],
        "agent": [r.agent for r in rows],
        "type": [r.type for r in rows],
        "role": [r.role for r in rows],
        "tool": [r.tool for r in rows],
        "input": inputs,
        "content": contents,
        "is_error": [r.is_error for r in rows],
        "tokens_in": [r.tokens_in for r in rows],
        "tokens_out": [r.tokens_out for r in rows],
        "source_format": [source_format] * n,
        "source_file": [source_file] * n,
        "source_line": [r.source_line for r in rows],
        "n_redactions": redaction_counts,
        "stage_key": [stage_key] * n,
    }
    frame = pl.DataFrame(columns, schema=_STAGING_FRAME_SCHEMA).with_columns(
        pl.col("ts").cast(pl.Datetime("us", "UTC"))
    )
    return frame, sum(redaction_counts)


def _write_frame_atomically(path: Path, frame: pl.DataFrame) -> None:
    """Temp name then rename, as `lake.write_file_atomically` does for pyarrow tables."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    frame.write_parquet(tmp, compression=STAGING_COMPRESSION, statistics=False)
    os.replace(tmp, path)


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


def _session_summary(rows: list[EventRow]) -> list[tuple[str, datetime, int]]:
    """(session_id, first ts, n_events) per session in the file: the index that routes sessions to dates."""
    first: dict[str, datetime] = {}
    counts: Counter[str] = Counter()
    for row in rows:
        counts[row.session_id] += 1
        seen = first.get(row.session_id)
        if seen is None or row.ts < seen:
            first[row.session_id] = row.ts
    return [(session_id, first[session_id], counts[session_id]) for session_id in sorted(first)]


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


def session_starts_of(index: pl.DataFrame) -> pl.DataFrame:
    """One row per session of a session index: its first timestamp across all the index's files and that
    timestamp's UTC date (the partition the session belongs to)."""
    return (
        index.group_by("session_id")
        .agg(pl.col("first_ts").min())
        .with_columns(pl.col("first_ts").dt.convert_time_zone("UTC").dt.date().alias("date"))
    )


def read_session_index(home: ReverieHome) -> pl.DataFrame:
    """One row per (staged file, session): which files hold which sessions, and their first timestamp."""
    path = home.staging / SESSION_INDEX_FILE
    return pl.read_parquet(path) if path.exists() else pl.DataFrame(schema=SESSION_INDEX_COLUMNS)


def record_staged(home: ReverieHome, staged: Iterable[StagedFile]) -> set[str]:
    """Add newly staged files to the manifest and index; drop superseded versions of the same paths.

    Returns the session ids whose staged data changed (added or removed). The partitions to rebuild, the
    start dates of those sessions before *and* after the change (a late file can move a session to an
    earlier day, and the old day must lose its rows), are written to the build journal first, so a crash
    after the manifest commits still leaves them to the next run (`pipeline.ingest.pending`).
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
            {"stage_key": s.stage_key, "session_id": sid, "first_ts": ts, "n_events": n}
            for s in fresh
            for sid, ts, n in s.sessions
        ],
        schema=SESSION_INDEX_COLUMNS,
    )
    touched |= set(new_index["session_id"].to_list())
    keep = ~pl.col("stage_key").is_in(stale_keys + list(new_keys))
    manifest = pl.concat([manifest.filter(keep), new_manifest]).sort("source_file", "stage_key")
    old_starts = session_starts_of(index)
    index = pl.concat([index.filter(keep), new_index]).sort("stage_key", "session_id")
    new_starts = session_starts_of(index)
    moved = pl.concat([old_starts, new_starts]).filter(pl.col("session_id").is_in(list(touched)))
    pending.mark(home, "events", moved["date"].to_list())
    reject_days = {s.ingest_date for s in fresh if s.n_rejects and s.ingest_date is not None}
    reject_days |= set(superseded.filter(pl.col("n_rejects") > 0)["ingest_date"].to_list())
    pending.mark(home, "rejects", reject_days)
    # Index first: a session listed without its file is harmless, a file without its sessions is invisible.
    write_file_atomically(home.staging / SESSION_INDEX_FILE, index.to_arrow())
    write_file_atomically(home.staging / MANIFEST_FILE, manifest.to_arrow())
    # A bundle goes once no file staged in it is current any more.
    stale_bundles = set(superseded["bundle"].to_list()) - set(manifest["bundle"].to_list())
    for bundle in stale_bundles:
        events_path(home, bundle).unlink(missing_ok=True)
        rejects_path(home, bundle).unlink(missing_ok=True)
    return touched
