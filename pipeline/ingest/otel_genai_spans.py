"""Reading OpenTelemetry GenAI spans: every accepted shape (OTLP/JSON, Python SDK span dumps, a flat
attribute map) normalized to one `Span` record, with hex ids and parsed times.

What becomes of the spans (the session's events) is in `pipeline.ingest.otel_genai`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.ingest.derived import as_int, parse_time


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
    line: int | None = None  # the JSONL line it came from, when the export is one request per line

    @property
    def operation(self) -> str:
        operation = self.attributes.get("gen_ai.operation.name")
        return str(operation or self.name.split(" ", 1)[0] or "span")

    @property
    def conversation_id(self) -> str | None:
        """`gen_ai.conversation.id`: the current conventions' session key, which may span several traces."""
        value = self.attributes.get("gen_ai.conversation.id")
        return value if isinstance(value, str) and value else None


def _otlp_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return as_int(value["intValue"])
    if isinstance(value.get("arrayValue"), dict):
        return [_otlp_value(v) for v in _list(value["arrayValue"].get("values"))]
    if isinstance(value.get("kvlistValue"), dict):
        return _otlp_attributes(value["kvlistValue"].get("values"))
    return None


def _list(value: Any) -> list[Any]:
    """A list where the format promises one; anything else (a hand-edited or fuzzed file) reads as empty."""
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _otlp_attributes(pairs: Any) -> dict[str, Any]:
    return {
        kv["key"]: _otlp_value(kv.get("value"))
        for kv in _list(pairs)
        if isinstance(kv, dict) and isinstance(kv.get("key"), str)
    }


def _id(value: Any, hex_digits: int = 16) -> str | None:
    """OTLP ids are hex; Python SDK dumps print them as (up to 128-bit) decimal integers: use hex for both,
    as wide as the spec's ids (32 digits for a trace, 16 for a span)."""
    if value in (None, "", 0) or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, int):
        return format(value, f"0{hex_digits}x") if value > 0 else str(value)
    return str(value)


def _otlp_spans(document: dict[str, Any]) -> Iterator[Span]:
    for resource_spans in _list(document.get("resourceSpans")):
        resource_spans = _dict(resource_spans)
        for scope_spans in _list(
            resource_spans.get("scopeSpans") or resource_spans.get("instrumentationLibrarySpans")
        ):
            for raw in _list(_dict(scope_spans).get("spans")):
                if not isinstance(raw, dict):
                    continue
                attributes = _otlp_attributes(raw.get("attributes"))
                status = _dict(raw.get("status"))
                failed = status.get("code") in (2, "STATUS_CODE_ERROR") or "error.type" in attributes
                yield Span(
                    _id(raw.get("traceId"), 32),
                    _id(raw.get("spanId")),
                    _id(raw.get("parentSpanId")),
                    str(raw.get("name") or ""),
                    parse_time(as_int(raw.get("startTimeUnixNano"))),
                    parse_time(as_int(raw.get("endTimeUnixNano"))),
                    attributes,
                    str(status.get("message") or attributes.get("error.type") or "error") if failed else None,
                )


def _sdk_span(raw: dict[str, Any]) -> Span:
    context, parent = _dict(raw.get("context")), _dict(raw.get("parent"))
    attributes = _dict(raw.get("attributes"))
    status = _dict(raw.get("status"))
    failed = str(status.get("status_code", "")).lower() == "error" or "error.type" in attributes
    return Span(
        _id(context.get("trace_id"), 32),
        _id(context.get("span_id")),
        _id(parent.get("span_id")),
        str(raw.get("name") or ""),
        parse_time(raw.get("start_time")),
        parse_time(raw.get("end_time")),
        attributes,
        str(status.get("description") or attributes.get("error.type") or "error") if failed else None,
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
