"""The Anthropic Messages API wire format as the local stub speaks it: validation, token estimates, SSE.

Kept apart from the HTTP server so the rules the stub enforces (what the real API rejects, how usage and
streamed events are shaped) read in one place and can change without touching the serving code.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "not_found_error": 404,
    "api_error": 500,
    "overloaded_error": 529,
}
STREAM_CHUNK_CHARS = 24


class StubAPIError(Exception):
    """An error the stub answers with the real API's status code and `{"type": "error", ...}` body."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message

    @property
    def status(self) -> int:
        return ERROR_STATUS[self.error_type]

    def body(self, request_id: str) -> dict[str, Any]:
        return {
            "type": "error",
            "error": {"type": self.error_type, "message": self.message},
            "request_id": request_id,
        }


def estimate_tokens(text: str) -> int:
    """Rough token count (about four characters a token), stable so tests can assert on usage."""
    return math.ceil(len(text) / 4)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def block_text(block: Any) -> str:
    """The text a content block contributes to the prompt, for token estimates and cache keys."""
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return json.dumps(block, sort_keys=True, default=str)
    block_type = block.get("type")
    if block_type == "text":
        return str(block.get("text", ""))
    if block_type == "thinking":
        return str(block.get("thinking", ""))
    if block_type == "tool_use":
        return str(block.get("name", "")) + json.dumps(block.get("input", {}), sort_keys=True)
    if block_type == "tool_result":
        content = block.get("content", "")
        if isinstance(content, list):
            return "".join(block_text(part) for part in content)
        return str(content)
    return json.dumps({k: v for k, v in block.items() if k != "cache_control"}, sort_keys=True)


def prompt_segments(body: dict[str, Any]) -> list[tuple[str, bool]]:
    """The prompt as (text, is_cache_breakpoint) pieces in the API's cache order: tools, system, messages."""
    segments: list[tuple[str, bool]] = []
    for tool in body.get("tools") or []:
        text = str(tool.get("name", "")) + str(tool.get("description", ""))
        text += json.dumps(tool.get("input_schema", {}), sort_keys=True)
        segments.append((text, bool(tool.get("cache_control"))))
    system = body.get("system")
    if isinstance(system, str):
        segments.append((system, False))
    elif isinstance(system, list):
        segments.extend((block_text(block), bool(block.get("cache_control"))) for block in system)
    for message in body.get("messages") or []:
        content = message.get("content", "")
        if isinstance(content, str):
            segments.append((content, False))
        else:
            segments.extend(
                (block_text(block), isinstance(block, dict) and bool(block.get("cache_control")))
                for block in content
            )
    return segments


def validate_message_params(body: Any, *, need_max_tokens: bool = True) -> None:
    """Reject what the real API rejects with a 400 before any model runs."""
    if not isinstance(body, dict):
        raise StubAPIError("invalid_request_error", "request body must be a JSON object")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise StubAPIError("invalid_request_error", "model: Field required")
    if need_max_tokens:
        max_tokens = body.get("max_tokens")
        if max_tokens is None:
            raise StubAPIError("invalid_request_error", "max_tokens: Field required")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            raise StubAPIError("invalid_request_error", "max_tokens: Input should be a positive integer")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise StubAPIError("invalid_request_error", "messages: Field required")
    if not messages:
        raise StubAPIError("invalid_request_error", "messages: at least one message is required")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise StubAPIError(
                "invalid_request_error", f"messages.{index}.role: must be 'user' or 'assistant'"
            )
        content = message.get("content")
        if not isinstance(content, str | list):
            raise StubAPIError("invalid_request_error", f"messages.{index}.content: Field required")
        if isinstance(content, list) and not all(isinstance(b, dict) and "type" in b for b in content):
            raise StubAPIError("invalid_request_error", f"messages.{index}.content: blocks need a type")


def normalized_content(reply: dict[str, Any]) -> list[dict[str, Any]]:
    """Fill the fields the SDK's models require but a responder should not have to write."""
    blocks: list[dict[str, Any]] = []
    for raw in reply.get("content", []):
        block = dict(raw)
        if block.get("type") == "tool_use":
            block.setdefault("id", new_id("toolu"))
            block.setdefault("input", {})
        blocks.append(block)
    return blocks


def cut_to_max_tokens(content: list[dict[str, Any]], max_tokens: int) -> tuple[list[dict[str, Any]], bool]:
    """Cut a reply at the request's `max_tokens`, as the model would stop mid-answer.

    Text is cut at the budget; a tool call that does not fit is dropped with everything after it (its
    arguments would be unparseable). The flag tells the caller to report `stop_reason="max_tokens"`, so
    code that sets the budget too low for its expected output fails here rather than in production.
    """
    kept: list[dict[str, Any]] = []
    budget = max_tokens
    for block in content:
        cost = estimate_tokens(block_text(block))
        if cost <= budget:
            kept.append(block)
            budget -= cost
            continue
        if block.get("type") == "text" and budget > 0:
            kept.append({**block, "text": block["text"][: budget * 4]})
        return kept, True
    return kept, False


def sse_events(message: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The streaming event sequence whose accumulation by the SDK rebuilds `message` exactly."""
    usage = message["usage"]
    opening = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    opening["usage"] = {**usage, "output_tokens": 1}
    yield "message_start", {"type": "message_start", "message": opening}
    yield "ping", {"type": "ping"}
    for index, block in enumerate(message["content"]):
        deltas: list[dict[str, Any]] = []
        if block["type"] == "text":
            start = {**block, "text": ""}
            text = block["text"]
            deltas = [
                {"type": "text_delta", "text": text[i : i + STREAM_CHUNK_CHARS]}
                for i in range(0, len(text), STREAM_CHUNK_CHARS)
            ]
        elif block["type"] == "tool_use":
            start = {**block, "input": {}}
            arguments = json.dumps(block["input"])
            deltas = [
                {"type": "input_json_delta", "partial_json": arguments[i : i + STREAM_CHUNK_CHARS]}
                for i in range(0, len(arguments), STREAM_CHUNK_CHARS)
            ]
        else:
            start = block
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
        for delta in deltas:
            yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    closing_delta = {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]}
    yield "message_delta", {"type": "message_delta", "delta": closing_delta, "usage": usage}
    yield "message_stop", {"type": "message_stop"}
