"""What the tools write now: Claude Code 2.1.x record types, Codex's newer line types, OTel GenAI's current
conventions; and every record an adapter does not turn into an event is counted, known apart from unknown,
in the ingest report (so a format change is visible the day it happens)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.ingest.base import EventRow, RecordTally, Reject
from pipeline.ingest.engine import ingest
from pipeline.ingest.registry import get

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHORT = FIXTURES / "claude-code" / "marot-spotter" / "short.jsonl"  # real, Claude Code 2.1.38
SUBAGENT = FIXTURES / "real-world" / "claude-code" / "spotter" / "ae4a77f8-aedd-4bc1-888f-c94edc91af04"


def parse(format_name: str, path: Path) -> tuple[list[EventRow], list[Reject], RecordTally]:
    tally = RecordTally()
    items = list(get(format_name).parse(path, tally=tally))
    return [i for i in items if isinstance(i, EventRow)], [i for i in items if isinstance(i, Reject)], tally


def claude_2_1_records(session_id: str, parent: str) -> list[dict[str, Any]]:
    """One line of each record type Claude Code 2.1.x added, shaped as it writes them."""
    base = {"sessionId": session_id, "timestamp": "2026-02-10T21:30:00.000Z", "version": "2.1.90"}
    system = {**base, "type": "system", "parentUuid": parent, "isSidechain": False}
    return [
        {"type": "ai-title", "aiTitle": "Wire the spotter hook", "sessionId": session_id},
        {"type": "custom-title", "customTitle": "spotter hook work", "sessionId": session_id},
        {"type": "last-prompt", "lastPrompt": "run the tests", "sessionId": session_id},
        {"type": "permission-mode", "permissionMode": "acceptEdits", "sessionId": session_id},
        {"type": "mode", "mode": "normal", "sessionId": session_id},
        {"type": "agent-name", "agentName": "reviewer", "sessionId": session_id},
        {**base, "type": "attachment", "uuid": "a1", "parentUuid": parent, "attachment": {"type": "file"}},
        {**system, "uuid": "s1", "subtype": "compact_boundary", "content": "Conversation compacted"},
        {
            **system,
            "uuid": "s2",
            "subtype": "api_error",
            "level": "error",
            "content": "overloaded",
            "retryAttempt": 1,
        },
        {**system, "uuid": "s3", "subtype": "away_summary", "content": "While you were away: tests pass"},
        {**system, "uuid": "s4", "subtype": "informational", "content": "Auto-update available"},
        {
            **base,
            "type": "assistant",
            "uuid": "m1",
            "parentUuid": parent,
            "isSidechain": False,
            "message": {
                "id": "msg_2_1",
                "role": "assistant",
                "model": "claude-opus-4-6",
                "content": [{"type": "text", "text": "Done."}],
                "usage": {
                    "input_tokens": 10,
                    "output_tokens": 20,
                    "thinking_tokens": 5,
                    "server_tool_use": {"web_search_requests": 1},
                },
            },
        },
    ]


def test_claude_code_2_1_record_types_are_known(tmp_path: Path) -> None:
    first = next(json.loads(line) for line in SHORT.read_text().splitlines() if '"uuid"' in line)
    extra = claude_2_1_records(first["sessionId"], first["uuid"])
    path = tmp_path / SHORT.name
    path.write_text(SHORT.read_text() + "".join(json.dumps(r) + "\n" for r in extra))
    rows, rejects, tally = parse("claude_code", path)
    assert rejects == [] and tally.unknown == {}
    assert {
        "ai-title",
        "custom-title",
        "last-prompt",
        "permission-mode",
        "mode",
        "agent-name",
        "attachment",
    } <= set(tally.ignored)
    context = next(r for r in rows if r.type == "session_start").input["context"]
    assert (context["title"], context["ai_title"]) == ("spotter hook work", "Wire the spotter hook")
    by_id = {r.event_id: r for r in rows}
    assert by_id["s2"].is_error and by_id["s2"].type == "error"
    assert [by_id[i].tool for i in ("s1", "s3", "s4")] == [
        "compact_boundary",
        "away_summary",
        "informational",
    ]
    assert (by_id["m1"].tokens_in, by_id["m1"].tokens_out) == (10, 20)


def test_subagent_meta_sidecars_link_five_levels_of_nesting(tmp_path: Path) -> None:
    """agent-<id>.meta.json gives the agent type, the spawning tool call and the depth of each subagent."""
    source = next((SUBAGENT / "subagents").glob("agent-*.jsonl"))
    lines = [json.loads(line) for line in source.read_text().splitlines()]
    session = tmp_path / "projects" / "-home-user-app" / lines[0]["sessionId"] / "subagents"
    session.mkdir(parents=True)
    spawner = "toolu_root"
    for depth in range(1, 6):
        agent = f"depth{depth}"
        with (session / f"agent-{agent}.jsonl").open("w") as handle:
            for line in lines:
                handle.write(json.dumps({**line, "agentId": agent, "uuid": f"{agent}-{line['uuid']}"}) + "\n")
        meta = {
            "agentType": "general-purpose",
            "description": f"level {depth}",
            "toolUseId": spawner,
            "spawnDepth": depth,
        }
        (session / f"agent-{agent}.meta.json").write_text(json.dumps(meta))
        spawner = f"toolu_{agent}"
    home = ReverieHome.at(tmp_path / "home").ensure()
    report = ingest(home, [tmp_path / "projects"], workers=1)
    assert report.files_seen == 5  # the sidecars are read with their transcripts, not as logs
    events = lake.read_table(home, "events")
    metas = sorted(
        (json.loads(r["input"])["spawnDepth"], r["agent"], r["parent_event_id"])
        for r in events.filter(events["tool"] == "subagent").to_dicts()
    )
    assert metas == [(d, f"depth{d}", "toolu_root" if d == 1 else f"toolu_depth{d - 1}") for d in range(1, 6)]
    assert lake.read_table(home, "sessions")["agents"].to_list()[0] == [f"depth{d}" for d in range(1, 6)]


def test_codex_newer_line_types_are_known() -> None:
    rows, rejects, tally = parse("codex", FIXTURES / "real-world" / "codex" / "stage0-codex-small.jsonl")
    assert rejects == [] and tally.unknown == {}
    assert {"world_state", "turn_context", "inter_agent_communication_metadata"} <= set(tally.ignored)
    assert any(r.tool == "compaction" for r in rows)
    assert next(r for r in rows if r.type == "session_start").input["context"]["model"] == "gpt-5.6-luna"


def otel_span(
    trace: str, span: str, operation: str, conversation: str | None, **attributes: Any
) -> dict[str, Any]:
    attrs = [{"key": "gen_ai.operation.name", "value": {"stringValue": operation}}]
    if conversation:
        attrs.append({"key": "gen_ai.conversation.id", "value": {"stringValue": conversation}})
    attrs += [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()]
    return {
        "traceId": trace,
        "spanId": span,
        "name": operation,
        "startTimeUnixNano": "1767225600000000000",
        "endTimeUnixNano": "1767225601000000000",
        "attributes": attrs,
    }


def test_otel_conversation_id_groups_traces_and_memory_operations_are_known(tmp_path: Path) -> None:
    spans = [
        otel_span("a" * 32, "1" * 16, "invoke_agent", "conv-1", **{"gen_ai.agent.name": "helper"}),
        otel_span("b" * 32, "2" * 16, "search_memory", "conv-1", **{"gen_ai.memory.store.name": "notes"}),
        otel_span("b" * 32, "3" * 16, "execute_tool", None, **{"gen_ai.tool.name": "read_file"}),
        otel_span("c" * 32, "4" * 16, "frobnicate", None),
    ]
    path = tmp_path / "traces.json"
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    rows, rejects, tally = parse("otel-genai", path)
    assert rejects == []
    assert {r.session_id for r in rows} == {"conv-1", "c" * 32}  # trace b joins conv-1 through its span
    assert next(r for r in rows if r.tool == "search_memory").session_id == "conv-1"
    assert tally.unknown == {"operation:frobnicate": 1}


def test_the_ingest_report_counts_unread_records_per_format(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(SHORT, logs / SHORT.name)
    with (logs / SHORT.name).open("a") as handle:
        handle.write(json.dumps({"type": "brand-new-record", "sessionId": "x"}) + "\n")
    report = ingest(ReverieHome.at(tmp_path / "home").ensure(), [logs], workers=1)
    skipped = report.records_skipped["claude_code"]
    assert skipped["unknown"] == {"brand-new-record": 1}
    assert skipped["ignored"]["file-history-snapshot"] >= 1


def test_otel_structured_messages_and_system_instructions_open_the_transcript(tmp_path: Path) -> None:
    """Current conventions: `gen_ai.input.messages` as structured parts, `gen_ai.system_instructions` apart."""
    span = {
        "name": "chat claude-opus-4-6",
        "context": {"trace_id": 1, "span_id": 2},
        "start_time": 1767225600000000000,
        "end_time": 1767225601000000000,
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.system_instructions": [{"type": "text", "content": "You review code."}],
            "gen_ai.input.messages": [
                {"role": "user", "parts": [{"type": "text", "content": "Is this safe?"}]},
                {
                    "role": "assistant",
                    "parts": [{"type": "tool_call", "id": "c1", "name": "read", "arguments": {"p": "a"}}],
                },
                {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "ok"}]},
            ],
            "gen_ai.output.messages": [{"role": "assistant", "parts": [{"type": "text", "content": "Yes."}]}],
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 3,
        },
    }
    path = tmp_path / "spans.json"
    path.write_text(json.dumps({"spans": [span]}))
    rows, rejects, _ = parse("otel-genai", path)
    assert rejects == []
    said = [(r.role, r.content) for r in rows if r.type == "message"]
    assert said == [("system", "You review code."), ("user", "Is this safe?"), ("assistant", "Yes.")]
    call = next(r for r in rows if r.type == "tool_call")
    result = next(r for r in rows if r.type == "tool_result")
    assert (call.tool, result.parent_event_id, result.content) == ("read", call.event_id, "ok")
    assert rows[0].session_id == format(1, "032x")
