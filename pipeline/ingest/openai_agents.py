"""OpenAI Agents SDK trace exports: `trace` and `trace.span` objects as the SDK's exporters send them.

Accepted shapes: `{"spans": [...]}` (optionally with `trace_id`), the backend ingest payload `{"data": [trace,
span, ...]}`, a JSON list of such objects, or one object per line (JSONL). One trace is one session; each
span becomes events whose ids are the span ids, so `parent_event_id` keeps the SDK's span tree.

Span mapping: agent -> observation (and names the `agent` of everything beneath it), function -> tool_call +
tool_result, generation/response -> assistant message with token usage, handoff -> tool_call `handoff`,
guardrail -> observation (an error when triggered), custom and others -> observation. A span `error`
marks its events failed and adds an `error` event.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson

from pipeline.ingest.base import EventRow, RecordTally, Reject
from pipeline.ingest.content_blocks import flatten_text
from pipeline.ingest.derived import EPOCH, as_int, parse_time, safe_preview
from pipeline.ingest.jsonl import iter_json_lines, json_bytes, strip_bom
from pipeline.ingest.row_checks import storable_time
from pipeline.ingest.span_tree import SpanTreeSession, decoded_json


def _objects(path: Path, data: bytes) -> Iterator[tuple[int | None, dict[str, Any]] | Reject]:
    """Trace and span objects with the JSONL line each came from (None in a single JSON document)."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        for item in iter_json_lines(path, data):  # JSONL: one trace or span object per line
            if isinstance(item, Reject):
                yield item
            else:
                yield from _flatten(item[1], item[0])
        return
    yield from _flatten(document)


def _flatten(document: Any, line: int | None = None) -> Iterator[tuple[int | None, dict[str, Any]] | Reject]:
    if isinstance(document, list):
        for item in document:
            yield from _flatten(item, line)
    elif not isinstance(document, dict):
        yield Reject(line, "not a trace or trace.span object", safe_preview(json_bytes(document)))
    else:
        if isinstance(document.get("spans"), list) or isinstance(document.get("data"), list):
            if document.get("object") == "trace" or "workflow_name" in document:
                yield line, {k: v for k, v in document.items() if k not in ("spans", "data")}
            for item in document.get("spans") or document.get("data") or []:
                if isinstance(item, dict):
                    yield line, {"trace_id": document.get("trace_id") or document.get("id"), **item}
                else:
                    yield Reject(line, "a span that is not an object", safe_preview(json_bytes(item)))
        else:
            yield line, document


def _usage(usage: Any) -> tuple[int | None, int | None]:
    if not isinstance(usage, dict):
        return None, None
    tokens_in = as_int(usage.get("input_tokens", usage.get("prompt_tokens")))
    return tokens_in, as_int(usage.get("output_tokens", usage.get("completion_tokens")))


class OpenAIAgentsAdapter:
    name: ClassVar[str] = "openai-agents"
    description: ClassVar[str] = (
        "OpenAI Agents SDK trace exports (trace.span: agent, function, generation, handoff, guardrail)"
    )
    path_pattern: ClassVar[str] = "exports/openai-agents/*.json"

    def sniff(self, path: Path, head: bytes) -> float:
        if re.search(rb'"object"\s*:\s*"trace\.span"', head):
            return 0.95
        if re.search(rb'"object"\s*:\s*"trace"', head) or (b'"span_data"' in head and b'"trace_id"' in head):
            return 0.8
        return 0.0

    def parse(
        self, path: Path, data: bytes | None = None, tally: RecordTally | None = None
    ) -> Iterator[EventRow | Reject]:
        data = strip_bom(path.read_bytes() if data is None else data)
        traces: dict[str, dict[str, Any]] = {}
        spans: dict[str, list[dict[str, Any]]] = defaultdict(list)
        lines: dict[int, int] = {}  # id(span) -> its JSONL line
        for item in _objects(path, data):
            if isinstance(item, Reject):
                yield item
                continue
            line, obj = item
            if obj.get("object") == "trace" or ("workflow_name" in obj and "span_data" not in obj):
                traces[str(obj.get("id") or obj.get("trace_id"))] = obj
            elif isinstance(obj.get("span_data"), dict) and isinstance(obj.get("trace_id"), str | int):
                spans[str(obj["trace_id"])].append(obj)
                if line is not None:
                    lines[id(obj)] = line
            else:
                yield Reject(
                    line, "not a trace or trace.span object with a trace_id", safe_preview(json_bytes(obj))
                )
        for trace_id, trace_spans in spans.items():
            session = _TraceSession(trace_id, traces.get(trace_id, {}), trace_spans, lines)
            yield from session.events()
            yield from session.rejects


class _TraceSession(SpanTreeSession[dict[str, Any]]):
    def __init__(
        self, trace_id: str, trace: dict[str, Any], spans: list[dict[str, Any]], lines: dict[int, int]
    ) -> None:
        self.trace_id = trace_id
        self.span_lines = lines
        self.trace = trace
        self.spans = sorted(spans, key=lambda s: (parse_time(s.get("started_at")) or EPOCH, str(s.get("id"))))
        self.by_id = {str(s.get("id")): s for s in self.spans}
        self.rows: list[EventRow] = []
        self.rejects: list[Reject] = []

    def _agent_of(self, span: dict[str, Any]) -> str:
        seen: set[str] = set()
        current: dict[str, Any] | None = span
        while current is not None and str(current.get("id")) not in seen:
            seen.add(str(current.get("id")))
            data = current.get("span_data") or {}
            if data.get("type") == "agent" and data.get("name"):
                return str(data["name"])
            current = self.by_id.get(str(current.get("parent_id")))
        return "main"

    def _line_of(self, span: dict[str, Any]) -> int | None:
        return self.span_lines.get(id(span))

    def _span_id(self, span: dict[str, Any]) -> Any:
        return str(span.get("id"))

    def _parent_id(self, span: dict[str, Any]) -> Any:
        parent = span.get("parent_id")
        return str(parent) if isinstance(parent, str | int) and not isinstance(parent, bool) else None

    def events(self) -> list[EventRow]:
        starts = [parse_time(s.get("started_at")) for s in self.spans]
        ends = [parse_time(s.get("ended_at")) or start for s, start in zip(self.spans, starts, strict=True)]
        # A span dated where no partition can hold it is rejected with its line (row checks); the
        # session's own start and end come from the spans that can be stored.
        first = min((t for t in map(storable_time, starts) if t), default=EPOCH)
        metadata = self.trace.get("metadata") if isinstance(self.trace.get("metadata"), dict) else {}
        context = {
            k: v
            for k, v in {
                **metadata,
                "workflow_name": self.trace.get("workflow_name"),
                "group_id": self.trace.get("group_id"),
            }.items()
            if isinstance(v, str | int | float | bool)
        }
        self._session_start(first, str(self.trace.get("workflow_name") or "openai-agents"), context)
        failed = 0
        for span, start, end in zip(self.spans, starts, ends, strict=True):
            try:
                failed += self._span(span, start or first, end or start or first)
            except (TypeError, ValueError, AttributeError, KeyError) as error:
                reason = f"unexpected shape for a span: {type(error).__name__}: {error}"
                self.rejects.append(Reject(self._line_of(span), reason[:300], safe_preview(json_bytes(span))))
        last = max((t for t in map(storable_time, ends) if t), default=first)
        root_error = any(s.get("error") for s in self.spans if self._is_root(s))
        status = "error" if root_error else "completed"
        self._session_end(last, status, n_failed_spans=failed)
        # Spans arrive by end time; the transcript reads by start time (start first, end last: stable sort).
        return sorted(self.rows, key=lambda row: (row.event_id != "start", row.event_id == "end", row.ts))

    def _span(self, span: dict[str, Any], start: datetime, end: datetime) -> bool:
        data = span.get("span_data") or {}
        kind = str(data.get("type") or "custom")
        error = span.get("error")
        is_error = bool(error)
        if kind == "function":
            call = self._emit(
                span,
                start,
                type="tool_call",
                role="assistant",
                tool=str(data.get("name") or "function"),
                input=decoded_json(data.get("input")),
            )
            self._emit(
                span,
                end,
                ":result",
                type="tool_result",
                role="tool",
                tool=call.tool,
                parent_event_id=call.event_id,
                content=flatten_text(decoded_json(data.get("output"))),
                is_error=is_error,
            )
        elif kind in ("generation", "response"):
            parent = self.by_id.get(str(span.get("parent_id"))) or {}
            nested = (parent.get("span_data") or {}).get(
                "type"
            ) == "generation"  # response inside generation: same call
            tokens_in, tokens_out = (None, None) if nested else _usage(data.get("usage"))
            self._emit(
                span,
                end,
                type="message",
                role="assistant",
                content=flatten_text(data.get("output")) or None,
                input={"span": kind, **{k: data[k] for k in ("model", "response_id") if data.get(k)}},
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                is_error=is_error,
            )
        elif kind == "handoff":
            self._emit(
                span,
                start,
                type="tool_call",
                role="assistant",
                tool="handoff",
                input={"from_agent": data.get("from_agent"), "to_agent": data.get("to_agent")},
                is_error=is_error,
            )
        elif kind == "guardrail":
            triggered = bool(data.get("triggered"))
            self._emit(
                span,
                end,
                type="error" if triggered else "observation",
                tool=f"guardrail:{data.get('name')}",
                input={"triggered": triggered},
                is_error=triggered or is_error,
            )
        else:
            details = {k: v for k, v in data.items() if k != "type"}
            self._emit(
                span,
                start,
                type="observation",
                tool=str(data.get("name") or kind),
                input={"span": kind, **details},
                is_error=is_error,
            )
        if error:
            message = error.get("message") if isinstance(error, dict) else str(error)
            self._emit(
                span,
                end,
                ":error",
                type="error",
                is_error=True,
                content=str(message),
                input=error if isinstance(error, dict) else None,
                parent_event_id=f"{span.get('id')}",
            )
        return is_error


ADAPTER = OpenAIAgentsAdapter()
