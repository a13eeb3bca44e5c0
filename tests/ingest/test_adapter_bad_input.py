"""One wrong-typed or malformed record never loses the rest of its file, in any format.

Real files are mutated one record at a time (a value replaced by a value of every other JSON type, at every
key two levels deep): the adapter must not raise, and the events of every other line must be unchanged.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.ingest.base import EventRow, RecordTally, Reject
from pipeline.ingest.engine import ingest
from pipeline.ingest.jsonl import UTF8_BOM
from pipeline.ingest.registry import SNIFF_BYTES, get, sniff_head

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"d": value}
    return value


WRONG_VALUES: list[Any] = [None, 7, "text", ["x"], {"x": [1]}, True, nested(300)]
"""Every other JSON type, and a value nested deeper than orjson will serialize (a reject's preview of it
must not lose the rest of the file)."""

JSONL_SAMPLES = {
    "claude_code": FIXTURES / "claude-code" / "marot-spotter" / "short.jsonl",
    "claude-agent-sdk": FIXTURES / "real-world" / "claude-agent-sdk" / "trackgentic" / "stream.jsonl",
    "codex": FIXTURES / "codex" / "codemie" / "turn-2.jsonl",
    "native": FIXTURES / "native" / "mission-0007.jsonl",
}
DOCUMENT_SAMPLES = {
    "anthropic-messages": FIXTURES / "real-world" / "anthropic-messages" / "TestSyncRunTools",
    "otel-genai": FIXTURES / "otel-genai" / "any-agent" / "AGNO_trace.json",
    "openai-agents": FIXTURES / "openai-agents" / "counterfact" / "with_handoff.json",
}


def parse(format_name: str, path: Path) -> tuple[list[EventRow], list[Reject], RecordTally]:
    tally = RecordTally()
    items = list(get(format_name).parse(path, tally=tally))  # must not raise
    return [i for i in items if isinstance(i, EventRow)], [i for i in items if isinstance(i, Reject)], tally


def mutations(record: Any) -> list[Any]:
    """The record itself replaced, and each value one or two keys deep replaced, by every other JSON type."""
    out: list[Any] = [value for value in WRONG_VALUES if type(value) is not type(record)]
    if not isinstance(record, dict):
        return out
    for key, value in record.items():
        for wrong in WRONG_VALUES:
            if type(wrong) is not type(value):
                out.append({**record, key: wrong})
        if isinstance(value, dict):
            for inner_key, inner in value.items():
                for wrong in WRONG_VALUES:
                    if type(wrong) is not type(inner):
                        changed = copy.deepcopy(record)
                        changed[key][inner_key] = wrong
                        out.append(changed)
    return out


def other_lines(rows: list[EventRow], line: int) -> list[tuple[Any, ...]]:
    """What the other lines made: events by line, type and text (ordinal ids may shift, and a result's tool
    name comes from its call, which may be the broken line)."""
    return sorted((r.source_line or 0, r.type, r.content or "") for r in rows if r.source_line != line)


@pytest.mark.parametrize("format_name", JSONL_SAMPLES)
def test_a_wrong_typed_line_loses_nothing_else(format_name: str, tmp_path: Path) -> None:
    source = JSONL_SAMPLES[format_name]
    lines = source.read_text().splitlines()
    middle = len(lines) // 2
    baseline, _, _ = parse(format_name, source)
    expected = [e for e in other_lines(baseline, middle + 1) if e[1] not in ("session_start", "session_end")]
    path = tmp_path / source.name
    for mutated in mutations(json.loads(lines[middle])):
        path.write_text("\n".join([*lines[:middle], json.dumps(mutated), *lines[middle + 1 :]]) + "\n")
        rows, _, _ = parse(format_name, path)
        kept = [e for e in other_lines(rows, middle + 1) if e[1] not in ("session_start", "session_end")]
        missing = [e for e in expected if e not in kept]
        assert missing == [], f"{format_name}: {json.dumps(mutated)[:200]} lost other lines' events"


@pytest.mark.parametrize("format_name", DOCUMENT_SAMPLES)
def test_a_wrong_typed_element_of_a_document_never_loses_the_file(format_name: str, tmp_path: Path) -> None:
    source = DOCUMENT_SAMPLES[format_name]
    source = next(iter(sorted(source.glob("*.json")))) if source.is_dir() else source
    document = json.loads(source.read_text())
    elements = document if isinstance(document, list) else document.get("spans") or document.get("data")
    assert isinstance(elements, list) and elements
    path = tmp_path / source.name
    for index in range(len(elements)):
        for mutated in mutations(elements[index]):
            changed = copy.deepcopy(document)
            target = changed if isinstance(changed, list) else changed.get("spans") or changed.get("data")
            target[index] = mutated
            path.write_text(json.dumps(changed))
            rows, _, _ = parse(format_name, path)
            assert rows, f"{format_name}: {json.dumps(mutated)[:200]} lost the whole file"


def test_a_type_list_in_the_first_lines_keeps_a_claude_code_file_recognised(tmp_path: Path) -> None:
    source = JSONL_SAMPLES["claude_code"]
    path = tmp_path / "session.jsonl"
    path.write_text('{"type": ["x"]}\n' + source.read_text())
    adapter = sniff_head(path, path.read_bytes()[:SNIFF_BYTES])
    assert adapter is not None and adapter.name == "claude_code"
    rows, rejects, _ = parse("claude_code", path)
    assert len(rows) == len(parse("claude_code", source)[0])
    assert [(r.source_line, r.reason) for r in rejects] == [(1, "wrong type for type: list, expected text")]


@pytest.mark.parametrize(
    ("format_name", "source"),
    [
        ("claude_code", JSONL_SAMPLES["claude_code"]),
        ("codex", JSONL_SAMPLES["codex"]),
        (
            "anthropic-messages",
            FIXTURES
            / "real-world/anthropic-messages/TestSyncRunTools/956fa2fe-8752-4f7c-8f9a-33735e62b898.json",
        ),
    ],
)
def test_a_byte_order_mark_loses_nothing(format_name: str, source: Path, tmp_path: Path) -> None:
    path = tmp_path / source.name
    path.write_bytes(UTF8_BOM + source.read_bytes())
    adapter = sniff_head(path, path.read_bytes()[:SNIFF_BYTES])
    assert adapter is not None and adapter.name == format_name
    with_bom, rejects, _ = parse(format_name, path)
    assert rejects == []
    assert [(r.event_id, r.type) for r in with_bom] == [
        (r.event_id, r.type) for r in parse(format_name, source)[0]
    ]


def test_every_claude_code_line_becomes_an_event_a_reject_or_a_counted_skip() -> None:
    for source in sorted((FIXTURES / "claude-code").rglob("*.jsonl")):
        rows, rejects, tally = parse("claude_code", source)
        lines = [n for n, text in enumerate(source.read_text().splitlines(), start=1) if text.strip()]
        accounted = {r.source_line for r in rows} | {r.source_line for r in rejects}
        silent = [n for n in lines if n not in accounted]
        skipped = sum(tally.ignored.values()) + sum(tally.unknown.values())
        assert len(silent) <= skipped, f"{source.name}: lines {silent[:5]} made no event, reject or count"


def test_a_non_string_role_is_quarantined_and_the_run_goes_on(tmp_path: Path) -> None:
    source = JSONL_SAMPLES["claude_code"]
    lines = source.read_text().splitlines()
    index = next(i for i, text in enumerate(lines) if json.loads(text).get("type") == "assistant")
    record = json.loads(lines[index])
    record["message"]["role"] = ["assistant"]
    lines[index] = json.dumps(record)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / source.name).write_text("\n".join(lines) + "\n")
    home = ReverieHome.at(tmp_path / "home").ensure()
    report = ingest(home, [logs], workers=1)
    assert report.events > 0 and report.rejects == 1
    rejects = lake.read_table(home, "rejects")
    assert rejects.filter(pl.col("reason").str.contains("message.role")).height == 1


def test_a_jsonl_otel_export_line_without_spans_is_rejected_not_dropped(tmp_path: Path) -> None:
    source = FIXTURES / "otel-genai" / "any-agent" / "AGNO_trace.json"
    spans = json.loads(source.read_text())["spans"]
    path = tmp_path / "traces.jsonl"
    lines = [{"spans": spans[:2]}, {"resource": {"service.name": "x"}}, 5, {"spans": spans[2:]}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    rows, rejects, _ = parse("otel-genai", path)
    assert sorted((r.source_line, r.reason) for r in rejects) == [
        (2, "no spans in this line"),
        (3, "no spans in this line"),
    ]
    assert len(rows) == len(parse("otel-genai", source)[0])
