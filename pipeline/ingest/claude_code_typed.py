"""The Claude Code adapter's fast path: typed lines (`claude_code_lines`) applied to the parse state.

`read_typed_line` does what `ClaudeCodeAdapter._line` does for the lines it knows (user and assistant
messages, progress ticks with inline subagent messages, bookkeeping records) and returns False, having
changed nothing, for every other line or any case where the generic path would reject the line or behave
differently (a missing id, a compact summary, an unknown block kind): the caller then reads that line the
generic way, so each line's rows and rejects are the generic path's own. Everything is checked before the
first change to the state; `tests/ingest/test_claude_code_typed.py` compares both paths line by line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.ingest.base import EventRow
from pipeline.ingest.claude_code_lines import Message, ResultPart, TranscriptLine, orjson_value
from pipeline.ingest.claude_code_records import _BOOKKEEPING, _KNOWN_PROGRESS
from pipeline.ingest.claude_code_rows import (
    _FileState,
    _result_summary,
    prompt_preview,
)

_MESSAGE_LINES = ("user", "assistant")
_TOOL_CALLS = ("tool_use", "server_tool_use")
_MAPPED_BLOCKS = {
    "text",
    "thinking",
    "redacted_thinking",
    "tool_use",
    "server_tool_use",
    "tool_result",
    "image",
}


def read_typed_line(state: _FileState, line: TranscriptLine, line_number: int) -> bool:
    """Apply one decoded line to `state` as the generic path would; False if it must read the line."""
    kind = line.type
    if kind in _MESSAGE_LINES:
        if line.data is not None or not line.session_id:
            return False
        agent = (line.agent_id or "sidechain") if line.is_sidechain else "main"
        return _message(state, line, line_number, line.session_id, agent, inline=False)
    if line.message is not None:
        return False  # a message on a line of another type: the generic path decides what it means
    if kind == "progress":
        progress = line.data
        if progress is None:
            state.tally.skip("progress:None", known=False)
            return True
        nested = progress.message
        if progress.type == "agent_progress" and nested is not None and nested.type in _MESSAGE_LINES:
            if nested.data is not None or not line.session_id:
                return False
            agent = progress.agent_id or "subagent"
            return _message(state, nested, line_number, line.session_id, agent, inline=True)
        if nested is not None:
            return False
        state.tally.skip(f"progress:{progress.type}", known=progress.type in _KNOWN_PROGRESS)
        return True
    if kind in _BOOKKEEPING and line.data is None:
        state.tally.skip(kind, known=True)
        return True
    return False


def _message(
    state: _FileState,
    line: TranscriptLine,
    line_number: int,
    session_id: str,
    agent: str,
    *,
    inline: bool,
) -> bool:
    uuid, stamp, message = line.uuid, line.timestamp, line.message
    if not uuid or stamp is None or message is None or line.is_compact_summary:
        return False
    try:
        ts = datetime.fromisoformat(stamp)
    except ValueError:
        return False
    content = message.content
    start = state.starts.get(session_id) if agent == "main" and not inline else None
    if start is not None and (ts.tzinfo is None) != (start.first_ts.tzinfo is None):
        return False  # naive vs aware times do not compare: the generic path rejects the line half-way
    inputs: dict[int, Any] = {}  # block index -> its tool input, as orjson reads it
    result_summary: dict[str, Any] | None = None
    result_failed = False
    if isinstance(content, list):
        try:
            for index, block in enumerate(content):
                if block.type not in _MAPPED_BLOCKS:
                    return False
                if block.input is not None:
                    if block.type not in _TOOL_CALLS:
                        return False
                    inputs[index] = orjson_value(block.input)
        except OverflowError:
            return False  # a number orjson refuses: the whole line is a reject on the generic path
        if line.tool_use_result is not None:
            result_summary, result_failed = _result_summary(line.tool_use_result)

    parent_uuid = line.parent_uuid
    parent = state.line_event.get(parent_uuid, parent_uuid) if parent_uuid is not None else None
    state.ts_by_uuid[uuid] = ts
    if agent == "main" and not inline:
        _note_start(state, session_id, line, message, ts, content)
    role = message.role or line.type
    rows = state.rows
    rows_before = len(rows)
    if not isinstance(content, list):
        rows.append(
            EventRow(session_id, uuid, ts, "message", agent, parent, role, None, None, content or "", False,
                     None, None, line_number)
        )  # fmt: skip
    else:
        tool_names = state.tool_names
        for index, block in enumerate(content):
            kind = block.type
            event_id = uuid if index == 0 else f"{uuid}#{index}"
            if kind == "text":
                row = EventRow(session_id, event_id, ts, "message", agent, parent, role, None, None,
                               block.text, False, None, None, line_number)  # fmt: skip
            elif kind == "thinking":
                row = EventRow(session_id, event_id, ts, "observation", agent, parent, role, "thinking", None,
                               block.thinking, False, None, None, line_number)  # fmt: skip
            elif kind == "tool_result":
                call_id = block.tool_use_id or ""
                row = EventRow(session_id, event_id, ts, "tool_result", agent, call_id or None, "tool",
                               tool_names.get(call_id), result_summary, _result_text(block.content),
                               bool(block.is_error) or result_failed, None, None, line_number)  # fmt: skip
            elif kind == "image":
                row = EventRow(session_id, event_id, ts, "message", agent, parent, role, None, None, "[image]",
                               False, None, None, line_number)  # fmt: skip
            elif kind == "redacted_thinking":
                continue
            else:  # a tool call, whose id is its event id
                call_id, name = block.id or "", block.name or ""
                tool_names[call_id] = name
                row = EventRow(session_id, call_id or event_id, ts, "tool_call", agent, parent, role, name,
                               inputs.get(index), None, False, None, None, line_number)  # fmt: skip
            rows.append(row)
    if len(rows) == rows_before:
        state.tally.skip(f"{role}:no content", known=True)
        return True
    state.line_event.setdefault(uuid, rows[rows_before].event_id)
    if role == "assistant":
        _count_tokens(state, message, line)
    return True


def _result_text(content: str | list[ResultPart | str] | None) -> str | None:
    """`_block_text` for the content shapes the typed path accepts."""
    if content is None or isinstance(content, str):
        return content
    parts = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
        elif part.type == "text":
            parts.append(part.text)
        elif part.type == "image":
            parts.append("[image]")
    return "\n".join(parts)


def _count_tokens(state: _FileState, message: Message, line: TranscriptLine) -> None:
    """`ClaudeCodeAdapter._count_tokens` on typed values (counts are ints that `as_int` keeps as they are)."""
    usage = message.usage
    if usage is None:
        return
    tokens_in = (
        (usage.input_tokens or 0)
        + (usage.cache_creation_input_tokens or 0)
        + (usage.cache_read_input_tokens or 0)
    )
    tokens_out = usage.output_tokens or 0
    response_id = message.id or line.request_id
    rows = state.rows
    last = len(rows) - 1
    if response_id:
        key = f"{rows[last].session_id}\0{response_id}"
        previous = state.response_rows.get(key)
        if previous is not None and previous != last:
            holder = rows[previous]
            tokens_in = max(tokens_in, holder.tokens_in or 0)
            tokens_out = max(tokens_out, holder.tokens_out or 0)
            holder.tokens_in = holder.tokens_out = None
        state.response_rows[key] = last
    row = rows[last]
    row.tokens_in = max(row.tokens_in or 0, tokens_in)
    row.tokens_out = max(row.tokens_out or 0, tokens_out)


def _note_start(
    state: _FileState,
    session_id: str,
    line: TranscriptLine,
    message: Message,
    ts: datetime,
    content: Any,
) -> None:
    """`ClaudeCodeAdapter._note_start` on a typed line: the session's first time, context and prompt."""
    start = state.start_at(session_id, ts)
    for source, _ in start.missing:  # usually a feature or two the session never names: nothing found
        if getattr(line, source):
            start.missing = _noted(start.context, line, start.missing)
            break
    if not start.has_model and message.model is not None:
        start.context["model"] = message.model
        start.has_model = True
    if start.task is None and line.type == "user":
        start.task = _prompt(line, content)


def _noted(
    context: dict[str, Any], line: TranscriptLine, missing: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """Put the features the line names into `context`; return those still missing."""
    still_missing = []
    for source, feature in missing:
        value = getattr(line, source)
        if value:
            context[feature] = value
        else:
            still_missing.append((source, feature))
    return tuple(still_missing)


def _prompt(line: TranscriptLine, content: Any) -> str | None:
    if line.is_meta:
        return None
    if isinstance(content, list):
        texts = [block.text for block in content if block.type == "text"]
        if len(texts) != len(content):
            return None
        content = "\n".join(texts)
    return prompt_preview(content)
