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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from pipeline.ingest.base import EventRow, RecordTally, Reject
from pipeline.ingest.content_blocks import BlockTranscript, flatten_text, usage_tokens
from pipeline.ingest.derived import SyntheticClock, content_session_id, parse_time, safe_preview
from pipeline.ingest.jsonl import iter_json_lines, json_bytes

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
        return _KINDS.get(tagged) if isinstance(tagged, str) else None
    kind = message.get("type")
    return kind if isinstance(kind, str) and kind in ("system", "assistant", "user", "result") else None


_IGNORED_KINDS = {
    "stream_event",
    "control_request",
    "control_response",
    "control_cancel_request",
    "keep_alive",
}
"""Line types a stream may hold that add nothing the complete messages do not: partial-message deltas
(`--include-partial-messages`) precede the full assistant message; control lines steer the CLI process."""
_INIT_CONTEXT = (
    ("model", "model"),
    ("cwd", "cwd"),
    ("permissionMode", "permission_mode"),
    ("claude_code_version", "version"),
    ("apiKeySource", "api_key_source"),
    ("output_style", "output_style"),
)


class _Session:
    """Per-session state: the transcript, and which API responses already had their usage counted."""

    def __init__(self, session_id: str, clock: SyntheticClock, tally: RecordTally) -> None:
        self.transcript = BlockTranscript(session_id, clock)
        self.tally = tally
        self.saw_usage = False
        self.started = False
        self.context: dict[str, Any] = {}
        self.usage_rows: dict[str, EventRow] = {}  # message.id -> the event holding its usage


def _line_times(entries: list[tuple[int, dict[str, Any]]]) -> list[datetime | None]:
    """Each message's time: its own, else its neighbours' in file order (the previous one, or for the
    lines before the first timed one, the first time). Only `user` lines carry `timestamp` in real
    `claude -p` streams: without this every other event would fall back to 1970 and sort before them."""
    own = [parse_time(message.get("timestamp")) for _, message in entries]
    known = next((t for t in own if t is not None), None)
    filled: list[datetime | None] = []
    previous = known
    for value in own:
        previous = value if value is not None else previous
        filled.append(previous)
    return filled


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

    def parse(
        self, path: Path, data: bytes | None = None, tally: RecordTally | None = None
    ) -> Iterator[EventRow | Reject]:
        data = path.read_bytes() if data is None else data
        tally = tally if tally is not None else RecordTally()
        clock = SyntheticClock(path)
        fallback_id = content_session_id(self.name, data)
        entries: list[tuple[int, dict[str, Any]]] = []
        for item in iter_json_lines(path, data):
            if isinstance(item, Reject):
                yield item
                continue
            line_number, record = item
            messages = (
                record.get("messages") if isinstance(record, dict) and "messages" in record else [record]
            )
            if not isinstance(messages, list) or not messages:  # as otel's "no spans in this line"
                reason = (
                    "no messages in this line" if isinstance(messages, list) else "messages is not a list"
                )
                yield Reject(line_number, reason, safe_preview(json_bytes(record)))
                continue
            for message in messages:
                if not isinstance(message, dict):
                    yield Reject(
                        line_number, "message is not a JSON object", safe_preview(json_bytes(message))
                    )
                    continue
                entries.append((line_number, message))
        sessions: dict[str, _Session] = {}
        for (line_number, message), ts in zip(entries, _line_times(entries), strict=True):
            kind = message_kind(message)
            if kind is None:
                raw_kind = message.get("type", message.get("__type__"))
                if isinstance(raw_kind, str) and raw_kind in _IGNORED_KINDS:
                    tally.skip(raw_kind, known=True)
                    continue
                if raw_kind != "rate_limit_event":
                    tally.skip(raw_kind, known=False)
                    yield Reject(line_number, "not an Agent SDK message", safe_preview(json_bytes(message)))
                    continue
                kind = "rate_limit"
            session_key = message.get("session_id") or fallback_id
            if not isinstance(session_key, str):
                yield Reject(
                    line_number,
                    f"wrong type for session_id: {type(session_key).__name__}",
                    safe_preview(json_bytes(message)),
                )
                continue
            session = sessions.get(session_key)
            if session is None:
                session = sessions[session_key] = _Session(session_key, clock, tally)
                session.context = self._init_context(entries, session_key)
            try:
                self._add(session, kind, message, ts, line_number)
            except (TypeError, ValueError, AttributeError, KeyError) as error:
                reason = f"unexpected shape for an Agent SDK {kind} message: {error}"
                yield Reject(line_number, reason[:300], safe_preview(json_bytes(message)))
        for session in sessions.values():
            yield from session.transcript.rows

    @staticmethod
    def _init_context(entries: list[tuple[int, dict[str, Any]]], session_id: str) -> dict[str, Any]:
        """The session's context from its `init` system message wherever it is (hook lines come first in
        real streams), else from the first assistant message's model."""
        for _, message in entries:
            if message.get("session_id") not in (session_id, None):
                continue
            if message_kind(message) == "system" and message.get("subtype") in ("init", None):
                data = message.get("data") if isinstance(message.get("data"), dict) else message
                context = {
                    feature: data[key]
                    for key, feature in _INIT_CONTEXT
                    if isinstance(data.get(key), str) and data[key]
                }
                tools = data.get("tools")
                if isinstance(tools, list):
                    context["n_tools"] = len(tools)
                if context:
                    return context
        for _, message in entries:
            inner = message.get("message")
            model = inner.get("model") if isinstance(inner, dict) else message.get("model")
            if message.get("session_id") in (session_id, None) and isinstance(model, str):
                return {"model": model}
        return {}

    def _add(
        self, session: _Session, kind: str, message: dict[str, Any], ts: datetime | None, line: int
    ) -> None:
        transcript = session.transcript
        inner = message.get("message") if isinstance(message.get("message"), dict) else message
        if not session.started:
            session.started = True
            transcript.emit(
                ts,
                event_id="start",
                type="session_start",
                source_line=line,
                input={"task": self.name, "context": session.context, "playbook_version": None},
            )
            if kind == "system" and message.get("subtype") in ("init", None):
                return
        if kind in ("system", "rate_limit"):
            transcript.emit(
                ts,
                event_id=transcript.new_id("system"),
                type="observation",
                role="system",
                tool=str(message.get("subtype") or kind)[:80],
                input={k: v for k, v in message.items() if k not in ("type", "__type__")},
                source_line=line,
            )
        elif kind == "assistant":
            added = transcript.add_message("assistant", inner.get("content"), ts=ts, source_line=line)
            self._count_usage(session, inner, added)
            if not added:
                session.tally.skip("assistant:no content", known=True)
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
            elif not transcript.add_message("user", content, ts=ts, source_line=line):
                session.tally.skip("user:no content", known=True)
        elif kind == "result":
            self._end(session, message, ts, line)

    @staticmethod
    def _count_usage(session: _Session, inner: dict[str, Any], added: list[EventRow]) -> None:
        """Usage once per API response: stream JSON writes one line per content block, each repeating the
        whole response's usage, so a response already seen only raises its counts to the largest seen."""
        tokens_in, tokens_out = usage_tokens(inner.get("usage"))
        if tokens_in is None and tokens_out is None:
            return
        session.saw_usage = True
        response_id = inner.get("id")
        holder = session.usage_rows.get(response_id) if isinstance(response_id, str) else None
        if holder is None:
            if not added:
                return
            holder = added[0]
            if isinstance(response_id, str):
                session.usage_rows[response_id] = holder
        holder.tokens_in = max(holder.tokens_in or 0, tokens_in or 0)
        holder.tokens_out = max(holder.tokens_out or 0, tokens_out or 0)

    @staticmethod
    def _end(session: _Session, message: dict[str, Any], ts: datetime | None, line: int) -> None:
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
            parse_time(message.get("timestamp")) is None  # its time was borrowed: the run's length is better
            and isinstance(duration_ms, int | float)
            and not isinstance(duration_ms, bool)
            and 0 <= duration_ms < 366 * 86_400_000
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
