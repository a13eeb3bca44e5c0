"""Line-by-line JSON reading that turns every way a log line can be broken into a `Reject`.

Real log files are appended to by running agents, copied half-way, or edited by hand, so a reader must
expect torn last lines, foreign encodings and runaway lines. Keeping this in one place means every
JSONL adapter reports the same reasons for the same damage.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from pipeline.ingest.base import RAW_PREVIEW_CHARS, Reject

MAX_LINE_BYTES = 8 * 1024 * 1024
"""Longer lines are rejected rather than parsed: no real event is that big, and one would blow memory
budgets downstream (every text column is held per partition)."""


RAW_WINDOW_CHARS = RAW_PREVIEW_CHARS * 4
"""A reject carries this much of its line; staging redacts it and only then keeps `RAW_PREVIEW_CHARS`, so a
secret that starts before the stored cut is whole when the redactor sees it (keys are far shorter)."""


def json_bytes(value: Any, *, sort_keys: bool = False) -> bytes:
    """JSON text of a parsed value, for previews and text fields; never raises. orjson refuses values nested
    deeper than 254 levels (and a reject's preview must not lose the rest of its file), so those fall back to
    a bounded repr."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except (orjson.JSONEncodeError, TypeError):
        try:
            return repr(value)[: RAW_WINDOW_CHARS * 4].encode("utf-8", errors="replace")
        except RecursionError:
            return b"<value nested too deeply to show>"


def raw_preview(line: bytes) -> str:
    """A bounded, always-decodable window of a bad line (redact it, then cut it: `staging.stored_preview`)."""
    return line[: RAW_WINDOW_CHARS * 4].decode("utf-8", errors="replace")[:RAW_WINDOW_CHARS]


UTF8_BOM = b"\xef\xbb\xbf"


def strip_bom(data: bytes) -> bytes:
    """Files saved by some Windows editors start with a UTF-8 byte order mark, which is not JSON: without
    this the first line (or a whole single-document file) would be lost to it."""
    return data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data


def iter_json_lines(path: Path, data: bytes | None = None) -> Iterator[tuple[int, Any] | Reject]:
    """Yield `(line_number, parsed_value)` for each good line (1-based) and a `Reject` for each bad one.

    `data` lets a caller that already read the file (to hash it) avoid a second read. Blank lines are
    skipped silently; an empty file yields one reject so that it shows up in the rejects table.
    """
    for item in iter_lines(path, data):
        yield item if isinstance(item, Reject) else loads_line(*item)


def iter_lines(path: Path, data: bytes | None = None) -> Iterator[tuple[int, bytes, bool] | Reject]:
    """Yield `(line_number, line, is_last)` for each non-blank line that is not too long to parse, and a
    `Reject` for each one that is (or for an empty file): `iter_json_lines` before the JSON parsing, for a
    reader that decodes lines its own way and hands the rest to `loads_line`."""
    if data is None:
        data = path.read_bytes()
    data = strip_bom(data)
    if not data.strip():
        yield Reject(None, "empty file")
        return
    lines = data.split(b"\n")
    last_index = len(lines) - 1
    for index, line in enumerate(lines):
        if len(line) > MAX_LINE_BYTES:
            yield Reject(index + 1, f"line longer than 8 MB ({len(line):,} bytes)", raw_preview(line))
        elif line and not line.isspace():  # isspace: the whitespace `strip` removes, without a copy
            yield index + 1, line, index == last_index


def loads_line(line_number: int, line: bytes, is_last: bool) -> tuple[int, Any] | Reject:
    """One line parsed by orjson, or the `Reject` saying why it could not be."""
    try:
        return line_number, orjson.loads(line)
    except orjson.JSONDecodeError as error:
        return Reject(line_number, _reason(line, error, is_last=is_last), raw_preview(line))


def _reason(line: bytes, error: orjson.JSONDecodeError, *, is_last: bool) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as decode_error:
        return f"not UTF-8 (byte {decode_error.start})"
    if is_last:
        # The final line has no newline after it: the writer was interrupted mid-line.
        return "truncated last line"
    return f"invalid JSON: {error.msg} at column {error.colno}"
