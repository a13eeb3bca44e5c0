"""OpenTelemetry GenAI spans (the `gen_ai.*` semantic conventions): one trace is one session.

Accepted shapes, all normalized to one span record first:
- OTLP/JSON (`{"resourceSpans": [{"scopeSpans": [{"spans": [...]}]}]}`, hex ids, typed attribute values),
  as a document or one export request per line (the collector's file exporter);
- Python SDK span dumps (`{"spans": [{name, context, parent, start_time, attributes}]}`, decimal ids);
- a single flat attribute map (one span, no ids or times).

Operations (`gen_ai.operation.name`, also read from the span name): invoke_agent/create_agent ->
observation naming the agent for its subtree; chat/call_llm/text_completion/generate_content -> assistant
message with usage (the first model call's input messages open the transcript; later inputs repeat history);
execute_tool -> tool_call + tool_result. Both the spec's attribute names and the drifted ones seen in real
exporters (`gen_ai.tool.args`, `gen_ai.output`, `gen_ai.prompt`/`completion`, `input`/`output`) are read.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson

from pipeline.ingest.base import EventRow, Reject
from pipeline.ingest.derived import SyntheticClock, as_int, content_session_id, parse_time, safe_preview
from pipeline.ingest.jsonl import iter_json_lines
from pipeline.ingest.span_tree import SpanTreeSession, decoded_json

_MODEL_CALLS = {"chat", "call_llm", "text_completion", "generate_content", "completion"}
_AGENT_CALLS = {"invoke_agent", "create_agent"}


@dataclass(slots=True)
class Span:
    trace_id: str | None
    span_id: str | None
    parent_id: str | None
    name: str
    start: datetime | None
    end: datetime | None
    attributes: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def operation(self) -> str:
        operation = self.attributes.get("gen_ai.operation.name")
        return str(operation or self.name.split(" ", 1)[0] or "span")


def _otlp_value(value: dict[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return as_int(value["intValue"])
    if "arrayValue" in value:
        return [_otlp_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return {kv["key"]: _otlp_value(kv.get("value", {})) for kv in value["kvlistValue"].get("values", [])}
    return None


def _id(value: Any) -> str | None:
    """OTLP ids are hex; Python SDK dumps print them as (up to 128-bit) decimal integers: use hex for both."""
    if value in (None, "", 0):
        return None
    if isinstance(value, int):
        return format(value, "032x" if value >= 2**64 else "016x")
    return str(value)


def _otlp_spans(document: dict[str, Any]) -> Iterator[Span]:
    for resource_spans in document.get("resourceSpans") or []:
        for scope_spans in (
            resource_spans.get("scopeSpans") or resource_spans.get("instrumentationLibrarySpans") or []
        ):
            for raw in scope_spans.get("spans") or []:
                attributes = {
                    kv["key"]: _otlp_value(kv.get("value", {})) for kv in raw.get("attributes") or []
                }
                status = raw.get("status") or {}
                failed = status.get("code") in (2, "STATUS_CODE_ERROR") or "error.type" in attributes
                yield Span(
                    _id(raw.get("traceId")),
                    _id(raw.get("spanId")),
                    _id(raw.get("parentSpanId")),
                    str(raw.get("name") or ""),
                    parse_time(as_int(raw.get("startTimeUnixNano"))),
                    parse_time(as_int(raw.get("endTimeUnixNano"))),
                    attributes,
                    (status.get("message") or attributes.get("error.type") or "error") if failed else None,
                )


def _sdk_span(raw: dict[str, Any]) -> Span:
    context, parent = raw.get("context") or {}, raw.get("parent") or {}
    attributes = raw.get("attributes") or {}
    status = raw.get("status") or {}
    failed = str(status.get("status_code", "")).lower() == "error" or "error.type" in attributes
    return Span(
        _id(context.get("trace_id")),
        _id(context.get("span_id")),
        _id(parent.get("span_id")),
        str(raw.get("name") or ""),
        parse_time(raw.get("start_time")),
        parse_time(raw.get("end_time")),
        attributes,
        (status.get("description") or attributes.get("error.type") or "error") if failed else None,
    )


def spans_of(document: Any) -> Iterator[Span]:
    if isinstance(document, list):
        for item in document:
            yield from spans_of(item)
    elif isinstance(document, dict):
        if "resourceSpans" in document:
            yield from _otlp_spans(document)
        elif isinstance(document.get("spans"), list):
            yield from (_sdk_span(s) for s in document["spans"] if isinstance(s, dict))
        elif "context" in document and "attributes" in document:
            yield _sdk_span(document)
        elif any(str(k).startswith("gen_ai.") for k in document):
            yield Span(
                None,
                None,
                None,
                str(document.get("gen_ai.operation.name") or ""),
                None,
                None,
                document,
                str(document["error.type"]) if "error.type" in document else None,
            )


def _parts_text(message: Any) -> str:
    """Text of a GenAI message: `parts` (current spec), `content` (older), or the raw value."""
    if isinstance(message, dict):
        if isinstance(message.get("parts"), list):
            return "\n".join(
                str(p.get("content", ""))
                for p in message["parts"]
                if isinstance(p, dict) and p.get("type") == "text"
            )
        if "content" in message or "text" in message:
            return str(message.get("content") or message.get("text") or "")
    if isinstance(message, list):
        return "\n".join(t for t in (_parts_text(m) for m in message) if t)
    return (
        "" if message is None else (message if isinstance(message, str) else orjson.dumps(message).decode())
    )


class OtelGenAiAdapter:
    name: ClassVar[str] = "otel-genai"
    description: ClassVar[str] = (
        "OpenTelemetry GenAI spans (OTLP/JSON or SDK span dumps with gen_ai.* attributes)"
    )
    path_pattern: ClassVar[str] = "exports/otel/traces*.json"

    def sniff(self, path: Path, head: bytes) -> float:
        if b'"resourceSpans"' in head:
            return 0.95 if b"gen_ai." in head else 0.7
        if b'"gen_ai.' in head:
            return 0.9 if re.search(rb'"(spans|attributes|gen_ai\.operation\.name)"', head) else 0.6
        return 0.0

    def parse(self, path: Path, data: bytes | None = None) -> Iterator[EventRow | Reject]:
        data = path.read_bytes() if data is None else data
        try:
            documents: list[Any] = [orjson.loads(data)]
        except orjson.JSONDecodeError:
            documents = []
            for item in iter_json_lines(path, data):
                if isinstance(item, Reject):
                    yield item
                else:
                    documents.append(item[1])
        traces: dict[str, list[Span]] = defaultdict(list)
        fallback = content_session_id(self.name, data)
        for span in spans_of(documents):
            traces[span.trace_id or fallback].append(span)
        if not traces:
            yield Reject(None, "no spans found", safe_preview(data))
        clock = SyntheticClock(path)
        for trace_id, spans in traces.items():
            yield from _TraceTranscript(trace_id, spans, clock).events()


class _TraceTranscript(SpanTreeSession[Span]):
    def __init__(self, trace_id: str, spans: list[Span], clock: SyntheticClock) -> None:
        self.trace_id = trace_id
        self.clock = clock
        for index, span in enumerate(spans):
            span.span_id = span.span_id or f"span-{index:04d}"
            span.start = span.start or clock.next()
            span.end = span.end or span.start
        self.spans = sorted(spans, key=lambda s: (s.start, s.span_id))
        self.by_id = {s.span_id: s for s in self.spans}
        self.rows: list[EventRow] = []
        self.opened = False

    def _agent_of(self, span: Span) -> str:
        current: Span | None = span
        for _ in range(64):  # a malformed parent cycle must not hang ingest
            if current is None:
                break
            if current.operation in _AGENT_CALLS and current.attributes.get("gen_ai.agent.name"):
                return str(current.attributes["gen_ai.agent.name"])
            current = self.by_id.get(current.parent_id)
        return "main"

    def _span_id(self, span: Span) -> str | None:
        return span.span_id

    def _parent_id(self, span: Span) -> str | None:
        return span.parent_id

    def events(self) -> list[EventRow]:
        first, last = self.spans[0].start, max(s.end for s in self.spans)
        models = [
            s.attributes.get("gen_ai.request.model")
            for s in self.spans
            if s.attributes.get("gen_ai.request.model")
        ]
        providers = [
            s.attributes.get(k)
            for s in self.spans
            for k in ("gen_ai.provider.name", "gen_ai.system")
            if s.attributes.get(k)
        ]
        context = {"model": models[0] if models else None, "provider": providers[0] if providers else None}
        self._session_start(first, self._task(), {k: v for k, v in context.items() if v})
        for span in self.spans:
            self._span(span)
        status = "error" if any(s.error for s in self.spans if self._is_root(s)) else "completed"
        self._session_end(last, status)
        return self.rows

    def _task(self) -> str:
        agents = [s.attributes.get("gen_ai.agent.name") for s in self.spans if s.operation in _AGENT_CALLS]
        return str(next((a for a in agents if a), "otel-genai"))

    def _history_message(self, span: Span, index: int, message: dict[str, Any]) -> None:
        """Opening messages, with the tool calls and responses they carry as their own events."""
        text = _parts_text(message)
        if text:
            self._emit(
                span,
                span.start,
                f":in{index}",
                type="message",
                role=str(message.get("role") or "user"),
                content=text,
            )
        for position, part in enumerate(message.get("parts") or []):
            if not isinstance(part, dict):
                continue
            suffix = f":in{index}.{position}"
            if part.get("type") == "tool_call":
                self._emit(
                    span,
                    span.start,
                    suffix,
                    type="tool_call",
                    role="assistant",
                    tool=str(part.get("name") or "tool"),
                    input={"call_id": part.get("id"), "arguments": decoded_json(part.get("arguments"))},
                )
            elif part.get("type") == "tool_call_response":
                call = next(
                    (
                        r
                        for r in self.rows
                        if r.type == "tool_call" and (r.input or {}).get("call_id") == part.get("id")
                    ),
                    None,
                )
                self._emit(
                    span,
                    span.start,
                    suffix,
                    type="tool_result",
                    role="tool",
                    tool=call.tool if call else None,
                    parent_event_id=call.event_id if call else None,
                    content=_parts_text(decoded_json(part.get("response"))),
                )

    def _span(self, span: Span) -> None:
        attributes, operation = span.attributes, span.operation
        if operation in _AGENT_CALLS:
            self._emit(
                span,
                span.start,
                type="observation",
                tool=operation,
                input={
                    k.removeprefix("gen_ai."): v
                    for k, v in attributes.items()
                    if k.startswith("gen_ai.agent.")
                },
            )
        elif operation == "execute_tool":
            arguments = next(
                (
                    attributes[k]
                    for k in ("gen_ai.tool.call.arguments", "gen_ai.tool.args", "input")
                    if k in attributes
                ),
                None,
            )
            result = next(
                (
                    attributes[k]
                    for k in ("gen_ai.tool.call.result", "gen_ai.output", "output")
                    if k in attributes
                ),
                None,
            )
            call = self._emit(
                span,
                span.start,
                type="tool_call",
                role="assistant",
                tool=str(attributes.get("gen_ai.tool.name") or span.name.removeprefix("execute_tool ")),
                input={
                    "call_id": attributes.get("gen_ai.tool.call.id"),
                    "arguments": decoded_json(arguments),
                },
            )
            self._emit(
                span,
                span.end,
                ":result",
                type="tool_result",
                role="tool",
                tool=call.tool,
                parent_event_id=call.event_id,
                content=_parts_text(decoded_json(result)),
                is_error=span.error is not None,
            )
        elif operation in _MODEL_CALLS:
            if not self.opened:
                self.opened = True
                prompt = next(
                    (attributes[k] for k in ("gen_ai.input.messages", "gen_ai.prompt") if k in attributes),
                    None,
                )
                for index, message in enumerate(decoded_json(prompt) or []):
                    if isinstance(message, dict):
                        self._history_message(span, index, message)
            output = next(
                (
                    attributes[k]
                    for k in ("gen_ai.output.messages", "gen_ai.completion", "gen_ai.output", "output")
                    if k in attributes
                ),
                None,
            )
            tokens_in = as_int(
                attributes.get("gen_ai.usage.input_tokens", attributes.get("gen_ai.usage.prompt_tokens"))
            )
            tokens_out = as_int(
                attributes.get("gen_ai.usage.output_tokens", attributes.get("gen_ai.usage.completion_tokens"))
            )
            self._emit(
                span,
                span.end,
                type="message",
                role="assistant",
                content=_parts_text(decoded_json(output)),
                input={"operation": operation, "model": attributes.get("gen_ai.request.model")},
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                is_error=span.error is not None,
            )
        else:
            self._emit(
                span,
                span.start,
                type="observation",
                tool=operation,
                input={k: v for k, v in attributes.items() if isinstance(v, str | int | float | bool)},
            )
        if span.error:
            self._emit(
                span,
                span.end,
                ":error",
                type="error",
                is_error=True,
                content=str(span.error),
                tool=str(attributes.get("error.type") or "error"),
                parent_event_id=span.span_id,
            )


ADAPTER = OtelGenAiAdapter()
