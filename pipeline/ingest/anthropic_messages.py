"""Anthropic Messages API conversations: what applications built directly on the API keep as their log.

Accepted shapes (one file = one session):
- a JSON list of messages `[{role, content}]` (content a string or blocks);
- a request body `{model, system, messages, ...}`, optionally with the final `response` beside it;
- recorded HTTP exchanges `[{request: {url, headers, body}, response: {status_code, headers, body}}]`
  (the SDK's own test recordings): every call's new messages and its response, in call order, so calls
  before a compaction (whose history the next request replaces by a summary) keep their conversation and
  tokens; streamed responses are raw SSE text and are reassembled here;
- the older recording shape, a JSON list of response bodies as strings (no requests).

`BlockTranscript` (in `pipeline.ingest.content_blocks`) maps content blocks to events and is shared with the
Claude Agent SDK adapter, whose messages carry the same blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson

from pipeline.ingest.base import EventRow, RecordTally, Reject
from pipeline.ingest.content_blocks import (
    BlockTranscript,
    block_type,
    flatten_text,
    usage_tokens,
)
from pipeline.ingest.derived import SyntheticClock, content_session_id, safe_preview
from pipeline.ingest.jsonl import json_bytes, strip_bom

__all__ = ["ADAPTER", "BlockTranscript", "block_type", "flatten_text", "usage_tokens"]

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


def _response_body(response: Any) -> Any:
    body = response.get("body") if isinstance(response, dict) else None
    if isinstance(body, str) and "data:" in body:
        try:
            return assemble_sse(body)
        except (TypeError, AttributeError, ValueError, KeyError, IndexError) as error:
            return {"type": "error", "error": {"message": f"unreadable event stream: {error}"}}
    if isinstance(body, str):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            return {"type": "error", "error": {"message": body}}
    return body or {}


def _header_time(response: Any) -> datetime | None:
    headers = response.get("headers") if isinstance(response, dict) else None
    if not isinstance(headers, dict):
        return None
    headers = {str(k).lower(): v for k, v in headers.items()}
    try:
        return parsedate_to_datetime(headers["date"]) if "date" in headers else None
    except (TypeError, ValueError):
        return None


def _is_exchange(item: Any) -> bool:
    return isinstance(item, dict) and "request" in item and "response" in item


def _is_exchange_list(document: Any) -> bool:
    """A recording: exchanges, perhaps with a few broken entries (each rejected, the rest kept)."""
    return isinstance(document, list) and sum(map(_is_exchange, document)) > len(document) / 2


def _is_response_strings(document: Any) -> bool:
    return isinstance(document, list) and bool(document) and all(isinstance(item, str) for item in document)


def _request_body(exchange: dict[str, Any]) -> dict[str, Any]:
    request = exchange.get("request")
    body = request.get("body") if isinstance(request, dict) else None
    if isinstance(body, str):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError:
            return {}
    return body if isinstance(body, dict) else {}


def _comparable(value: Any) -> Any:
    """A message as the API sees it, for matching a request's history to what was already emitted: string
    content and a single text block are the same message, and keys left null are the same as absent."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if v is not None and k != "citations"}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def _message_key(role: Any, content: Any) -> Any:
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    return (role, json_bytes(_comparable(content), sort_keys=True))


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
        if re.match(rb'\[\s*"\{\\?"(model|id|type)\\"', text) and b'\\"type\\": \\"message\\"' in head:
            return 0.75  # a list of recorded response bodies as JSON strings
        return 0.0

    def parse(
        self, path: Path, data: bytes | None = None, tally: RecordTally | None = None
    ) -> Iterator[EventRow | Reject]:
        data = strip_bom(path.read_bytes() if data is None else data)
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            yield Reject(None, f"invalid JSON: {error.msg}", safe_preview(data))
            return
        if _is_exchange_list(document):
            yield from self._parse_exchanges(path, data, document)
        elif _is_response_strings(document):
            exchanges = [{"request": {}, "response": {"body": item}} for item in document]
            yield from self._parse_exchanges(path, data, exchanges)
        elif isinstance(document, list) or (
            isinstance(document, dict) and isinstance(document.get("messages"), list)
        ):
            yield from self._parse_conversation(path, data, document)
        else:
            yield Reject(None, "not a message list, request body or exchange recording", safe_preview(data))

    def _parse_conversation(self, path: Path, data: bytes, document: Any) -> Iterator[EventRow | Reject]:
        body = document if isinstance(document, dict) else {"messages": document}
        response = body.get("response") if isinstance(body.get("response"), dict) else None
        response_id = (response or {}).get("id")
        session_id = response_id if isinstance(response_id, str) else content_session_id(self.name, data)
        transcript = BlockTranscript(session_id, SyntheticClock(path))
        self._start(transcript, body, [response] if response else [])
        history: list[Any] = []
        yield from self._new_messages(transcript, body, history)
        self._respond(transcript, response, None, history)
        self._end(transcript, response, None)
        yield from transcript.rows

    def _parse_exchanges(self, path: Path, data: bytes, entries: list[Any]) -> Iterator[EventRow | Reject]:
        exchanges = [item for item in entries if _is_exchange(item)]
        for item in entries:
            if not _is_exchange(item):
                yield Reject(
                    None, "recorded exchange without request and response", safe_preview(json_bytes(item))
                )
        bodies = [_response_body(item.get("response")) for item in exchanges]
        first_ok = next(
            (b for b in bodies if isinstance(b, dict) and b.get("type") == "message" and b.get("id")), None
        )
        session_id = str(first_ok["id"]) if first_ok else content_session_id(self.name, data)
        header_time = next((t for t in (_header_time(e.get("response") or {}) for e in exchanges) if t), None)
        transcript = BlockTranscript(session_id, SyntheticClock(path, base=header_time))
        requests = [_request_body(item) for item in exchanges]
        self._start(transcript, next((r for r in requests if r), {}), bodies)
        history: list[Any] = []  # the conversation so far, as the next request would repeat it
        status: Any = None
        for exchange, request, body in zip(exchanges, requests, bodies, strict=True):
            yield from self._new_messages(transcript, request, history)
            response = exchange.get("response")
            status = response.get("status_code") if isinstance(response, dict) else None
            self._respond(transcript, body, status, history)
        self._end(transcript, bodies[-1] if bodies else None, status)
        yield from transcript.rows

    def _start(self, transcript: BlockTranscript, request: dict[str, Any], responses: list[Any]) -> None:
        model = request.get("model") or next(
            (r.get("model") for r in responses if isinstance(r, dict) and r.get("model")), None
        )
        tools = request.get("tools")
        context = {
            "model": model if isinstance(model, str) else None,
            "n_tools": len(tools) if isinstance(tools, list) else 0,
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

    @staticmethod
    def _new_messages(
        transcript: BlockTranscript, request: dict[str, Any], history: list[Any]
    ) -> Iterator[Reject]:
        """Emit the request's messages that the conversation so far does not already hold.

        A request repeats the history before its new turn; after a compaction it replaces that history by a
        summary, and what differs from the point of divergence on is new.
        """
        system = request.get("system")
        if system and ("system", _message_key("system", system)) not in history[:1]:
            transcript.add_message("system", system)
        messages = request.get("messages")
        if messages is None:
            return
        if not isinstance(messages, list):
            yield Reject(None, "messages is not a list", safe_preview(json_bytes(messages)))
            return
        keys = []
        for message in messages:
            role = message.get("role") if isinstance(message, dict) else None
            keys.append(_message_key(role, message.get("content")) if isinstance(role, str) else None)
        shared = 0
        conversation = history[1:] if history[:1] and history[0][0] == "system" else history
        while shared < min(len(keys), len(conversation)) and keys[shared] == conversation[shared]:
            shared += 1
        for message, key in zip(messages[shared:], keys[shared:], strict=True):
            if key is None:
                yield Reject(None, "message without a text role", safe_preview(json_bytes(message)))
                continue
            transcript.add_message(message["role"], message.get("content"))
        history[:] = ([("system", _message_key("system", system))] if system else []) + [
            k for k in keys if k is not None
        ]

    @staticmethod
    def _respond(transcript: BlockTranscript, body: Any, status: Any, history: list[Any]) -> None:
        """One call's response: the assistant's turn with that call's usage (every call's tokens count)."""
        if isinstance(body, dict) and body.get("type") == "message":
            content = body.get("content")
            transcript.add_message("assistant", content, usage=body.get("usage"))
            history.append(_message_key("assistant", content))
        elif (
            isinstance(body, dict)
            and body.get("type") == "error"
            or (isinstance(status, int) and status >= 400)
        ):
            error = (body or {}).get("error") if isinstance(body, dict) else None
            error = error if isinstance(error, dict) else {"message": str(error or body)}
            transcript.emit(
                event_id=transcript.new_id("error"),
                type="error",
                is_error=True,
                tool=str(error.get("type") or "error"),
                content=str(error.get("message") or error),
                input={"status_code": status},
            )

    @staticmethod
    def _end(transcript: BlockTranscript, final: Any, status: Any) -> None:
        end_status = "completed"
        if (
            isinstance(final, dict)
            and final.get("type") == "error"
            or (isinstance(status, int) and status >= 400)
        ):
            end_status = "error"
        elif isinstance(final, dict) and final.get("type") == "message":
            end_status = str(final.get("stop_reason") or end_status)
        transcript.emit(
            event_id="end", type="session_end", input={"status": end_status}, is_error=end_status == "error"
        )


ADAPTER = AnthropicMessagesAdapter()
