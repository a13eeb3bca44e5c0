"""Each adapter on the real (or upstream hand-written) samples in tests/fixtures/<format>/: the shapes users bring."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipeline.ingest.base import EventRow, Reject
from pipeline.ingest.registry import SNIFF_BYTES, sniff_head

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def rows_of(relative: str) -> list[EventRow]:
    path = FIXTURES / relative
    adapter = sniff_head(path, path.read_bytes()[:SNIFF_BYTES])
    assert adapter is not None, f"no adapter recognised {relative}"
    items = list(adapter.parse(path))
    assert not [i for i in items if isinstance(i, Reject)], "real samples must parse without rejects"
    return [i for i in items if isinstance(i, EventRow)]


SAMPLES = {
    "anthropic-messages": sorted((FIXTURES / "anthropic-messages" / "anthropic-sdk-python").rglob("*.json")),
    "claude-agent-sdk": [FIXTURES / "anthropic-messages/counterfact-claude-agent-sdk/minimal.jsonl"],
    "codex": sorted((FIXTURES / "codex").rglob("*.jsonl")),
    "openai-agents": sorted((FIXTURES / "openai-agents").rglob("*.json")),
    "otel-genai": sorted((FIXTURES / "otel-genai").rglob("*.json")),
}


@pytest.mark.parametrize(
    ("expected", "path"),
    [(name, p) for name, paths in SAMPLES.items() for p in paths],
    ids=lambda v: getattr(v, "name", v),
)
def test_every_sample_is_sniffed_as_its_format_and_forms_whole_sessions(expected: str, path: Path) -> None:
    adapter = sniff_head(path, path.read_bytes()[:SNIFF_BYTES])
    assert adapter is not None and adapter.name == expected
    rows = rows_of(str(path.relative_to(FIXTURES)))
    for session_id in {r.session_id for r in rows}:
        session = [r for r in rows if r.session_id == session_id]
        types = [r.type for r in session]
        assert types.count("session_start") == 1 and types.count("session_end") == 1
        ids = [r.event_id for r in session]
        assert len(ids) == len(set(ids)), "event ids must be unique within a session"
        known = set(ids)
        assert all(r.parent_event_id in known for r in session if r.parent_event_id), "parents must exist"


@pytest.mark.parametrize("paths", SAMPLES.values(), ids=SAMPLES.keys())
def test_reingest_gives_identical_ids_and_timestamps(paths: list[Path]) -> None:
    for path in paths:
        relative = str(path.relative_to(FIXTURES))
        first = [(r.session_id, r.event_id, r.ts) for r in rows_of(relative)]
        assert first == [(r.session_id, r.event_id, r.ts) for r in rows_of(relative)]


def test_anthropic_exchange_recording_links_results_errors_and_usage() -> None:
    rows = rows_of(
        "anthropic-messages/anthropic-sdk-python/TestSyncRunTools/10e53c1d-51be-4c64-b5bf-99adb3fa4719.json"
    )
    assert rows[0].session_id == "msg_01RMQBcKf2dxTq6qfi31BBTz"  # the first response's id: from the data
    call = next(r for r in rows if r.type == "tool_call")
    result = next(r for r in rows if r.type == "tool_result")
    assert (call.tool, call.input) == ("get_weather", {"location": "San Francisco, CA", "units": "f"})
    assert result.parent_event_id == call.event_id and result.is_error
    assert sum(r.tokens_out or 0 for r in rows) == 74 + 63


def test_anthropic_streamed_response_is_reassembled() -> None:
    rows = rows_of(
        "anthropic-messages/anthropic-sdk-python/TestSyncRunTools/555fb399-a54c-455b-9ac5-2c9673f18e12.json"
    )
    final = [r for r in rows if r.type == "message" and r.role == "assistant"][-1]
    assert "San Francisco" in (final.content or "") and final.tokens_out == 38


def test_anthropic_http_error_becomes_error_event_and_status() -> None:
    rows = rows_of(
        "anthropic-messages/anthropic-sdk-python/TestSyncRunTools/f59a9391-643b-422c-96dc-1f28bc7ea4d7.json"
    )
    error = next(r for r in rows if r.type == "error")
    assert error.is_error and error.tool == "invalid_request_error"
    assert rows[-1].input == {"status": "error"}


def test_agent_sdk_result_gives_status_cost_and_one_session_per_run() -> None:
    rows = rows_of("anthropic-messages/counterfact-claude-agent-sdk/minimal.jsonl")
    ends = {r.session_id: r for r in rows if r.type == "session_end"}
    assert set(ends) == {"sess-pass-001", "sess-fail-002"}
    assert ends["sess-fail-002"].is_error and ends["sess-fail-002"].input["num_turns"] == 2
    assert ends["sess-pass-001"].input["total_cost_usd"] == 0.012 and ends["sess-pass-001"].tokens_in == 1500
    failed_result = next(r for r in rows if r.session_id == "sess-fail-002" and r.type == "tool_result")
    assert failed_result.is_error and failed_result.tool == "run_tests"


def test_codex_rollout_deduplicates_messages_and_takes_exit_codes_from_later_events() -> None:
    rows = rows_of("codex/codemie/turn-2.jsonl")
    said = [r.content for r in rows if r.type == "message" and r.role in ("user", "assistant")]
    assert said.count("Hello, Codex! Please explain what you do.") == 1
    assert rows[0].session_id == "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    assert sum(r.tokens_in or 0 for r in rows) == 1024 + 1100
    big = rows_of("codex/codemie/rollout-2026-05-11T11-26-55-019e1625-789d-76c0-80ab-3724b5ddb799.jsonl")
    results = [r for r in big if r.type == "tool_result"]
    assert results and all(r.parent_event_id for r in results)
    assert any(r.is_error for r in results), "exec_command_end exit codes mark failed commands"
    assert big[-1].input == {"status": "completed"}


def test_codex_old_shell_output_exit_code_and_subagent_thread() -> None:
    rows = rows_of(
        "codex/codemie/sessions/2026/01/02/rollout-2026-01-02T19-00-00-019b7f95-0000-7000-0000-000000000001.jsonl"
    )
    assert [r.is_error for r in rows if r.type == "tool_result"].count(True) == 1
    sub = rows_of("codex/ccrider/subagent_v2.jsonl")
    assert (
        sub[0].session_id == "0199a001-0000-7000-8000-00000000c41d"
    )  # the thread's own id, not its parent's
    assert sub[0].input["context"]["forked_from_id"] == "0199a000-0000-7000-8000-000000000002"
    assert [r.content for r in sub if r.type == "message"] == [
        "Update the dependency pins",
        "Updated the pins and the lockfile.",
    ]


def test_openai_agents_spans_keep_tree_agents_and_errors() -> None:
    rows = rows_of("openai-agents/counterfact/root_error.json")
    assert {r.session_id for r in rows} == {"trace-ai-error"}
    result = next(r for r in rows if r.type == "tool_result")
    assert result.is_error and result.parent_event_id == "span-fn-fail" and result.agent == "research_agent"
    assert rows[-1].is_error and Counter(r.type for r in rows)["error"] == 2
    handoff = next(r for r in rows_of("openai-agents/counterfact/with_handoff.json") if r.tool == "handoff")
    assert handoff.input == {"from_agent": "router", "to_agent": "coder"}


def test_otel_any_agent_trace_is_one_session_with_span_tree_and_usage() -> None:
    rows = rows_of("otel-genai/any-agent/OPENAI_trace.json")
    assert len({r.session_id for r in rows}) == 1
    root = next(r for r in rows if r.type == "observation" and r.tool == "invoke_agent")
    calls = [r for r in rows if r.type == "tool_call"]
    assert [c.tool for c in calls] == ["get_current_time", "write_file"]
    assert all(c.parent_event_id == root.event_id for c in calls)
    assert calls[0].input["arguments"] == {"timezone": "America/New_York"}
    assert sum(r.tokens_in or 0 for r in rows) == 269 + 359 + 392
    assert rows[0].ts.year == 2025  # nanosecond span times, not a synthetic clock


def test_otel_flat_attribute_map_reads_current_and_deprecated_message_attributes() -> None:
    for name in (
        "otel_genai_client_span_tool_calls.json",
        "otel_genai_deprecated_client_span_tool_calls.json",
    ):
        rows = rows_of(f"otel-genai/openinference-genai/{name}")
        result = next(r for r in rows if r.type == "tool_result")
        assert result.content == "rainy, 57°F" and result.tool == "get_weather"
        assert [r for r in rows if r.role == "assistant" and r.type == "message"][-1].tokens_out == 52
