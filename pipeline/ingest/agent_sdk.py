"""Claude Agent SDK message streams: what `query()` yields, saved one message (or one run) per line.

Accepted lines:
- stream JSON as `claude -p --output-format stream-json` and the TypeScript SDK emit it:
  `{"type": "system", "subtype": "init", "session_id", "model", "tools", ...}`, `{"type": "assistant",
  "message": {...API message...}}`, `{"type": "user", "message": {...}}`, `{"type": "result", "subtype",
  "is_error", "num_turns", "total_cost_usd", "usage", "duration_ms", "result"}`;
- Python dataclass dumps tagged with `__type__` (SystemMessage, AssistantMessage, UserMessage, ResultMessage),
  either one per line or as `{"messages": [...]}` for a whole run.
Messages are grouped by their `session_id`, so one file may hold several sessions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import orjson

from pipeline.ingest.anthropic_messages import BlockTranscript, flatten_text, usage_tokens
from pipeline.ingest.base import EventRow, Reject
from pipeline.ingest.derived import SyntheticClock, content_session_id, parse_time, safe_preview
from pipeline.ingest.jsonl import iter_json_lines

_KINDS = {
    "SystemMessage": "system",
    "AssistantMessage": "assistant",
    "UserMessage": "user",
    "ResultMessage": "result",
}
_RESULT_FIELDS = (
    "subtype",
    "is_error",
    "num_turns",
    "total_cost_usd",
    "duration_ms",
    "duration_api_ms",
    "stop_reason",
)


def message_kind(message: dict[str, Any]) -> str | None:
    tagged = message.get("__type__")
    if tagged:
        return _KINDS.get(str(tagged))
    kind = message.get("type")
    return str(kind) if kind in ("system", "assistant", "user", "result") else None


class _Session:
    """Per-session state: the transcript and whether any assistant message reported its own usage."""

    def __init__(self, session_id: str, clock: SyntheticClock) -> None:
        self.transcript = BlockTranscript(session_id, clock)
        self.saw_usage = False
        self.model: str | None = None
        self.started = False


class ClaudeAgentSdkAdapter:
    name: ClassVar[str] = "claude-agent-sdk"
    description: ClassVar[str] = (
        "Claude Agent SDK message streams (system init, assistant, user, result with cost and turns)"
    )
    path_pattern: ClassVar[str] = "logs/agent-sdk/*.jsonl"

    def sniff(self, path: Path, head: bytes) -> float:
        if re.search(rb'"__type__"\s*:\s*"(AssistantMessage|ResultMessage|UserMessage|SystemMessage)"', head):
            return 0.95
        if (
            re.search(rb'"type"\s*:\s*"system"\s*,\s*"subtype"\s*:\s*"init"', head)
            and b'"session_id"' in head
        ):
            return 0.9
        if re.search(rb'"type"\s*:\s*"result"', head) and b'"num_turns"' in head:
            return 0.85
        if (
            re.search(rb'"type"\s*:\s*"(assistant|user)"', head)
            and b'"message"' in head
            and b'"session_id"' in head
            and b'"parentUuid"' not in head
        ):
            return 0.6
        return 0.0

    def parse(self, path: Path, data: bytes | None = None) -> Iterator[EventRow | Reject]:
        data = path.read_bytes() if data is None else data
        clock = SyntheticClock(path)
        fallback_id = content_session_id(self.name, data)
        sessions: dict[str, _Session] = {}
        for item in iter_json_lines(path, data):
            if isinstance(item, Reject):
                yield item
                continue
            line_number, record = item
            messages = (
                record.get("messages") if isinstance(record, dict) and "messages" in record else [record]
            )
            if not isinstance(messages, list):
                yield Reject(line_number, "messages is not a list", safe_preview(orjson.dumps(record)))
                continue
            for message in messages:
                kind = message_kind(message) if isinstance(message, dict) else None
                if kind is None:
                    yield Reject(line_number, "not an Agent SDK message", safe_preview(orjson.dumps(message)))
                    continue
                session_key = str(message.get("session_id") or fallback_id)
                session = sessions.setdefault(session_key, _Session(session_key, clock))
                self._add(session, kind, message, line_number)
        for session in sessions.values():
            yield from session.transcript.rows

    def _add(self, session: _Session, kind: str, message: dict[str, Any], line: int) -> None:
        transcript = session.transcript
        ts = parse_time(message.get("timestamp"))
        inner = message.get("message") if isinstance(message.get("message"), dict) else message
        if not session.started:
            session.started = True
            context = {"model": message.get("model") or inner.get("model"), "cwd": message.get("cwd")}
            if kind == "system":
                context["n_tools"] = len(
                    message.get("tools") or (message.get("data") or {}).get("tools") or []
                )
                context["permission_mode"] = message.get("permissionMode")
            transcript.emit(
                ts,
                event_id="start",
                type="session_start",
                source_line=line,
                input={
                    "task": self.name,
                    "context": {k: v for k, v in context.items() if v is not None},
                    "playbook_version": None,
                },
            )
            if kind == "system":
                return
        if kind == "system":
            transcript.emit(
                ts,
                event_id=transcript.new_id("system"),
                type="observation",
                role="system",
                input={k: v for k, v in message.items() if k not in ("type", "__type__")},
                source_line=line,
            )
        elif kind == "assistant":
            usage = inner.get("usage")
            session.saw_usage = session.saw_usage or bool(usage)
            transcript.add_message("assistant", inner.get("content"), usage=usage, ts=ts, source_line=line)
        elif kind == "user":
            content = inner.get("content")
            tool_result = message.get("tool_use_result")
            parent_call = message.get("parent_tool_use_id")
            if tool_result is not None and parent_call and not content:
                is_error = isinstance(tool_result, dict) and (
                    tool_result.get("exit_code") not in (None, 0) or bool(tool_result.get("is_error"))
                )
                transcript.add_tool_result(
                    parent_call, flatten_text(tool_result), is_error=is_error, ts=ts, source_line=line
                )
            else:
                transcript.add_message("user", content, ts=ts, source_line=line)
        elif kind == "result":
            self._end(session, message, ts, line)

    @staticmethod
    def _end(session: _Session, message: dict[str, Any], ts: Any, line: int) -> None:
        transcript = session.transcript
        last_said = next((r.content for r in reversed(transcript.rows) if r.type == "message"), None)
        if message.get("result") and str(message["result"]) != last_said:
            transcript.emit(
                ts,
                event_id=transcript.new_id("msg"),
                type="message",
                role="assistant",
                input={"final_result": True},
                content=str(message["result"]),
                source_line=line,
            )
        start = transcript.rows[0].ts
        duration_ms = message.get("duration_ms")
        if (
            ts is None
            and isinstance(duration_ms, int | float)
            and start + timedelta(milliseconds=duration_ms) > transcript.rows[-1].ts
        ):
            ts = start + timedelta(milliseconds=duration_ms)
        tokens_in, tokens_out = (None, None) if session.saw_usage else usage_tokens(message.get("usage"))
        status = str(message.get("subtype") or ("error" if message.get("is_error") else "success"))
        ended_before = any(r.event_id == "end" for r in transcript.rows)  # multi-turn streams report per turn
        transcript.emit(
            ts,
            event_id=transcript.new_id("end") if ended_before else "end",
            type="session_end",
            is_error=bool(message.get("is_error")),
            input={"status": status, **{k: message[k] for k in _RESULT_FIELDS if k in message}},
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            source_line=line,
        )


ADAPTER = ClaudeAgentSdkAdapter()
