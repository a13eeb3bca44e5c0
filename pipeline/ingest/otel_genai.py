"""OpenTelemetry GenAI spans (the `gen_ai.*` semantic conventions): one trace is one session.

Accepted shapes, all normalized to one span record first:
- OTLP/JSON (`{"resourceSpans": [{"scopeSpans": [{"spans": [...]}]}]}`, hex ids, typed attribute values),
  as a document or one export request per line (the collector's file exporter);
- Python SDK span dumps (`{"spans": [{name, context, parent, start_time, attributes}]}`, decimal ids);
- a single flat attribute map (one span, no ids or times).

Sessions: spans sharing `gen_ai.conversation.id` (the current conventions' session key) are one session even
across traces; otherwise one trace is one session.

Operations (`gen_ai.operation.name`, also read from the span name): invoke_agent/create_agent ->
observation naming the agent for its subtree; chat/call_llm/text_completion/generate_content -> assistant
message with usage (the first model call's system instructions and input messages open the transcript; later
inputs repeat history; messages may be JSON text or structured values);
execute_tool -> tool_call + tool_result; memory operations (search/create/update/upsert/delete_memory),
retrieval, embeddings and workflows -> observations. Operations outside the conventions are kept as
observations and counted as unknown in the ingest report. Both the spec's attribute names and the drifted ones seen in real
exporters (`gen_ai.tool.args`, `gen_ai.output`, `gen_ai.prompt`/`completion`, `input`/`output`) are read.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, ClassVar

from pipeline.ingest.base import EventRow, RecordTally, Reject
from pipeline.ingest.derived import SyntheticClock, as_int, content_session_id, safe_preview
from pipeline.ingest.jsonl import json_bytes, strip_bom
from pipeline.ingest.otel_genai_spans import Span, spans_of
from pipeline.ingest.row_checks import storable_time
from pipeline.ingest.span_tree import SpanTreeSession, decoded_json

_MODEL_CALLS = {"chat", "call_llm", "text_completion", "generate_content", "completion"}
_AGENT_CALLS = {"invoke_agent", "create_agent"}
_OTHER_KNOWN_OPERATIONS = {
    "execute_tool",
    "embeddings",
    "retrieval",
    "plan",
    "invoke_workflow",
    "fetch_response",
    "create_memory",
    "create_memory_store",
    "search_memory",
    "update_memory",
    "upsert_memory",
    "delete_memory",
    "delete_memory_store",
}


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
    return "" if message is None else (message if isinstance(message, str) else json_bytes(message).decode())


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

    def parse(
        self, path: Path, data: bytes | None = None, tally: RecordTally | None = None
    ) -> Iterator[EventRow | Reject]:
        data = strip_bom(path.read_bytes() if data is None else data)
        tally = tally if tally is not None else RecordTally()
        spans: list[Span] = []
        try:
            # The standard library, not orjson: SDK dumps write 128-bit ids as decimal integers, which
            # orjson reads as floats, merging distinct traces that differ past the 17th digit.
            spans = list(spans_of(json.loads(data)))
            if not spans:
                yield Reject(None, "no spans found", safe_preview(data))
        except (ValueError, RecursionError):
            for line_number, line in enumerate(data.split(b"\n"), start=1):
                if line.strip():
                    found = yield from self._line(line_number, line)
                    spans += found
        fallback = content_session_id(self.name, data)
        clock = SyntheticClock(path)
        for session_id, session_spans in _sessions(spans, fallback).items():
            transcript = _TraceTranscript(session_id, session_spans, clock, tally)
            yield from transcript.events()
            yield from transcript.rejects

    @staticmethod
    def _line(line_number: int, line: bytes) -> Generator[Reject, None, list[Span]]:
        """One line of a JSONL export: its spans, or a reject saying why it has none."""
        try:
            document = json.loads(line)
            spans = list(spans_of(document)) if isinstance(document, dict | list) else []
        except (ValueError, RecursionError) as error:
            reason = "invalid JSON" if isinstance(error, ValueError) else "JSON nested too deeply"
            yield Reject(line_number, reason, safe_preview(line))
            return []
        if not spans:
            yield Reject(line_number, "no spans in this line", safe_preview(line))
        for span in spans:
            span.line = line_number
        return spans


def _sessions(spans: list[Span], fallback: str) -> dict[str, list[Span]]:
    """Spans grouped into sessions: by `gen_ai.conversation.id` where any span of a trace has one (a
    conversation may span several traces), else by trace id."""
    conversation_of_trace: dict[str, str] = {}
    for span in spans:
        if span.conversation_id and span.trace_id:
            conversation_of_trace.setdefault(span.trace_id, span.conversation_id)
    sessions: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        key = span.conversation_id or conversation_of_trace.get(span.trace_id or "") or span.trace_id
        sessions[key or fallback].append(span)
    return sessions


class _TraceTranscript(SpanTreeSession[Span]):
    def __init__(self, trace_id: str, spans: list[Span], clock: SyntheticClock, tally: RecordTally) -> None:
        self.trace_id = trace_id
        self.clock = clock
        self.tally = tally
        self.rejects: list[Reject] = []
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

    def _line_of(self, span: Span) -> int | None:
        return span.line

    def _span_id(self, span: Span) -> str | None:
        return span.span_id

    def _parent_id(self, span: Span) -> str | None:
        return span.parent_id

    def events(self) -> list[EventRow]:
        # A span dated where no partition can hold it is rejected with its line (row checks); the
        # session's own start and end come from the spans that can be stored.
        starts = [t for t in (storable_time(s.start) for s in self.spans) if t]
        first = min(starts, default=self.spans[0].start)
        last = max((t for t in (storable_time(s.end) for s in self.spans) if t), default=first)
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
            try:
                self._span(span)
            except (TypeError, ValueError, AttributeError, KeyError) as error:
                reason = f"unexpected shape for span {span.name[:60]!r}: {type(error).__name__}: {error}"
                preview = safe_preview(json_bytes(span.attributes))
                self.rejects.append(Reject(span.line, reason[:300], preview))
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
                instructions = _parts_text(decoded_json(attributes.get("gen_ai.system_instructions")))
                if instructions:
                    self._emit(
                        span, span.start, ":system", type="message", role="system", content=instructions
                    )
                messages = decoded_json(prompt)
                messages = [messages] if isinstance(messages, dict) else messages
                for index, message in enumerate(messages if isinstance(messages, list) else []):
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
            if operation not in _OTHER_KNOWN_OPERATIONS:
                self.tally.skip(f"operation:{operation}", known=False)  # kept, but outside the conventions
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
