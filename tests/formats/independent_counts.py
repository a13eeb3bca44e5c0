"""A small counter over raw session files, written from the formats' documentation and NOT from the adapters:
what a careful person would count by hand. The fidelity test compares the lake against it.

Per session: messages (text turns), tool calls, failed tool results, input/output tokens (each API response
once), and the first/last timestamp (None where the file holds no time at all).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TEXT_LIKE_SKIP = {
    "thinking",
    "redacted_thinking",
    "tool_use",
    "server_tool_use",
    "mcp_tool_use",
    "tool_result",
}


@dataclass
class Counts:
    messages: set[Any] = field(default_factory=set)
    tool_calls: set[str] = field(default_factory=set)
    tool_errors: set[str] = field(default_factory=set)
    usage: dict[str, tuple[int, int]] = field(default_factory=dict)  # response id -> (in, out), max seen
    times: list[datetime] = field(default_factory=list)
    extra_end: datetime | None = None  # a run's end known from its reported duration

    def add_usage(self, key: str, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        tokens_in = sum(
            int(usage.get(k) or 0)
            for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        tokens_out = int(usage.get("output_tokens") or 0)
        old = self.usage.get(key, (0, 0))
        self.usage[key] = (max(old[0], tokens_in), max(old[1], tokens_out))

    def summary(self) -> dict[str, Any]:
        first = min(self.times) if self.times else None
        last = max(self.times) if self.times else None
        if last is not None and self.extra_end is not None:
            last = max(last, self.extra_end)
        return {
            "messages": len(self.messages),
            "tool_calls": len(self.tool_calls),
            "tool_errors": len(self.tool_errors),
            "tokens_in": sum(v[0] for v in self.usage.values()),
            "tokens_out": sum(v[1] for v in self.usage.values()),
            "first": first,
            "last": last,
        }


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _lines(path: Path) -> list[Any]:
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _text_runs(content: Any) -> int:
    """Text turns in a content list: consecutive text (and other non-tool, non-thinking) blocks are one turn."""
    if isinstance(content, str) or content is None:
        return 1 if isinstance(content, str) else 0
    runs, in_run = 0, False
    for block in content if isinstance(content, list) else []:
        kind = block.get("type") if isinstance(block, dict) else "text"
        if kind in TEXT_LIKE_SKIP:
            in_run = False
        elif not in_run:
            runs, in_run = runs + 1, True
    return runs


# --- Claude Code: one line per content block, inline subagent copies, subagent files --------------------


def claude_code(paths: list[Path]) -> dict[str, dict[str, Any]]:
    sessions: dict[str, Counts] = {}
    for path in paths:
        for record in _lines(path):
            if not isinstance(record, dict):
                continue
            session_id = record.get("sessionId")
            if not isinstance(session_id, str):
                continue
            messages = []
            if record.get("type") in ("user", "assistant"):
                messages.append(record)
            elif record.get("type") == "progress" and isinstance(record.get("data"), dict):
                nested = record["data"].get("message")
                is_copy = record["data"].get("type") == "agent_progress" and isinstance(nested, dict)
                if is_copy and nested.get("type") in ("user", "assistant"):
                    messages.append(nested)
            elif record.get("type") == "system" and isinstance(record.get("uuid"), str):
                ts = _time(record.get("timestamp"))
                if ts:
                    sessions.setdefault(session_id, Counts()).times.append(ts)
            for line in messages:
                counts = sessions.setdefault(session_id, Counts())
                ts, uuid, message = _time(line.get("timestamp")), line.get("uuid"), line.get("message")
                if ts is None or not isinstance(uuid, str) or not isinstance(message, dict):
                    continue
                counts.times.append(ts)
                content = message.get("content")
                if not line.get("isCompactSummary"):
                    if isinstance(content, str) or content is None:
                        counts.messages.add((uuid, 0))
                    else:
                        for index, block in enumerate(content):
                            kind = block.get("type") if isinstance(block, dict) else None
                            if kind in ("text", "image"):
                                counts.messages.add((uuid, index))
                            elif kind in ("tool_use", "server_tool_use"):
                                counts.tool_calls.add(block["id"])
                            elif kind == "tool_result" and block.get("is_error") is True:
                                counts.tool_errors.add(block["tool_use_id"])
                if message.get("role") == "assistant":
                    key = message.get("id") or line.get("requestId") or uuid
                    counts.add_usage(f"{key}", message.get("usage"))
    return {sid: c.summary() for sid, c in sessions.items()}


# --- Claude Agent SDK stream JSON -----------------------------------------------------------------------


def agent_sdk(paths: list[Path]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for path in paths:
        sessions: dict[str, Counts] = {}
        last_text: dict[str, str | None] = {}
        result_usage: dict[str, Any] = {}
        for record in _lines(path):
            for message in record.get("messages", [record]) if isinstance(record, dict) else []:
                if not isinstance(message, dict) or not isinstance(message.get("session_id"), str):
                    continue
                counts = sessions.setdefault(message["session_id"], Counts())
                ts = _time(message.get("timestamp"))
                if ts:
                    counts.times.append(ts)
                kind = message.get("type")
                inner = message.get("message") if isinstance(message.get("message"), dict) else {}
                content = inner.get("content")
                if kind == "assistant":
                    for block in content or []:
                        if block.get("type") == "tool_use":
                            counts.tool_calls.add(block["id"])
                    counts.add_usage(str(inner.get("id")), inner.get("usage"))
                if kind in ("assistant", "user"):
                    if (
                        kind == "user"
                        and message.get("tool_use_result") is not None
                        and message.get("parent_tool_use_id")
                        and not content
                    ):
                        continue
                    for _ in range(_text_runs(content)):
                        counts.messages.add(len(counts.messages))
                    texts = [
                        b.get("text")
                        for b in (content or [])
                        if isinstance(b, dict) and b.get("type") == "text"
                    ]
                    if isinstance(content, str):
                        texts = [content]
                    if texts:
                        last_text[message["session_id"]] = "\n".join(texts)
                    for block in content if isinstance(content, list) else []:
                        if block.get("type") == "tool_result" and block.get("is_error") is True:
                            counts.tool_errors.add(block["tool_use_id"])
                if kind == "result":
                    final = message.get("result")
                    if final and final != last_text.get(message["session_id"]):
                        counts.messages.add(len(counts.messages))
                    result_usage[message["session_id"]] = message.get("usage")
                    if counts.times and not ts and isinstance(message.get("duration_ms"), int):
                        counts.extra_end = min(counts.times) + timedelta(milliseconds=message["duration_ms"])
        for session_id, counts in sessions.items():
            if not counts.usage and result_usage.get(session_id):
                counts.add_usage("result", result_usage[session_id])
            result[session_id] = counts.summary()
    return result


# --- Codex rollouts -------------------------------------------------------------------------------------

EXIT_TEXT = re.compile(r"^(?:Process exited with code|Exit code:?)\s*(-?\d+)\s*$", re.MULTILINE)
CALLS = {
    "function_call",
    "custom_tool_call",
    "local_shell_call",
    "tool_search_call",
    "web_search_call",
    "image_generation_call",
}
OUTPUTS = {"function_call_output", "custom_tool_call_output", "local_shell_call_output", "tool_search_output"}


def _codex_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(str(p.get("text") or "") for p in content or [] if isinstance(p, dict) and "text" in p)


def codex(paths: list[Path]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for path in paths:
        records = [r for r in _lines(path) if isinstance(r, dict) and isinstance(r.get("payload"), dict)]
        meta = next((r["payload"] for r in records if r.get("type") == "session_meta"), {})
        counts = Counts()
        history: set[str] = set()
        exit_codes: dict[str, int] = {}
        for record in records:
            payload = record["payload"]
            if record.get("type") == "response_item" and payload.get("type") == "message":
                history.add(_codex_text(payload.get("content")).strip())
            if record.get("type") == "response_item" and payload.get("type") == "reasoning":
                history.update(str(s.get("text", "")).strip() for s in payload.get("summary") or [])
            if payload.get("type") == "exec_command_end" and payload.get("exit_code") is not None:
                exit_codes[payload["call_id"]] = int(payload["exit_code"])
            if payload.get("type") == "patch_apply_end":
                exit_codes[payload["call_id"]] = 0 if payload.get("success", True) else 1
        last_total = None
        for number, record in enumerate(records):
            payload, kind, ptype = record["payload"], record.get("type"), record["payload"].get("type")
            ts = _time(record.get("timestamp"))
            if ts:
                counts.times.append(ts)
            if kind == "response_item" and ptype in ("message", "agent_message"):
                counts.messages.add(number)
            elif kind == "event_msg" and ptype in ("user_message", "agent_message"):
                if str(payload.get("message", "")).strip() not in history:
                    counts.messages.add(number)
            elif kind == "response_item" and ptype in CALLS:
                counts.tool_calls.add(str(number))
            elif kind == "response_item" and ptype in OUTPUTS:
                output, code = payload.get("output"), None
                if isinstance(output, str) and output.startswith("{") and '"metadata"' in output:
                    try:
                        code = (json.loads(output).get("metadata") or {}).get("exit_code")
                    except (json.JSONDecodeError, AttributeError):
                        code = None
                elif isinstance(output, str) and (match := EXIT_TEXT.search(output[:1000])):
                    code = int(match[1])
                code = exit_codes.get(payload.get("call_id"), code)
                if code not in (None, 0):
                    counts.tool_errors.add(str(number))
            elif kind == "event_msg" and ptype == "token_count" and isinstance(payload.get("info"), dict):
                total = (payload["info"].get("total_token_usage") or {}).get("total_tokens")
                if total is None or total != last_total:
                    last = payload["info"].get("last_token_usage") or {}
                    counts.usage[str(number)] = (
                        int(last.get("input_tokens") or 0),
                        int(last.get("output_tokens") or 0),
                    )
                last_total = total
        if records:
            result[str(meta.get("id"))] = counts.summary()
    return result


# --- Anthropic Messages API recordings -------------------------------------------------------------------


def _sse_message(body: str) -> dict[str, Any]:
    message: dict[str, Any] = {"content": [], "usage": {}}
    for line in body.splitlines():
        if line.startswith("data:"):
            event = json.loads(line[5:])
            if event.get("type") == "message_start":
                message = {**event["message"], "content": []}
            elif event.get("type") == "content_block_start":
                message["content"].append(event["content_block"])
            elif event.get("type") == "message_delta":
                message["usage"] = {**message.get("usage", {}), **(event.get("usage") or {})}
    return message


def anthropic(paths: list[Path]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for path in paths:
        document = json.loads(path.read_text())
        if all(isinstance(item, str) for item in document):
            exchanges = [({}, json.loads(item)) for item in document]
        else:
            exchanges = []
            for item in document:
                request = item["request"].get("body") or {}
                request = json.loads(request) if isinstance(request, str) else request
                body = item["response"].get("body")
                if isinstance(body, str):
                    body = _sse_message(body) if "data:" in body else json.loads(body)
                exchanges.append((request, body))
        counts = Counts()
        seen: set[str] = set()
        session_id = None
        for index, (request, body) in enumerate(exchanges):
            conversation = list(request.get("messages") or [])
            if isinstance(body, dict) and body.get("type", "message") == "message" and "content" in body:
                session_id = session_id or body.get("id")
                conversation.append({"role": "assistant", "content": body["content"], "_response": index})
                counts.add_usage(str(index), body.get("usage"))
            for message in conversation:
                key = (
                    json.dumps(message, sort_keys=True) if "_response" not in message else f"response-{index}"
                )
                content = message.get("content")
                for block in content if isinstance(content, list) else []:
                    if block.get("type") == "tool_use":
                        counts.tool_calls.add(block["id"])
                    elif block.get("type") == "tool_result" and block.get("is_error") is True:
                        counts.tool_errors.add(block["tool_use_id"])
                if key not in seen and "_response" not in message:
                    seen.add(key)
                    for run in range(_text_runs(content)):
                        counts.messages.add((key, run))
                elif "_response" in message:
                    seen.add(json.dumps({"role": "assistant", "content": content}, sort_keys=True))
                    for run in range(_text_runs(content)):
                        counts.messages.add((key, run))
        result[session_id or path.name] = counts.summary()
    return result


# --- OpenTelemetry GenAI span dumps -----------------------------------------------------------------------

MODEL_CALLS = {"chat", "call_llm", "text_completion", "generate_content", "completion"}


def otel(paths: list[Path]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for path in paths:
        document = json.loads(path.read_text())
        sessions: dict[str, Counts] = {}
        opened: set[str] = set()
        for span in sorted(document["spans"], key=lambda s: s["start_time"]):
            attributes = span.get("attributes") or {}
            key = attributes.get("gen_ai.conversation.id") or format(span["context"]["trace_id"], "032x")
            counts = sessions.setdefault(key, Counts())
            counts.times += [
                datetime.fromtimestamp(span[k] / 1e9, tz=UTC) for k in ("start_time", "end_time")
            ]
            operation = attributes.get("gen_ai.operation.name") or span["name"].split(" ")[0]
            if operation == "execute_tool":
                counts.tool_calls.add(span["context"]["span_id"])
                if (span.get("status") or {}).get("status_code", "").lower() == "error":
                    counts.tool_errors.add(span["context"]["span_id"])
            elif operation in MODEL_CALLS:
                counts.messages.add(span["context"]["span_id"])
                counts.usage[str(span["context"]["span_id"])] = (
                    int(attributes.get("gen_ai.usage.input_tokens") or 0),
                    int(attributes.get("gen_ai.usage.output_tokens") or 0),
                )
                if key not in opened:
                    opened.add(key)
                    inputs = attributes.get("gen_ai.input.messages")
                    for index, message in enumerate(
                        json.loads(inputs) if isinstance(inputs, str) else inputs or []
                    ):
                        if not isinstance(message, dict):
                            continue
                        parts = message.get("parts") if isinstance(message.get("parts"), list) else []
                        text = message.get("content") or "".join(
                            str(p.get("content") or "")
                            for p in parts
                            if isinstance(p, dict) and p.get("type") == "text"
                        )
                        if text:
                            counts.messages.add(("in", index))
        result.update({k: c.summary() for k, c in sessions.items()})
    return result
