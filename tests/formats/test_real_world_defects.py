"""Each ingest-fidelity defect found on real logs, shown on the real file it was found in (tests/fixtures/real-world)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.ingest.base import EventRow, RecordTally, Reject
from pipeline.ingest.engine import ingest
from pipeline.ingest.registry import SNIFF_BYTES, sniff_head

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real-world"
SPOTTER = REAL / "claude-code" / "spotter"
STREAM = REAL / "claude-agent-sdk" / "trackgentic" / "stream.jsonl"


def parsed(path: Path) -> tuple[list[EventRow], list[Reject], RecordTally]:
    adapter = sniff_head(path, path.read_bytes()[:SNIFF_BYTES])
    assert adapter is not None, f"{path.name} not recognised"
    tally = RecordTally()
    items = list(adapter.parse(path, tally=tally))
    return (
        [i for i in items if isinstance(i, EventRow)],
        [i for i in items if isinstance(i, Reject)],
        tally,
    )


def lake_of(tmp_path: Path, *paths: Path) -> ReverieHome:
    home = ReverieHome.at(tmp_path / "home").ensure()
    ingest(home, list(paths), workers=1)
    return home


def usage_per_response(paths: list[Path], *, nested: bool) -> tuple[int, int]:
    """Input and output tokens with each API response (`message.id`) counted once, read from the raw lines."""
    responses: dict[str, tuple[int, int]] = {}
    for path in paths:
        for line in path.read_text().splitlines():
            record = json.loads(line)
            candidates = [record]
            if nested and record.get("type") == "progress":
                candidates.append((record.get("data") or {}).get("message") or {})
            for candidate in candidates:
                message = candidate.get("message") if isinstance(candidate.get("message"), dict) else {}
                usage = message.get("usage")
                if candidate.get("type") == "assistant" and isinstance(usage, dict):
                    tokens_in = sum(
                        usage.get(k) or 0
                        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
                    )
                    old = responses.get(message["id"], (0, 0))
                    responses[message["id"]] = (max(old[0], tokens_in), max(old[1], usage["output_tokens"]))
    return sum(v[0] for v in responses.values()), sum(v[1] for v in responses.values())


def test_a_subagent_response_copied_inline_into_the_parent_counts_once(tmp_path: Path) -> None:
    files = sorted(SPOTTER.rglob("*.jsonl"))
    home = lake_of(tmp_path, SPOTTER)
    session = lake.read_table(home, "sessions").row(0, named=True)
    assert (session["tokens_in"], session["tokens_out"]) == usage_per_response(files, nested=True)


def test_agent_sdk_usage_repeated_on_every_content_block_line_counts_once() -> None:
    rows, rejects, _ = parsed(STREAM)
    assert rejects == []
    counted = (sum(r.tokens_in or 0 for r in rows), sum(r.tokens_out or 0 for r in rows))
    assert counted == usage_per_response([STREAM], nested=False)


def test_agent_sdk_events_without_a_time_take_their_neighbours_time(tmp_path: Path) -> None:
    home = lake_of(tmp_path, STREAM)
    events = lake.read_table(home, "events").sort("seq")
    first_timed = min(
        json.loads(line)["timestamp"] for line in STREAM.read_text().splitlines() if '"timestamp"' in line
    )
    assert events["ts"].min().year == 2026  # never 1970 when any line has a time
    assert events["ts"].min().isoformat().startswith(first_timed[:19])
    lines = [line for line in events["source_line"].to_list() if line is not None]
    assert lines == sorted(lines), "seq follows the file's order"
    session = lake.read_table(home, "sessions").row(0, named=True)
    assert session["duration_s"] < timedelta(hours=1).total_seconds()
    last_words = events.filter(pl.col("type") == "message").tail(1).row(0, named=True)
    assert last_words["role"] == "assistant"


def test_agent_sdk_context_comes_from_init_even_after_hook_lines() -> None:
    assert json.loads(STREAM.read_text().splitlines()[0])["subtype"] == "hook_started"
    rows, _, _ = parsed(STREAM)
    context = rows[0].input["context"]
    assert (context["model"], context["cwd"], context["n_tools"]) == (
        "glm-5.1",
        "/Users/javi/projects/trackgentic",
        6,
    )


def test_agent_sdk_rate_limit_and_partial_stream_lines_are_known(tmp_path: Path) -> None:
    """Shapes as `claude -p --output-format stream-json --include-partial-messages` writes them."""
    session_id = json.loads(STREAM.read_text().splitlines()[2])["session_id"]
    extra = [
        {
            "type": "rate_limit_event",
            "rate_limit_info": {"status": "allowed", "resetsAt": 1771390800, "rateLimitType": "five_hour"},
            "uuid": "76258cfb-0dc8-4d4b-8682-77082b59c03f",
            "session_id": session_id,
        },
        {
            "type": "stream_event",
            "event": {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Hi"},
            },
            "session_id": session_id,
            "parent_tool_use_id": None,
            "uuid": "0b4c1a52-2f4e-4b8e-9d55-3c1e7a1f0d11",
        },
    ]
    path = tmp_path / "stream.jsonl"
    path.write_text(STREAM.read_text() + "".join(json.dumps(e) + "\n" for e in extra))
    rows, rejects, tally = parsed(path)
    assert rejects == []
    assert any(r.tool == "rate_limit" or (r.input or {}).get("rate_limit_info") for r in rows)
    assert tally.ignored == {"stream_event": 1} and tally.unknown == {}


def test_codex_desktop_exit_code_in_output_text_marks_the_call_failed() -> None:
    rows, rejects, _ = parsed(next((REAL / "codex" / "codemie-code").glob("*.jsonl")))
    assert rejects == []
    results = [r for r in rows if r.type == "tool_result"]
    failed = [r for r in results if r.is_error]
    assert len(results) == 3 and len(failed) == 1
    assert "Process exited with code 1" in (failed[0].content or "")
    assert failed[0].input == {"exit_code": 1}


def test_anthropic_exchange_list_keeps_every_call_and_its_tokens() -> None:
    path = REAL / "anthropic-messages" / "TestSyncRunTools" / "956fa2fe-8752-4f7c-8f9a-33735e62b898.json"
    rows, rejects, _ = parsed(path)
    assert rejects == []
    exchanges = json.loads(path.read_text())
    usages = []
    for exchange in exchanges:
        body = exchange["response"]["body"]
        usages.append(body["usage"] if isinstance(body, dict) else json.loads(body)["usage"])
    expected_out = sum(u["output_tokens"] for u in usages)
    assert sum(r.tokens_out or 0 for r in rows) == expected_out
    assert len([r for r in rows if r.tokens_out]) == len(exchanges)


def test_anthropic_list_of_response_strings_is_read() -> None:
    path = (
        REAL / "anthropic-messages" / "test_compaction_control" / "ab7b2edd-9c2d-4f53-9c04-92bb659b9caa.json"
    )
    rows, rejects, _ = parsed(path)
    responses = [json.loads(item) for item in json.loads(path.read_text())]
    assert rejects == []
    assert rows[0].session_id == responses[0]["id"]
    assert sum(r.tokens_out or 0 for r in rows) == sum(r["usage"]["output_tokens"] for r in responses)
    said = [r.content for r in rows if r.type == "message" and r.role == "assistant"]
    assert len(said) == len(responses)


@pytest.mark.parametrize("runs", [2])
def test_an_unknown_format_file_fails_the_same_way_on_every_run(tmp_path: Path, runs: int) -> None:
    path = tmp_path / "logs" / "notes.jsonl"
    path.parent.mkdir()
    path.write_text('{"hello": "world"}\n{"hello": "again"}\n')
    home = ReverieHome.at(tmp_path / "home").ensure()
    reports = [ingest(home, [path.parent], workers=1) for _ in range(runs)]
    assert [r.nothing_ingested for r in reports] == [True] * runs
    assert len({r.failure_reason for r in reports}) == 1
    assert "known log format" in (reports[0].failure_reason or "")
