"""Content blocks (text, thinking, tool use, tool results) as events: shared by every Anthropic-shaped format.

The Messages API, the Claude Agent SDK and Claude Code all carry the same role + content-block messages;
`BlockTranscript` maps them to events once, so a tool call or a result reads the same whichever log it came
from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.ingest.base import EventRow
from pipeline.ingest.derived import SyntheticClock, as_int
from pipeline.ingest.jsonl import json_bytes

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
        return json_bytes(content).decode()
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
        if isinstance(content, list):
            blocks = content
        elif content is None:
            blocks = []
        else:  # a string, or a value of the wrong type kept visible as text rather than dropped
            text = content if isinstance(content, str) else json_bytes(content).decode()
            blocks = [{"type": "text", "text": text}]
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
