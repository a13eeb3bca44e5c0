"""Claude Code transcripts: `~/.claude/projects/<project-slug>/<sessionId>.jsonl`.

The real files (see tests/fixtures/claude-code and the shared NOTES.md) are messier than one message per
line, and each quirk changes a number downstream if ignored:
- one API response is split over several `assistant` lines (one content block each) that share
  `message.id`/`requestId` and repeat the same `usage`: tokens are counted once per response, on its last
  event, which a parent's inline copy of a subagent response shares with the subagent's own file;
- tool results are `user` lines holding `tool_result` blocks, paired to the call by `tool_use_id`; failure
  shows as `is_error` or as a plain-string `toolUseResult` ("Error: Exit code 1", "User rejected tool use");
- subagents write `<sessionId>/subagents/agent-<id>.jsonl` (or older flat `agent-<id>.jsonl`) with
  `isSidechain: true` and the parent's `sessionId`, or appear inline as `agent_progress` lines: all three
  become the same session with the subagent's own `agent`, and shared line uuids deduplicate downstream;
- `summary`, `compact_boundary` and `isCompactSummary` lines mark compaction; snapshots, queue operations
  and hook progress are bookkeeping, not session events; every record that makes no event is counted (known
  vs unknown type) in the parse's `RecordTally`, and the 2.1.x types are listed in `claude_code_records`.
Event ids are the line `uuid` (plus `#<block>` for later blocks of a line) or the `tool_use` id, so
re-ingesting a file that grew yields the same ids for the lines it already had.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson

from pipeline.ingest.base import EventRow, RecordTally, Reject
from pipeline.ingest.claude_code_lines import decode_line
from pipeline.ingest.claude_code_records import (
    _BOOKKEEPING,
    _CONTEXT_RECORDS,
    _KNOWN_PROGRESS,
    _KNOWN_SYSTEM,
    _LINE_TYPES,
    subagent_meta,
)
from pipeline.ingest.claude_code_rows import (
    TASK_PREVIEW_CHARS,
    LineError,
    _block_text,
    _FileState,
    _is_prompt,
    _Line,
    _required_str,
    _result_summary,
    _timestamp,
)
from pipeline.ingest.claude_code_typed import read_typed_line
from pipeline.ingest.derived import as_int
from pipeline.ingest.jsonl import iter_lines, json_bytes, loads_line, raw_preview
from pipeline.ingest.registry import CERTAIN

__all__ = ["ADAPTER", "TASK_PREVIEW_CHARS", "ClaudeCodeAdapter", "LineError"]


class ClaudeCodeAdapter:
    name: ClassVar[str] = "claude_code"
    description: ClassVar[str] = "Claude Code session transcripts, including subagent sidechains"
    path_pattern: ClassVar[str] = "~/.claude/projects/<project-slug>/<sessionId>.jsonl"

    def __init__(self, *, typed_lines: bool = True) -> None:
        # False: every line goes the generic dict path (the typed path's oracle in the tests)
        self.typed_lines = typed_lines

    def sniff(self, path: Path, head: bytes) -> float:
        """1.0 (certain: the search stops here) for a known line type carrying a session id and a line
        uuid, which no other format writes together; 0.6 for a file whose first 8 lines open with bookkeeping
        (a summary or snapshot) but show no such line."""
        seen_lines = 0
        bookkeeping_first = False
        for raw in head.split(b"\n", 8)[:8]:
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            seen_lines += 1
            kind = record.get("type") if isinstance(record, dict) else None
            if not isinstance(kind, str) or kind not in _LINE_TYPES:
                continue  # a mistyped or unknown line must not hide the good lines after it
            if "sessionId" in record and ("uuid" in record or "parentUuid" in record):
                return CERTAIN
            if kind in ("summary", "file-history-snapshot") and seen_lines == 1:
                bookkeeping_first = True  # the next lines usually confirm
        return 0.6 if bookkeeping_first else 0.0

    def parse(
        self, path: Path, data: bytes | None = None, tally: RecordTally | None = None
    ) -> Iterator[EventRow | Reject]:
        state = _FileState(tally=tally if tally is not None else RecordTally())
        typed_lines = self.typed_lines
        for item in iter_lines(path, data):
            if isinstance(item, Reject):
                yield item
                continue
            line_number, line, is_last = item
            if typed_lines:
                decoded = decode_line(line)
                if decoded is not None and read_typed_line(state, decoded, line_number):
                    continue
            parsed = loads_line(line_number, line, is_last)
            if isinstance(parsed, Reject):
                yield parsed
                continue
            record = parsed[1]
            if not isinstance(record, dict):
                yield Reject(line_number, "line is not a JSON object", raw_preview(json_bytes(record)))
                continue
            try:
                self._line(state, record, line_number)
            except (ValueError, TypeError, AttributeError, KeyError) as error:
                reason = str(error) if isinstance(error, LineError) else f"unexpected shape: {error}"
                yield Reject(line_number, reason, raw_preview(json_bytes(record)))
        yield from subagent_meta(path, state.rows)
        yield from self._finish(state)

    # --- one line ----------------------------------------------------------------------------------------

    def _line(self, state: _FileState, record: dict[str, Any], line_number: int) -> None:
        kind = record.get("type")
        if kind in ("user", "assistant"):
            agent = self._agent(record)
            self._message(
                state, record, line_number, session_id=_required_str(record, "sessionId"), agent=agent
            )
        elif kind == "system":
            self._system(state, record, line_number)
        elif kind == "progress":
            progress = record.get("data")
            progress_kind = progress.get("type") if isinstance(progress, dict) else None
            nested = progress.get("message") if isinstance(progress, dict) else None
            if (
                progress_kind == "agent_progress"
                and isinstance(nested, dict)
                and nested.get("type") in ("user", "assistant")
            ):
                agent = str(progress.get("agentId") or "subagent")
                session_id = _required_str(record, "sessionId")
                self._message(state, nested, line_number, session_id=session_id, agent=agent, inline=True)
            else:
                state.tally.skip(f"progress:{progress_kind}", known=progress_kind in _KNOWN_PROGRESS)
        elif kind == "summary" and isinstance(record.get("summary"), str):
            leaf = record.get("leafUuid")
            state.summaries.append((line_number, record["summary"], leaf if isinstance(leaf, str) else None))
        elif isinstance(kind, str) and kind in _CONTEXT_RECORDS:
            source, feature = _CONTEXT_RECORDS[kind]
            value, session_id = record.get(source), record.get("sessionId")
            if isinstance(value, str) and value and isinstance(session_id, str):
                state.session_notes.setdefault(session_id, {})[feature] = value[:200]
            state.tally.skip(kind, known=True)
        elif "type" in record and not isinstance(kind, str):
            raise LineError(f"wrong type for type: {type(kind).__name__}, expected text")
        else:
            # Snapshots, queued prompts, attachments, mode toggles: bookkeeping, not session events.
            state.tally.skip(kind, known=isinstance(kind, str) and kind in _BOOKKEEPING)

    @staticmethod
    def _agent(record: dict[str, Any]) -> str:
        if record.get("isSidechain"):
            return str(record.get("agentId") or "sidechain")
        return "main"

    def _message(
        self,
        state: _FileState,
        record: dict[str, Any],
        line_number: int,
        *,
        session_id: str,
        agent: str,
        inline: bool = False,
    ) -> None:
        uuid = _required_str(record, "uuid")
        ts = _timestamp(record)
        message = record.get("message")
        if not isinstance(message, dict):
            raise LineError("missing message" if message is None else "wrong type for message")
        role = message.get("role") or record.get("type")
        if not isinstance(role, str):
            raise LineError(f"wrong type for message.role: {type(role).__name__}")
        content = message.get("content")
        parent = self._resolve(state, record.get("parentUuid"))
        state.ts_by_uuid[uuid] = ts
        if agent == "main" and not inline:
            self._note_start(state, session_id, record, message, ts, content)
        line = _Line(state, session_id, uuid, ts, agent, parent, role, line_number)
        rows_before = len(state.rows)
        not_a_block: int | None = None
        if record.get("isCompactSummary"):
            line.emit(0, "observation", tool="compact_summary", content=_block_text(content))
            return
        if isinstance(content, str) or content is None:
            line.emit(0, "message", content=content or "")
        elif isinstance(content, list):
            result_summary, result_failed = _result_summary(record.get("toolUseResult"))
            for index, block in enumerate(content):
                if isinstance(block, dict):
                    self._block(state, line, index, block, result_summary, result_failed)
                elif not_a_block is None:
                    not_a_block = index
        else:
            raise LineError(f"wrong type for message.content: {type(content).__name__}")
        if len(state.rows) == rows_before:  # e.g. only redacted thinking, or an empty block list
            state.tally.skip(f"{role}:no content", known=True)
        elif role == "assistant":
            self._count_tokens(state, message, record)
        if not_a_block is not None:  # the line's good blocks are kept (emitted above); the bad one is told
            kind = type(content[not_a_block]).__name__
            raise LineError(f"wrong type for message.content[{not_a_block}]: {kind}, expected an object")

    @staticmethod
    def _block(
        state: _FileState,
        line: _Line,
        index: int,
        block: dict[str, Any],
        result_summary: dict[str, Any] | None,
        result_failed: bool,
    ) -> None:
        kind = block.get("type")
        if kind == "text":
            line.emit(index, "message", content=str(block.get("text", "")))
        elif kind == "thinking":
            line.emit(index, "observation", tool="thinking", content=str(block.get("thinking", "")))
        elif kind in ("tool_use", "server_tool_use"):
            tool_use_id = str(block.get("id") or "")
            name = str(block.get("name") or "")
            state.tool_names[tool_use_id] = name
            line.emit(index, "tool_call", event_id=tool_use_id or None, tool=name, input=block.get("input"))
        elif kind == "tool_result":
            tool_use_id = str(block.get("tool_use_id") or "")
            line.emit(
                index,
                "tool_result",
                role="tool",
                parent_event_id=tool_use_id or None,
                tool=state.tool_names.get(tool_use_id),
                content=_block_text(block.get("content")),
                input=result_summary,
                is_error=bool(block.get("is_error")) or result_failed,
            )
        elif kind == "image":
            line.emit(index, "message", content="[image]")
        elif kind != "redacted_thinking":
            line.emit(index, "observation", tool=str(kind), input=block)

    @staticmethod
    def _count_tokens(state: _FileState, message: dict[str, Any], record: dict[str, Any]) -> None:
        """Put one response's usage on its LAST event so far, the largest value seen across its lines.

        One API response is split over several lines (one content block each) that repeat its usage. The
        last line is the one every copy of the response has: a parent transcript's inline `agent_progress`
        copy of a subagent response lacks the leading text line the subagent's own file has. Both copies
        then carry the usage on the same event id, and the (session_id, event_id) dedup counts it once.
        """
        usage = message.get("usage")
        if not isinstance(usage, dict):
            return
        tokens_in = sum(
            as_int(usage.get(key)) or 0
            for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        tokens_out = as_int(usage.get("output_tokens")) or 0
        response_id = message.get("id") or record.get("requestId")
        last = len(state.rows) - 1
        if isinstance(response_id, str) and response_id:
            key = f"{state.rows[last].session_id}\0{response_id}"
            previous = state.response_rows.get(key)
            if previous is not None and previous != last:
                holder = state.rows[previous]
                tokens_in = max(tokens_in, holder.tokens_in or 0)
                tokens_out = max(tokens_out, holder.tokens_out or 0)
                holder.tokens_in = holder.tokens_out = None
            state.response_rows[key] = last
        row = state.rows[last]
        row.tokens_in = max(row.tokens_in or 0, tokens_in)
        row.tokens_out = max(row.tokens_out or 0, tokens_out)

    def _system(self, state: _FileState, record: dict[str, Any], line_number: int) -> None:
        uuid = record.get("uuid")
        if not isinstance(uuid, str):
            state.tally.skip(f"system:{record.get('subtype')} without uuid", known=False)
            return
        ts = _timestamp(record)
        subtype = str(record.get("subtype") or "system")
        if subtype not in _KNOWN_SYSTEM:
            state.tally.skip(f"system:{subtype}", known=False)  # kept as an observation, but new: say so
        parent = record.get("parentUuid") or record.get("logicalParentUuid")
        failed = record.get("level") == "error" or "error" in subtype
        content = record.get("content")
        state.rows.append(
            EventRow(
                session_id=_required_str(record, "sessionId"),
                event_id=uuid,
                ts=ts,
                type="error" if failed else "observation",
                agent=self._agent(record),
                parent_event_id=self._resolve(state, parent),
                role="system",
                tool=subtype,
                input=record.get("compactMetadata"),
                content=content if isinstance(content, str) else _block_text(content),
                is_error=failed,
                source_line=line_number,
            )
        )
        state.line_event.setdefault(uuid, uuid)
        state.ts_by_uuid[uuid] = ts

    @staticmethod
    def _resolve(state: _FileState, parent_uuid: Any) -> str | None:
        if not isinstance(parent_uuid, str):
            return None
        return state.line_event.get(parent_uuid, parent_uuid)

    @staticmethod
    def _note_start(
        state: _FileState,
        session_id: str,
        record: dict[str, Any],
        message: dict[str, Any],
        ts: datetime,
        content: Any,
    ) -> None:
        start = state.start_at(session_id, ts)
        if start.missing:  # every main line is seen here: once the context is complete it costs nothing
            context = start.context
            still_missing = []
            for source, feature in start.missing:
                value = record.get(source)
                if isinstance(value, str) and value:
                    context[feature] = value
                else:
                    still_missing.append((source, feature))
            start.missing = tuple(still_missing)
        if not start.has_model and isinstance(message.get("model"), str):
            start.context["model"] = message["model"]
            start.has_model = True
        if start.task is None and record.get("type") == "user":
            start.task = _is_prompt(record, content)

    # --- end of file ---------------------------------------------------------------------------------------

    def _finish(self, state: _FileState) -> Iterator[EventRow]:
        for session_id, start in state.starts.items():
            for feature, value in state.session_notes.get(session_id, {}).items():
                start.context.setdefault(feature, value)
            yield EventRow(
                session_id=session_id,
                event_id="session_start",
                ts=start.first_ts,
                type="session_start",
                input={"task": start.task, "context": start.context, "playbook_version": None},
                content=start.task,
            )
        session_ids = {row.session_id for row in state.rows} if state.summaries else set()
        if len(session_ids) != 1 and state.summaries:  # whose session a summary names is unknowable here
            for _ in state.summaries:
                state.tally.skip("summary (no single session)", known=True)
        if len(session_ids) == 1 and state.summaries:
            session_id = next(iter(session_ids))
            first_ts = min(row.ts for row in state.rows)
            for line_number, text, leaf in state.summaries:
                yield EventRow(
                    session_id=session_id,
                    event_id=f"summary:{leaf or line_number}",
                    ts=state.ts_by_uuid.get(leaf or "", first_ts),
                    type="observation",
                    parent_event_id=state.line_event.get(leaf or "", leaf),
                    role="system",
                    tool="summary",
                    content=text,
                    source_line=line_number,
                )
        yield from state.rows


ADAPTER = ClaudeCodeAdapter()
