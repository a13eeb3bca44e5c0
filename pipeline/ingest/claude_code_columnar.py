"""A columnar path for Claude Code transcripts that yields exactly the rows of `claude_code.ClaudeCodeAdapter`.

Why: the reference adapter spends ~25 us of Python per line, which made ingest 2.5x slower than DuckDB's own
copy of the same files. Here DuckDB parses a whole batch of files at once (`read_json`, every key as JSON,
see `claude_code_sql`) and the adapter's stateful steps become joins over the batch: a line's parent is
resolved to the first event of the parent line only if that line came earlier in the file (an as-of join),
tool results take the name of the latest earlier `tool_use` with their id, split responses put their usage
on the last event of the first line of the response (one group-by), and the session start, context and
summaries are aggregates. Python only touches the rare values that need Python semantics exactly (JSON
inputs re-serialized by orjson, list-shaped tool results, the first prompt).

The reference adapter stays the definition: a file comes back as `None` (the caller then parses it with the
adapter) whenever anything in it is outside what this path reproduces with certainty: a line the adapter
would reject, a value of an unexpected JSON type, a timestamp in another format, bytes that DuckDB and
orjson might read differently (NaN, escaped surrogates, carriage returns), or a DuckDB error for the batch.
`tests/ingest/test_claude_code_columnar.py` checks the two paths row for row.

Status: proven identical on every fixture and a generated corpus sample, but NOT wired into staging: in the
same run on 187 generated files (50 MB) it took ~8x the reference adapter's time (DuckDB's JSON-typed reads
and the per-field JSON functions cost more than the adapter's Python). See benchmarks/README.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import orjson
import polars as pl

from pipeline.ingest.claude_code import TASK_PREVIEW_CHARS, _block_text, _is_prompt
from pipeline.ingest.claude_code_sql import CONTEXT_KEYS, blocks_sql, lines_sql, picked_sql, read_columns
from pipeline.ingest.jsonl import MAX_LINE_BYTES

ROW_COLUMNS = {
    "session_id": pl.String,
    "event_id": pl.String,
    "parent_event_id": pl.String,
    "ts": pl.Int64,  # epoch microseconds, UTC
    "agent": pl.String,
    "type": pl.String,
    "role": pl.String,
    "tool": pl.String,
    "input": pl.String,  # JSON text, as `orjson.dumps` writes it
    "content": pl.String,
    "is_error": pl.Boolean,
    "tokens_in": pl.Int64,
    "tokens_out": pl.Int64,
    "source_line": pl.Int64,
}
"""What the fast path returns per file: the staged event columns before redaction."""

_UNSURE_BYTES = (b"\r", b"NaN", b"Infinity", b"\\ud", b"\\uD")
"""Bytes where DuckDB's JSON reader and orjson may disagree (NaN literals, surrogate escapes) or where line
splitting may differ (carriage returns): files holding them go to the reference adapter."""

_TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3}|\.[0-9]{6})?(Z|[+-][0-9]{2}:[0-9]{2})$"
_CONTEXT_FEATURES = {
    "cwd": "cwd",
    "gitBranch": "git_branch",
    "version": "version",
    "userType": "user_type",
    "permissionMode": "permission_mode",
    "entrypoint": "entrypoint",
}
_KNOWN_BLOCKS = (
    "text",
    "thinking",
    "tool_use",
    "server_tool_use",
    "tool_result",
    "image",
    "redacted_thinking",
)


def _line_numbers(data: bytes) -> list[int] | None:
    """1-based numbers of the non-blank lines, or None if the file is outside what the fast path takes."""
    if not data.strip() or any(marker in data for marker in _UNSURE_BYTES):
        return None
    numbers = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line:
            continue
        if line[0] != 0x7B or len(line) > MAX_LINE_BYTES or not line.strip():  # every line an object
            return None
        numbers.append(number)
    return numbers


def normalize_files(paths: Sequence[Path], datas: Sequence[bytes]) -> list[pl.DataFrame | None]:
    """The reference adapter's rows for each Claude Code file (`ROW_COLUMNS`), or None where it must run.

    `datas` are the files' bytes (already read by the caller to hash them): used only to number lines and
    to screen for unusual bytes; DuckDB reads the files itself. A DuckDB error on the batch (malformed JSON,
    duplicate keys) is narrowed down by halves, so one bad file does not send its batch-mates back.
    """
    results: list[pl.DataFrame | None] = [None] * len(paths)
    numbered = [(i, _line_numbers(data)) for i, data in enumerate(datas)]
    todo = [(i, numbers) for i, numbers in numbered if numbers]
    _normalize_group(paths, todo, results)
    return results


def _normalize_group(
    paths: Sequence[Path], group: list[tuple[int, list[int]]], results: list[pl.DataFrame | None]
) -> None:
    if not group:
        return
    try:
        frames = _normalize_batch([paths[i] for i, _ in group], [numbers for _, numbers in group])
    except (duckdb.Error, orjson.JSONDecodeError, TypeError, ValueError):
        if len(group) == 1:
            return
        half = len(group) // 2
        _normalize_group(paths, group[:half], results)
        _normalize_group(paths, group[half:], results)
        return
    for (index, _), frame in zip(group, frames, strict=True):
        results[index] = frame


def _normalize_batch(paths: list[Path], line_numbers: list[list[int]]) -> list[pl.DataFrame | None]:
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")  # staging already runs one worker process per core
        files = "[" + ", ".join("'" + p.as_posix().replace("'", "''") + "'" for p in paths) + "]"
        raw = pl.from_arrow(
            con.sql(
                f"SELECT * FROM read_json({files}, format = 'newline_delimited', columns = {read_columns()}, "
                "filename = 'source_path', maximum_object_size = 16777216)"
            ).to_arrow_table()
        )
        assert isinstance(raw, pl.DataFrame)
        expected = pl.DataFrame(
            {
                "file_idx": [i for i, numbers in enumerate(line_numbers) for _ in numbers],
                "line_no": [n for numbers in line_numbers for n in numbers],
                "expected_path": [
                    p.as_posix() for p, numbers in zip(paths, line_numbers, strict=True) for _ in numbers
                ],
            },
            schema={"file_idx": pl.Int32, "line_no": pl.Int64, "expected_path": pl.String},
        )
        if raw.height != expected.height or not raw["source_path"].equals(
            expected["expected_path"], check_names=False
        ):
            raise ValueError("DuckDB's rows do not line up with the files' lines")
        raw = pl.concat([raw.drop("source_path"), expected.drop("expected_path")], how="horizontal")
        raw = raw.with_row_index("pos")
        con.register("raw_lines", raw.to_arrow())
        con.execute(f"CREATE TEMP TABLE picked AS {picked_sql('raw_lines')}")
        lines = con.sql(lines_sql("picked")).pl()
        blocks = con.sql(blocks_sql("picked")).pl()
    finally:
        con.close()
    from pipeline.ingest.claude_code_assembly import assemble  # it uses this module's helpers

    return assemble(lines, blocks, len(paths))


def json_text(value_json: str | None) -> str | None:
    """A JSON value, as DuckDB hands it over, re-serialized the way staging serializes adapter values."""
    if value_json is None:
        return None
    value = orjson.loads(value_json)
    return None if value is None else orjson.dumps(value).decode()


def block_text(value_json: str | None) -> str | None:
    """`claude_code._block_text` of a JSON value handed over as text."""
    return None if value_json is None else _block_text(orjson.loads(value_json))


def result_summary(entries: list[dict[str, str]] | None) -> str | None:
    """`_result_summary` of an object-shaped `toolUseResult`, from its scalar entries (filtered in SQL)."""
    if not entries:
        return None
    return orjson.dumps({e["key"]: orjson.loads(e["value"]) for e in entries}).decode()


def prompt_of(kind: str, meta: str | None, compact: str | None, text: str | None, content_json: str | None):
    """`_is_prompt` for a line given as columns; a non-text block list is never a prompt."""
    record: dict[str, Any] = {"isMeta": meta == "true", "isCompactSummary": compact == "true", "type": kind}
    content: Any = text if text is not None else (orjson.loads(content_json) if content_json else None)
    if content is None and text is None and content_json is None:
        return None
    return _is_prompt(record, content)


__all__ = ["ROW_COLUMNS", "TASK_PREVIEW_CHARS", "CONTEXT_KEYS", "normalize_files"]
