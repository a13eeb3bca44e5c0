"""Anthropic Messages API conversations: what applications built directly on the API keep as their log.

Accepted shapes (one file = one session):
- a JSON list of messages `[{role, content}]` (content a string or blocks);
- a request body `{model, system, messages, ...}`, optionally with the final `response` beside it;
- recorded HTTP exchanges `[{request: {url, headers, body}, response: {status_code, headers, body}}]`
  (the SDK's own test recordings), where the conversation is the last request's messages plus the last
  response; streamed responses are raw SSE text and are reassembled here.

`BlockTranscript` maps content blocks to events and is shared with the Claude Agent SDK adapter, whose
messages carry the same blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson

from pipeline.ingest.base import EventRow, Reject
from pipeline.ingest.derived import SyntheticClock, as_int, content_session_id, safe_preview

_TOOL_CALL_BLOCKS = {"tool_use", "server_tool_use", "mcp_tool_use", "ToolUseBlock", "ServerToolUseBlock"}
_TEXT_BLOCKS = {"text", "TextBlock"}
_THINKING_BLOCKS = {"thinking", "redacted_thinking", "ThinkingBlock"}


def block_type(block: dict[str, Any]) -> str:
    return str(block.get("type") or block.get("__type__") or "")


def flatten_text(content: Any) -> str:
    """Tool results and nested blocks hold text in several shapes; keep the words, drop the wrappers."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part for part in (flatten_text(item) for item in content) if part)
    if isinstance(content, dict):
        for key in ("text", "content", "stdout", "output", "result"):
            if key in content and content[key] is not None:
                return flatten_text(content[key])
        if block_type(content) == "web_search_result":
            return f"{content.get('title', '')} {content.get('url', '')}".strip()
        return orjson.dumps(content).decode()
    return str(content)


def usage_tokens(usage: dict[str, Any] | None) -> tuple[int | None, int | None]:
    """Prompt tokens include cache reads and writes: that is what the model actually read."""
    if not isinstance(usage, dict):
        return None, None
    parts = [
        as_int(usage.get(k))
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    ]
    known = [p for p in parts if p is not None]
    return (sum(known) if known else None), as_int(usage.get("output_tokens"))


class BlockTranscript:
    """Accumulates events for one session from role + content-block messages."""

    def __init__(self, session_id: str, clock: SyntheticClock, *, agent: str = "main") -> None:
        self.session_id = session_id
        self.clock = clock
        self.agent = agent
        self.rows: list[EventRow] = []
        self.call_event_ids: dict[str, str] = {}
        self._ordinal = 0

    def new_id(self, kind: str) -> str:
        self._ordinal += 1
        return f"{kind}-{self._ordinal:05d}"

    def emit(self, ts: datetime | None = None, **fields: Any) -> EventRow:
        row = EventRow(
            session_id=self.session_id,
            ts=ts or self.clock.next(),
            agent=fields.pop("agent", self.agent),
            **fields,
        )
        self.rows.append(row)
        return row

    def add_message(
        self,
        role: str,
        content: Any,
        *,
        usage: dict[str, Any] | None = None,
        ts: datetime | None = None,
        source_line: int | None = None,
        parent_event_id: str | None = None,
    ) -> list[EventRow]:
        """Emit the message's text, thinking, tool calls and tool results as events, in block order."""
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
        added: list[EventRow] = []
        texts: list[str] = []

        def flush_text() -> None:
            if texts:
                added.append(
                    self.emit(
                        ts,
                        event_id=self.new_id("msg"),
                        type="message",
                        role=role,
                        content="\n".join(texts),
                        source_line=source_line,
                        parent_event_id=parent_event_id,
                    )
                )
                texts.clear()

        for block in blocks:
            if not isinstance(block, dict):
                texts.append(str(block))
                continue
            kind = block_type(block)
            if kind in _TEXT_BLOCKS:
                texts.append(str(block.get("text") or ""))
            elif kind in _THINKING_BLOCKS:
                flush_text()
                added.append(
                    self.emit(
                        ts,
                        event_id=self.new_id("think"),
                        type="observation",
                        role=role,
                        input={"block": "thinking"},
                        content=str(block.get("thinking") or ""),
                        source_line=source_line,
                    )
                )
            elif kind in _TOOL_CALL_BLOCKS:
                flush_text()
                added.append(
                    self.add_tool_call(
                        block.get("id"),
                        str(block.get("name") or "tool"),
                        block.get("input"),
                        ts=ts,
                        source_line=source_line,
                    )
                )
            elif kind.endswith("tool_result") or kind == "ToolResultBlock":
                flush_text()
                added.append(
                    self.add_tool_result(
                        block.get("tool_use_id"),
                        flatten_text(block.get("content")),
                        is_error=bool(block.get("is_error")),
                        ts=ts,
                        source_line=source_line,
                    )
                )
            else:  # images, documents, unknown future blocks: keep a trace that they were there
                texts.append(f"[{kind or 'block'}]")
        flush_text()
        tokens_in, tokens_out = usage_tokens(usage)
        if added and (tokens_in is not None or tokens_out is not None):
            added[0].tokens_in, added[0].tokens_out = tokens_in, tokens_out
        return added

    def add_tool_call(
        self,
        call_id: Any,
        name: str,
        arguments: Any,
        *,
        ts: datetime | None = None,
        source_line: int | None = None,
    ) -> EventRow:
        event_id = (
            str(call_id) if call_id and str(call_id) not in self.call_event_ids else self.new_id("call")
        )
        if call_id:
            self.call_event_ids[str(call_id)] = event_id
        return self.emit(
            ts,
            event_id=event_id,
            type="tool_call",
            role="assistant",
            tool=name,
            input=arguments,
            source_line=source_line,
        )

    def add_tool_result(
        self,
        call_id: Any,
        text: str,
        *,
        is_error: bool,
        ts: datetime | None = None,
        source_line: int | None = None,
    ) -> EventRow:
        parent = self.call_event_ids.get(str(call_id)) if call_id else None
        tool = next((r.tool for r in reversed(self.rows) if r.event_id == parent), None) if parent else None
        return self.emit(
            ts,
            event_id=self.new_id("result"),
            type="tool_result",
            role="tool",
            tool=tool,
            parent_event_id=parent,
            content=text,
            is_error=is_error,
            source_line=source_line,
        )


# --- recorded exchanges ------------------------------------------------------------------------------------


def assemble_sse(body: str) -> dict[str, Any]:
    """Rebuild the final message from a streamed (server-sent events) response body."""
    message: dict[str, Any] = {"content": []}
    partial_json: dict[int, list[str]] = {}
    for line in body.splitlines():
        if not line.startswith("data:"):
            continue
        try:
            event = orjson.loads(line[5:].strip())
        except orjson.JSONDecodeError:
            continue
        kind = event.get("type")
        if kind == "message_start":
            message = {**event.get("message", {}), "content": []}
        elif kind == "content_block_start":
            message["content"].append(dict(event.get("content_block", {})))
        elif kind == "content_block_delta" and message["content"]:
            index = min(event.get("index", len(message["content"]) - 1), len(message["content"]) - 1)
            block, delta = message["content"][index], event.get("delta", {})
            if delta.get("type") == "input_json_delta":
                partial_json.setdefault(index, []).append(delta.get("partial_json", ""))
            elif delta.get("type") == "text_delta":
                block["text"] = block.get("text", "") + delta.get("text", "")
            elif delta.get("type") == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
        elif kind == "message_delta":
            message.update({k: v for k, v in event.get("delta", {}).items() if v is not None})
            message["usage"] = {**message.get("usage", {}), **(event.get("usage") or {})}
        elif kind == "error":
            return {"type": "error", "error": event.get("error")}
    for index, chunks in partial_json.items():
        try:
            message["content"][index]["input"] = orjson.loads("".join(chunks) or "{}")
        except orjson.JSONDecodeError:
            message["content"][index]["input"] = "".join(chunks)
    return message


def _response_body(response: dict[str, Any]) -> Any:
    body = response.get("body")
    if isinstance(body, str) and "data:" in body:
        return assemble_sse(body)
    if isinstance(body, str):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            return {"type": "error", "error": {"message": body}}
    return body or {}


def _header_time(response: dict[str, Any]) -> datetime | None:
    headers = {str(k).lower(): v for k, v in (response.get("headers") or {}).items()}
    try:
        return parsedate_to_datetime(headers["date"]) if "date" in headers else None
    except (TypeError, ValueError):
        return None


def _is_exchange_list(document: Any) -> bool:
    return (
        isinstance(document, list)
        and bool(document)
        and all(isinstance(item, dict) and "request" in item and "response" in item for item in document)
    )


class AnthropicMessagesAdapter:
    name: ClassVar[str] = "anthropic-messages"
    description: ClassVar[str] = (
        "Anthropic Messages API conversations: message lists, request bodies or recorded request/response exchanges"
    )
    path_pattern: ClassVar[str] = "exports/anthropic/*.json"

    def sniff(self, path: Path, head: bytes) -> float:
        text = head.lstrip()
        if text[:1] not in (b"[", b"{") or b'"__type__"' in head or b'"parentUuid"' in head:
            return 0.0
        if b"/v1/messages" in head and b'"request"' in head:
            return 0.95
        if re.search(rb'"role"\s*:\s*"(user|assistant)"', head) and b'"content"' in head:
            lines = [line for line in head.split(b"\n")[:3] if line.strip()]
            one_document = text[:1] == b"[" or len(lines) < 2 or not lines[1].lstrip().startswith(b'{"')
            return 0.7 if one_document else 0.2
        return 0.0

    def parse(self, path: Path, data: bytes | None = None) -> Iterator[EventRow | Reject]:
        data = path.read_bytes() if data is None else data
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            yield Reject(None, f"invalid JSON: {error.msg}", safe_preview(data))
            return
        if _is_exchange_list(document):
            yield from self._parse_exchanges(path, data, document)
        elif isinstance(document, list) or (
            isinstance(document, dict) and isinstance(document.get("messages"), list)
        ):
            yield from self._parse_conversation(path, data, document)
        else:
            yield Reject(None, "not a message list, request body or exchange recording", safe_preview(data))

    def _parse_conversation(self, path: Path, data: bytes, document: Any) -> Iterator[EventRow | Reject]:
        body = document if isinstance(document, dict) else {"messages": document}
        response = body.get("response") if isinstance(body.get("response"), dict) else None
        session_id = str((response or {}).get("id") or content_session_id(self.name, data))
        transcript = BlockTranscript(session_id, SyntheticClock(path))
        yield from self._transcript(transcript, body, [response] if response else [], status=None)

    def _parse_exchanges(
        self, path: Path, data: bytes, exchanges: list[dict[str, Any]]
    ) -> Iterator[EventRow | Reject]:
        bodies = [_response_body(item.get("response") or {}) for item in exchanges]
        first_ok = next(
            (b for b in bodies if isinstance(b, dict) and b.get("type") == "message" and b.get("id")), None
        )
        session_id = str(first_ok["id"]) if first_ok else content_session_id(self.name, data)
        header_time = next(
            (t for t in map(lambda e: _header_time(e.get("response") or {}), exchanges) if t), None
        )
        transcript = BlockTranscript(session_id, SyntheticClock(path, base=header_time))
        request = (exchanges[-1].get("request") or {}).get("body") or {}
        if isinstance(request, str):
            request = orjson.loads(request) if request.strip().startswith("{") else {}
        status_code = (exchanges[-1].get("response") or {}).get("status_code")
        yield from self._transcript(transcript, request, bodies, status=status_code)

    def _transcript(
        self, transcript: BlockTranscript, request: dict[str, Any], responses: list[Any], status: int | None
    ) -> Iterator[EventRow | Reject]:
        model = request.get("model") or next(
            (r.get("model") for r in responses if isinstance(r, dict) and r.get("model")), None
        )
        context = {
            "model": model,
            "n_tools": len(request.get("tools") or []),
            "n_api_calls": len(responses) or None,
        }
        transcript.emit(
            event_id="start",
            type="session_start",
            input={
                "task": self.name,
                "context": {k: v for k, v in context.items() if v is not None},
                "playbook_version": None,
            },
        )
        if request.get("system"):
            transcript.add_message("system", request["system"])
        ok_responses = [r for r in responses if isinstance(r, dict) and r.get("type") == "message"]
        assistant_index = 0
        for message in request.get("messages") or []:
            if not isinstance(message, dict) or "role" not in message:
                yield Reject(None, "message without a role", safe_preview(orjson.dumps(message)))
                continue
            usage = None
            if message["role"] == "assistant" and assistant_index < len(ok_responses):
                usage = ok_responses[assistant_index].get("usage")
                assistant_index += 1
            transcript.add_message(str(message["role"]), message.get("content"), usage=usage)
        final = responses[-1] if responses else None
        end_status = "completed"
        if isinstance(final, dict) and final.get("type") == "error" or (status is not None and status >= 400):
            error = (final or {}).get("error") or {}
            transcript.emit(
                event_id="error",
                type="error",
                is_error=True,
                tool=error.get("type"),
                content=str(error.get("message") or error),
                input={"status_code": status},
            )
            end_status = "error"
        elif isinstance(final, dict) and final.get("type") == "message":
            transcript.add_message("assistant", final.get("content"), usage=final.get("usage"))
            end_status = str(final.get("stop_reason") or end_status)
        transcript.emit(
            event_id="end", type="session_end", input={"status": end_status}, is_error=end_status == "error"
        )
        yield from transcript.rows


ADAPTER = AnthropicMessagesAdapter()
