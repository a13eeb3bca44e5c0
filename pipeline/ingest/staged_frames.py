"""The staged events of a batch of source files as one polars frame, every text redacted on the way.

A batch (~8 MB of source files) is framed and redacted at once rather than file by file: building a
polars frame has a fixed cost per call and per column (~3 ms for a file's 19 columns, measured on 392
files), and `Redactor.redact_all` screens texts joined into ~4 MB batches, so both cost less the more rows
they get per call. Rows keep their own file's stage key, source file and format.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.events import EVENTS_DERIVED_COLUMNS, EVENTS_SCHEMA
from pipeline.ingest.base import EventRow
from pipeline.redaction import Redactor

STAGING_SCHEMA = pa.schema(
    [f for f in EVENTS_SCHEMA if f.name not in EVENTS_DERIVED_COLUMNS]
    + [pa.field("n_redactions", pa.int64()), pa.field("stage_key", pa.string())]
)
STAGING_COMPRESSION = "lz4"
"""Staging files are read once, by the partition build on the same machine: fast (de)compression matters
more than size there, and polars' writer has a fraction of pyarrow's fixed cost per file (measured 3.5x on
4,000 small files), which dominates when sessions are small."""
STAGING_FRAME_SCHEMA = pl.Schema(
    {name: (pl.Int64 if name == "ts" else dtype) for name, dtype in pl.Schema(STAGING_SCHEMA).items()}
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(slots=True)
class ParsedFile:
    """One source file's checked rows (and their serialized `input`), waiting to be framed with its batch."""

    path: Path
    source_format: str
    source_file: str  # as stored: already redacted
    stage_key: str
    rows: list[EventRow]
    inputs: list[str | None]


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


def events_frame(files: list[ParsedFile], redactor: Redactor) -> tuple[pl.DataFrame, list[int]]:
    """The staged rows of `files`, in order, and the number of secrets redacted in each file.

    `input` is redacted as its serialized JSON text, once, rather than value by value: the secret-name
    patterns accept JSON's quoted `"password": "..."` shape, so the result is the same at a fraction of
    the calls. Texts with nothing to redact (nearly all) are kept as the very same object.
    """
    rows = [row for parsed in files for row in parsed.rows]
    contents, content_found = _redact_texts(redactor, [row.content for row in rows])
    inputs, input_found = _redact_texts(redactor, [text for parsed in files for text in parsed.inputs])
    # Plus what was redacted before these texts (identifiers, secrets split across blocks), per row.
    redaction_counts = [
        row.n_redactions + a + b for row, a, b in zip(rows, content_found, input_found, strict=True)
    ]
    per_file: list[int] = []
    start = 0
    for parsed in files:
        per_file.append(sum(redaction_counts[start : start + len(parsed.rows)]))
        start += len(parsed.rows)
    n = len(rows)

    def per_row(values: list[str]) -> list[str]:
        return [value for parsed, value in zip(files, values, strict=True) for _ in parsed.rows]

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
        "source_format": per_row([parsed.source_format for parsed in files]),
        "source_file": per_row([parsed.source_file for parsed in files]),
        "source_line": [r.source_line for r in rows],
        "n_redactions": redaction_counts,
        "stage_key": per_row([parsed.stage_key for parsed in files]),
    }
    frame = pl.DataFrame(columns, schema=STAGING_FRAME_SCHEMA).with_columns(
        pl.col("ts").cast(pl.Datetime("us", "UTC"))
    )
    return frame, per_file


STAGED_DAY = "file_day"
"""A staged row's day: the UTC date of its session's first timestamp in its own source file, which is what
the session index records for that (file, session). A staged batch holds one row group per such day, so a
partition build reads only the row groups of the days it needs (see `pipeline.ingest.partitions`)."""


def with_staged_days(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with its `STAGED_DAY` column, rows of the same day together (order kept within a day)."""
    ts = pl.col("ts")
    if frame.schema["ts"] != pl.Datetime("us", "UTC"):  # an empty frame keeps the schema's epoch integers
        ts = ts.cast(pl.Datetime("us", "UTC"))
    day = ts.min().over("stage_key", "session_id").dt.date().alias(STAGED_DAY)
    return frame.with_columns(day).sort(STAGED_DAY, maintain_order=True)


_REPEATED_COLUMNS = [
    "session_id",
    "agent",
    "type",
    "role",
    "tool",
    "source_format",
    "source_file",
    "stage_key",
]
"""Columns whose values repeat within a row group: dictionary-encoded. The rest (texts, event ids) would
only pay for a dictionary that grows with every row (measured 0.36 against 0.26 CPU-s per 0.1 GB)."""


def write_staged_batch(path: Path, frame: pl.DataFrame) -> None:
    """Write a batch's staged events atomically, one row group per `STAGED_DAY`, with statistics only for
    that column: a build of one day then skips every other day's row groups by their statistics, instead
    of reading (or splitting beforehand) the whole batch. pyarrow's writer, since polars' cannot cut row
    groups at given rows."""
    frame = with_staged_days(frame)
    lengths = frame.group_by(STAGED_DAY, maintain_order=True).len()["len"].to_list() or [0]
    table = frame.to_arrow()
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with pq.ParquetWriter(
        tmp,
        table.schema,
        compression=STAGING_COMPRESSION,
        write_statistics=[STAGED_DAY],
        use_dictionary=_REPEATED_COLUMNS,
    ) as writer:
        offset = 0
        for length in lengths:
            writer.write_table(table.slice(offset, length), row_group_size=max(length, 1))
            offset += length
    os.replace(tmp, path)


def write_frame_atomically(path: Path, frame: pl.DataFrame) -> None:
    """Temp name then rename, as `lake.write_file_atomically` does for pyarrow tables."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    frame.write_parquet(tmp, compression=STAGING_COMPRESSION, statistics=False)
    os.replace(tmp, path)
