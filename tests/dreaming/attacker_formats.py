"""The attacker's sessions of `attacker.py` written in the other six formats Reverie reads.

Each writer turns one session (a prompt, tool calls that fail or succeed with their result text, a closing
reply) into one file in the shape that format's tool writes, so the poisoning tests can send the same
hostile tool names and error text through every adapter. The working folder is recorded where the format
has one (Codex's `session_meta.cwd`, the Agent SDK's init `cwd`, an OpenAI Agents trace's metadata, a native
`session_start` context); files sit under a folder named after the
day, which dates the formats that carry no timestamps (docs/formats.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.dreaming.attacker import EVIL_ERROR, EVIL_TOOL, Call

PROMPT = "Fix the failing test."


def _times(day: date, minute: int, n: int) -> list[datetime]:
    start = datetime(day.year, day.month, day.day, 9, tzinfo=UTC) + timedelta(minutes=minute)
    return [start + timedelta(seconds=2 * i) for i in range(n)]


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def _command(call: Call) -> dict[str, str]:
    """As in `attacker.write_session`: only the shell carries a command, so any other tool's action is its
    (untrusted) name."""
    return {"command": "make test"} if call.tool == "Bash" else {}


def _codex(session_id: str, day: date, cwd: str, calls: list[Call], minute: int) -> str:
    times = _times(day, minute, 2 * len(calls) + 3)

    def line(ts: datetime, kind: str, payload: dict) -> str:
        return json.dumps({"timestamp": _iso(ts), "type": kind, "payload": payload})

    lines = [
        line(times[0], "session_meta", {"id": session_id, "cwd": cwd, "cli_version": "0.129.0"}),
        line(
            times[1],
            "response_item",
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": PROMPT}]},
        ),
    ]
    for index, call in enumerate(calls):
        call_id = f"call_{index}"
        arguments = json.dumps(_command(call))
        function = {"type": "function_call", "name": call.tool, "call_id": call_id, "arguments": arguments}
        lines.append(line(times[2 + 2 * index], "response_item", function))
        output = f"Process exited with code {1 if call.error else 0}\n{call.error or 'ok'}"
        result = {"type": "function_call_output", "call_id": call_id, "output": output}
        lines.append(line(times[3 + 2 * index], "response_item", result))
    reply = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Done."}]}
    lines.append(line(times[-1], "response_item", reply))
    return "\n".join(lines) + "\n"


def _blocks(calls: list[Call], index: int) -> tuple[dict, dict]:
    call = calls[index]
    use = {"type": "tool_use", "id": f"toolu_{index:04d}", "name": call.tool, "input": _command(call)}
    result = {
        "type": "tool_result",
        "tool_use_id": f"toolu_{index:04d}",
        "content": call.error or "ok",
        "is_error": call.error is not None,
    }
    return use, result


def _agent_sdk(session_id: str, day: date, cwd: str, calls: list[Call], minute: int) -> str:
    times = _times(day, minute, 2 * len(calls) + 3)
    init = {"type": "system", "subtype": "init", "session_id": session_id, "cwd": cwd, "tools": []}
    lines = [
        init,
        {
            "type": "user",
            "session_id": session_id,
            "timestamp": _iso(times[1]),
            "message": {"role": "user", "content": PROMPT},
        },
    ]
    for index in range(len(calls)):
        use, result = _blocks(calls, index)
        lines.append(
            {
                "type": "assistant",
                "session_id": session_id,
                "timestamp": _iso(times[2 + 2 * index]),
                "message": {"role": "assistant", "content": [use]},
            }
        )
        lines.append(
            {
                "type": "user",
                "session_id": session_id,
                "timestamp": _iso(times[3 + 2 * index]),
                "message": {"role": "user", "content": [result]},
            }
        )
    lines.append(
        {
            "type": "assistant",
            "session_id": session_id,
            "timestamp": _iso(times[-1]),
            "message": {"role": "assistant", "content": [{"type": "text", "text": "Done."}]},
        }
    )
    lines.append(
        {
            "type": "result",
            "subtype": "success",
            "session_id": session_id,
            "is_error": False,
            "num_turns": len(calls) + 1,
            "result": "Done.",
        }
    )
    return "\n".join(json.dumps(line) for line in lines) + "\n"


def _anthropic(session_id: str, day: date, cwd: str, calls: list[Call], minute: int) -> str:
    messages: list[dict] = [{"role": "user", "content": PROMPT}]
    for index in range(len(calls)):
        use, result = _blocks(calls, index)
        messages += [{"role": "assistant", "content": [use]}, {"role": "user", "content": [result]}]
    messages.append({"role": "assistant", "content": [{"type": "text", "text": "Done."}]})
    return json.dumps(
        {"model": "claude-sonnet-4-5", "metadata": {"user_id": session_id}, "messages": messages}
    )


def _openai_agents(session_id: str, day: date, cwd: str, calls: list[Call], minute: int) -> str:
    times = _times(day, minute, len(calls) + 2)
    spans = [
        {
            "object": "trace.span",
            "id": "root",
            "trace_id": session_id,
            "parent_id": None,
            "started_at": _iso(times[0]),
            "ended_at": _iso(times[-1]),
            "span_data": {"type": "agent", "name": "coder"},
            "error": None,
        }
    ]
    for index, call in enumerate(calls):
        spans.append(
            {
                "object": "trace.span",
                "id": f"fn{index}",
                "trace_id": session_id,
                "parent_id": "root",
                "started_at": _iso(times[1 + index]),
                "ended_at": _iso(times[1 + index] + timedelta(seconds=1)),
                "span_data": {
                    "type": "function",
                    "name": call.tool,
                    "input": json.dumps(_command(call)),
                    "output": call.error or "ok",
                },
                "error": {"message": call.error} if call.error else None,
            }
        )
    trace = {"object": "trace", "id": session_id, "workflow_name": "coder", "metadata": {"cwd": cwd}}
    return json.dumps({**trace, "spans": spans})


def _otel(session_id: str, day: date, cwd: str, calls: list[Call], minute: int) -> str:
    times = _times(day, minute, len(calls) + 2)
    trace = hashlib.blake2b(session_id.encode(), digest_size=16).hexdigest()

    def nanos(ts: datetime) -> str:
        return str(int(ts.timestamp() * 1e9))

    def attribute(key: str, value: str) -> dict:
        return {"key": key, "value": {"stringValue": value}}

    spans = [
        {
            "traceId": trace,
            "spanId": "a" * 16,
            "name": "invoke_agent coder",
            "startTimeUnixNano": nanos(times[0]),
            "endTimeUnixNano": nanos(times[-1]),
            "attributes": [
                attribute("gen_ai.operation.name", "invoke_agent"),
                attribute("gen_ai.agent.name", "coder"),
                attribute("gen_ai.conversation.id", session_id),
            ],
        }
    ]
    for index, call in enumerate(calls):
        span = {
            "traceId": trace,
            "spanId": f"{index + 1:016x}",
            "parentSpanId": "a" * 16,
            "name": f"execute_tool {call.tool}",
            "startTimeUnixNano": nanos(times[1 + index]),
            "endTimeUnixNano": nanos(times[1 + index] + timedelta(seconds=1)),
            "attributes": [
                attribute("gen_ai.operation.name", "execute_tool"),
                attribute("gen_ai.tool.name", call.tool),
                attribute("gen_ai.tool.call.arguments", json.dumps(_command(call))),
                attribute("gen_ai.tool.call.result", call.error or "ok"),
            ],
        }
        if call.error:
            span["status"] = {"code": 2, "message": call.error}
        spans.append(span)
    return json.dumps(
        {
            "resourceSpans": [
                {"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "agent"}, "spans": spans}]}
            ]
        }
    )


def _native(session_id: str, day: date, cwd: str, calls: list[Call], minute: int) -> str:
    times = _times(day, minute, 2 * len(calls) + 3)
    events: list[dict] = [
        {"event_id": "start", "type": "session_start", "input": {"task": PROMPT, "context": {"cwd": cwd}}},
        {"event_id": "prompt", "type": "message", "role": "user", "content": PROMPT},
    ]
    for index, call in enumerate(calls):
        events.append(
            {"event_id": f"c{index}", "type": "tool_call", "tool": call.tool, "input": _command(call)}
        )
        events.append(
            {
                "event_id": f"r{index}",
                "type": "tool_result",
                "tool": call.tool,
                "parent_event_id": f"c{index}",
                "is_error": call.error is not None,
                "content": call.error or "ok",
            }
        )
    events.append({"event_id": "end", "type": "session_end", "input": {"status": "done"}})
    lines = [
        {"schema": "reverie.event/v1", "session_id": session_id, "ts": _iso(ts), **event}
        for ts, event in zip(times, events, strict=True)
    ]
    return "\n".join(json.dumps(line) for line in lines) + "\n"


WRITERS: dict[str, tuple[str, Callable[[str, date, str, list[Call], int], str]]] = {
    "native": ("jsonl", _native),
    "codex": ("jsonl", _codex),
    "claude-agent-sdk": ("jsonl", _agent_sdk),
    "anthropic-messages": ("json", _anthropic),
    "openai-agents": ("json", _openai_agents),
    "otel-genai": ("json", _otel),
}
"""Format name (as the lake's `source_format`) -> (file extension, writer)."""


def write_session_as(
    fmt: str, folder: Path, session_id: str, day: date, cwd: str, calls: list[Call], minute: int = 0
) -> Path:
    extension, writer = WRITERS[fmt]
    path = folder / fmt / day.isoformat() / f"{session_id}.{extension}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(writer(session_id, day, cwd, calls, minute))
    return path


def attacker_sessions_as(fmt: str, folder: Path, day: date, n: int, cwd: str, prefix: str) -> None:
    """`attacker.attacker_sessions` in another format: the hostile tool fails with the injected error; half
    "recover" with the hostile tool again and succeed, half stop there and fail."""
    for index in range(n):
        calls = [Call("Read"), Call(EVIL_TOOL, EVIL_ERROR)]
        calls += (
            [Call(EVIL_TOOL), Call(EVIL_TOOL)] if index % 2 == 0 else [Call("Edit", "old_string not found")]
        )
        write_session_as(
            fmt, folder, f"{prefix}-{day.isoformat()}-{index:03d}", day, cwd, calls, minute=index
        )
