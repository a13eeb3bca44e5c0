"""Mutation fuzzing of real log files in every format: good lines are kept, bad ones quarantined, nothing raises.

Each example takes a real fixture file (in its JSONL form where the format has one), breaks one line in one
way (truncated, a value of the wrong type, a value nested 300 deep, a UTF-8 BOM, invalid UTF-8) and stages
it. The oracle is the same file with that line blanked out: every event staged from it must still be
staged from the mutated file (the good lines are kept), a line that no longer parses must come back as a
reject naming the file and line, and a line whose events are lost must leave a reject behind (never a
silent drop). Bounded: 8 examples per format and mutation (`REVERIE_FUZZ_EXAMPLES` raises it for a longer hunt).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.home import ReverieHome
from pipeline.ingest.staging import events_path, rejects_path, stage_files_together
from pipeline.redaction import Redactor

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
INGEST_DAY = date(2026, 3, 6)
MUTATIONS = ("truncate", "wrong_type", "deep", "bom", "bad_utf8")
WRONG_VALUES: list[Any] = [None, 0, -1, 1.5, True, "", "x", [], {}, [1, "a"], {"k": 1}, 2**70]
_REDACTOR = Redactor()


def _one_span_per_line(source: str) -> bytes:
    """Span exports are JSON documents; their JSONL form (one span or span dump per line) is fuzzed."""
    document = json.loads((FIXTURES / source).read_text())
    spans = document["spans"]
    if "trace_id" in document:  # OpenAI Agents: span objects carry their trace id
        lines = [{"trace_id": document["trace_id"], **span} for span in spans]
    else:  # OpenTelemetry SDK dump: one `{"spans": [...]}` document per line
        lines = [{"spans": [span]} for span in spans]
    # json, not orjson: OpenTelemetry SDK dumps hold 128-bit integer trace ids
    return b"\n".join(json.dumps(line).encode() for line in lines) + b"\n"


@dataclass(frozen=True)
class Corpus:
    format: str
    name: str
    data: bytes
    line_based: bool = True


@cache
def corpus(fmt: str) -> Corpus:
    if fmt == "openai-agents":
        return Corpus(fmt, "trace.jsonl", _one_span_per_line("openai-agents/counterfact/with_handoff.json"))
    if fmt == "otel-genai":
        return Corpus(fmt, "trace.jsonl", _one_span_per_line("otel-genai/any-agent/OPENAI_trace.json"))
    source = {
        "native": "native/mission-0007.jsonl",
        "claude_code": "claude-code/daaain-claude-code-log/minimal_showcase/55550000-0000-4000-8000-000000000001.jsonl",
        "codex": "codex/codemie/turn-2.jsonl",
        "claude-agent-sdk": "anthropic-messages/counterfact-claude-agent-sdk/minimal.jsonl",
        "anthropic-messages": "anthropic-messages/anthropic-sdk-python/TestSyncRunTools/"
        "10e53c1d-51be-4c64-b5bf-99adb3fa4719.json",
    }[fmt]
    path = FIXTURES / source
    return Corpus(fmt, path.name, path.read_bytes(), line_based=fmt != "anthropic-messages")


@dataclass(frozen=True)
class Staged:
    source_format: str
    events: frozenset[tuple[str, str]]  # (event_id, type)
    lines: frozenset[int]  # source lines that produced an event
    rejects: pl.DataFrame
    source_file: str
    unknown_records: int  # records of a type the adapter never heard of (reported by `reverie ingest`)


def stage(name: str, data: bytes) -> Staged:
    """Stage one file exactly as `reverie ingest` would, into a throwaway home."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "logs" / name
        path.parent.mkdir()
        path.write_bytes(data)
        home = ReverieHome.at(root / "home").ensure()
        [staged] = stage_files_together(home, [path], INGEST_DAY, _REDACTOR, frozenset())
        events_file, rejects_file = events_path(home, staged.bundle), rejects_path(home, staged.bundle)
        events = pl.read_parquet(events_file) if events_file.exists() else pl.DataFrame()
        rejects = pl.read_parquet(rejects_file) if rejects_file.exists() else pl.DataFrame()
        keys = frozenset(events.select("event_id", "type").iter_rows()) if events.height else frozenset()
        lines = frozenset(events["source_line"].drop_nulls().to_list()) if events.height else frozenset()
        unknown = sum(staged.records_skipped.unknown.values())
        return Staged(staged.source_format, keys, lines, rejects, str(path), unknown)


@cache
def baseline(fmt: str) -> Staged:
    found = stage(corpus(fmt).name, corpus(fmt).data)
    assert found.source_format == fmt and found.events and found.rejects.is_empty()
    return found


def _paths(value: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> list[tuple[Any, ...]]:
    """Every place in a JSON value a mutation can land (bounded depth)."""
    found = [prefix] if prefix else []
    if depth >= 6:
        return found
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        found += _paths(child, (*prefix, key), depth + 1)
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


def _nested(depth: int) -> Any:
    value: Any = {"leaf": 1}
    for _ in range(depth):
        value = [value]
    return value


def _mutate_value(data: st.DataObject, record: Any, mutation: str) -> bytes:
    paths = _paths(record)
    path = data.draw(st.sampled_from(paths)) if paths else ()
    new = _nested(300) if mutation == "deep" else data.draw(st.sampled_from(WRONG_VALUES))
    # the standard library writes what orjson refuses to (300 levels, integers past 64 bits)
    return json.dumps(_replace(record, path, new), ensure_ascii=False).encode()


def _mutate_line(data: st.DataObject, line: bytes, mutation: str, is_first: bool) -> bytes:
    if mutation == "truncate":
        return line[: data.draw(st.integers(1, max(1, len(line) - 1)))]
    if mutation == "bad_utf8":
        at = data.draw(st.integers(1, max(1, len(line) - 1)))
        return line[:at] + b"\xff\xfe" + line[at:]
    if mutation == "bom":
        return "\ufeff".encode() + line
    return _mutate_value(data, orjson.loads(line), mutation)


def _parses(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _check_rejects(found: Staged) -> None:
    if found.rejects.is_empty():
        return
    assert set(found.rejects["source_file"]) == {found.source_file}
    assert all(reason.strip() for reason in found.rejects["reason"])


def fuzz_line(data: st.DataObject, fmt: str, mutation: str) -> None:
    source = corpus(fmt)
    base = baseline(fmt)
    lines = source.data.split(b"\n")
    candidates = [i for i, line in enumerate(lines) if line.strip()]
    index = 0 if mutation == "bom" else data.draw(st.sampled_from(candidates), label="line index")
    line_number = index + 1
    mutated_line = _mutate_line(data, lines[index], mutation, index == 0)
    mutated = stage(source.name, b"\n".join([*lines[:index], mutated_line, *lines[index + 1 :]]))
    _check_rejects(mutated)
    if mutation == "bom":  # a byte-order mark is not damage: the file reads as without it
        assert base.events <= mutated.events
        return
    blanked = stage(source.name, b"\n".join([*lines[:index], b"", *lines[index + 1 :]]))
    missing = blanked.events - mutated.events
    assert not missing, f"good lines lost events {sorted(missing)[:5]} when line {line_number} broke"
    reject_lines = set(mutated.rejects["source_line"].to_list()) if mutated.rejects.height else set()
    if not _parses(mutated_line):
        assert line_number in reject_lines, f"unparsable line {line_number} not quarantined"
    # The broken line's own events may change (a mutated id is another event), but if it had events and
    # now has none, it must say so: a reject, or a record counted as of an unknown type.
    if line_number in base.lines and line_number not in mutated.lines:
        assert reject_lines & {line_number, None} or mutated.unknown_records > blanked.unknown_records, (
            f"line {line_number} lost its events without a reject"
        )


def fuzz_document(data: st.DataObject, fmt: str, mutation: str) -> None:
    """Single-document formats: the damage is to the document; it is read or rejected, never raises."""
    source = corpus(fmt)
    base = baseline(fmt)
    raw = source.data
    if mutation == "truncate":
        raw = raw[: data.draw(st.integers(1, len(raw) - 1))]
    elif mutation == "bad_utf8":
        at = data.draw(st.integers(1, len(raw) - 1))
        raw = raw[:at] + b"\xff\xfe" + raw[at:]
    elif mutation == "bom":
        raw = "\ufeff".encode() + raw
    else:
        raw = _mutate_value(data, orjson.loads(raw), mutation)
    mutated = stage(source.name, raw)
    _check_rejects(mutated)
    if mutation == "bom":
        assert base.events <= mutated.events
        return
    assert mutated.events or not mutated.rejects.is_empty(), "the document vanished without a reject"
    if not _parses(raw):
        assert not mutated.rejects.is_empty()


FORMATS = [
    "native",
    "claude_code",
    "codex",
    "claude-agent-sdk",
    "openai-agents",
    "otel-genai",
    "anthropic-messages",
]


@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize("fmt", FORMATS)
@settings(
    max_examples=int(os.environ.get("REVERIE_FUZZ_EXAMPLES", "8")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_mutated_line_is_quarantined_and_the_good_lines_kept(
    data: st.DataObject, fmt: str, mutation: str
) -> None:
    if corpus(fmt).line_based:
        fuzz_line(data, fmt, mutation)
    else:
        fuzz_document(data, fmt, mutation)
