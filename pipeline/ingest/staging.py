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
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from pipeline.events import REJECTS_SCHEMA
from pipeline.home import ReverieHome
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
from pipeline.redaction import Redactor
from pipeline.redaction_fields import redact_across_blocks, redact_identifier, redact_row_identifiers

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
    read: list[_ReadFile] = []
    for path in paths:
        try:
            one_read = _read_one(path, ingest_date, redactor, known_keys)
        except Exception as error:  # a bug in one file's staging loses that file, never its batch-mates
            one_read = _ReadFile(path, error=error)
        read.append(one_read)
    _redact_identifiers(redactor, [one for one in read if one.staged is None and one.error is None])
    for one_read in read:
        try:
            staged, one, rejects = _stage_one(one_read, ingest_date, redactor)
        except Exception as error:
            staged, one, rejects = _failed_file(one_read.path, ingest_date, redactor, error)
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


@dataclass(slots=True)
class _ReadFile:
    """One source file of a batch, parsed, before its identifiers are redacted with its batch-mates'.
    `staged` is set when the file is skipped (staged already), `error` when reading it raised."""

    path: Path
    staged: StagedFile | None = None
    error: Exception | None = None
    source_file: str = ""
    content_hash: str = ""
    key: str = ""
    source_format: str = UNKNOWN_FORMAT
    size: int = 0
    rows: list[EventRow] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    tally: RecordTally = field(default_factory=RecordTally)


def _read_one(path: Path, ingest_date: date, redactor: Redactor, known_keys: frozenset[str]) -> _ReadFile:
    """Hash, sniff and parse one file (or find it staged already)."""
    data = path.read_bytes()
    content_hash = hashlib.blake2b(data, digest_size=16).hexdigest()
    key = stage_key_for(str(path), content_hash)
    source_file = redact_identifier(redactor, str(path))  # what is stored: paths can hold secrets too
    if key in known_keys:
        skipped = StagedFile(source_file, content_hash, key, "", size_bytes=len(data), skipped=True)
        return _ReadFile(path, staged=skipped)
    adapter = sniff_head(path, data[:SNIFF_BYTES])
    size, is_empty = len(data), data.isspace() or not data  # isspace, unlike strip, copies nothing
    del data  # the adapter reads the file itself; never hold two copies of a big file
    read = _ReadFile(path, source_file=source_file, content_hash=content_hash, key=key, size=size)
    read.source_format = adapter.name if adapter is not None else UNKNOWN_FORMAT
    if is_empty:
        read.rejects.append(Reject(None, "empty file"))
    elif adapter is None:
        read.rejects.append(Reject(None, "unknown format: no adapter recognised this file"))
    else:
        try:
            for item in adapter.parse(path, tally=read.tally):
                (read.rejects if isinstance(item, Reject) else read.rows).append(item)
        except Exception as error:  # an adapter bug loses the rest of this file, never the run
            read.rejects.append(
                Reject(None, f"{read.source_format} adapter failed: {type(error).__name__}: {error}")
            )
    return read


def _redact_identifiers(redactor: Redactor, files: list[_ReadFile]) -> None:
    """Redact the identifiers of a batch's rows in one call (each distinct value once, one screening pass);
    if that raises, file by file, and a file whose own call raises is marked failed."""
    try:
        redact_row_identifiers(redactor, [row for one in files for row in one.rows])
    except Exception:
        for one in files:
            try:
                redact_row_identifiers(redactor, one.rows)
            except Exception as error:
                one.error = error


def _stage_one(
    read: _ReadFile, ingest_date: date, redactor: Redactor
) -> tuple[StagedFile, ParsedFile | None, pl.DataFrame | None]:
    """Check one read file; its rows are redacted and framed with the rest of its batch."""
    if read.error is not None:
        raise read.error
    if read.staged is not None:
        return read.staged, None, None
    rows, rejects, source_format, source_file, key = (
        read.rows,
        read.rejects,
        read.source_format,
        read.source_file,
        read.key,
    )
    redact_across_blocks(redactor, rows)
    rows, inputs, unstorable = checked_rows(rows)
    rejects.extend(unstorable)
    result = StagedFile(
        source_file,
        read.content_hash,
        key,
        source_format,
        n_events=len(rows),
        n_rejects=len(rejects),
        size_bytes=read.size,
        ingest_date=ingest_date,
        sessions=_session_summary(rows),
        records_skipped=read.tally,
    )
    rejects_frame = (
        _rejects_frame(rejects, source_format, source_file, key, ingest_date, redactor) if rejects else None
    )
    return result, ParsedFile(read.path, source_format, source_file, key, rows, inputs), rejects_frame


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
