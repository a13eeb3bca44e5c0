"""A local HTTP server that speaks the Anthropic Messages API wire format, for tests and benchmarks.

Why a real server instead of a patched SDK object: Claude-backed code builds a real `anthropic.Anthropic`
client (via `make_client`) and the SDK's own request building, header handling, retries, SSE parsing and
response models all run unchanged. Mistakes a mock would hide (a missing `max_tokens`, tool input never
parsed, a batch read before it ended, a cache breakpoint placed after the variable part of a prompt) fail
here the way they would against the real API.

Fidelity notes (deliberate simplifications):
- tokens are estimated as ceil(len(text) / 4) per prompt segment, not with the real tokenizer;
- prompt caching has no minimum cacheable length and never expires, so short test prompts show it;
- a reply longer than the request's max_tokens is cut and reported with stop_reason "max_tokens";
- a 529 carries `retry-after-ms: 10` so retry tests stay fast;
- a batch is processed when it is created and reports `ended` from its first retrieval on.

Fault modes, for code that must survive an unlucky day: `fail_first` (529 on messages), `fail_batch_creates`
(500 on batch creation), `malformed_replies` (HTTP 200 whose body is not JSON) and `batches_never_end`. Each
is a plain attribute, so a test can heal the API between two runs.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.support.messages_wire import (
    StubAPIError,
    block_text,
    cut_to_max_tokens,
    estimate_tokens,
    new_id,
    normalized_content,
    prompt_segments,
    sse_events,
    validate_message_params,
)

Responder = Callable[[dict[str, Any]], dict[str, Any] | str]
"""Turns a Messages request body into `{"content": [blocks], "stop_reason": ...}`, a full message dict,
or a plain string (answered as one text block)."""


def default_responder(body: dict[str, Any]) -> dict[str, Any]:
    """Answers every request with a short text, for callers that only exercise the plumbing."""
    return {"content": [{"type": "text", "text": "OK"}], "stop_reason": "end_turn"}


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-request (a CLI aborting on an API outage closes its connections) is normal
    here: socketserver would print its traceback on stderr, which the CLI tests capture with the output."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class MessagesStub:
    """Anthropic Messages API on 127.0.0.1 (random port): messages (plain and streamed), count_tokens, batches.

    Use as a context manager: `with MessagesStub(responder) as stub:` then point a client at `stub.url`.
    `fail_first=N` answers the first N POST /v1/messages calls with 529 overloaded_error, to exercise the
    SDK's retries. Usage counters follow the API: `total_input_tokens` holds only uncached input tokens,
    cached prompt prefixes are counted in `total_cache_creation_tokens` / `total_cache_read_tokens`.
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        fail_first: int = 0,
        fail_batch_creates: int = 0,
        malformed_replies: int = 0,
        batches_never_end: bool = False,
    ) -> None:
        self.responder: Responder = responder or default_responder
        self.fail_first = fail_first
        self.fail_batch_creates = fail_batch_creates
        self.malformed_replies = malformed_replies
        self.batches_never_end = batches_never_end
        self.total_input_tokens = 0
        self.total_output_tokens = 0
        self.total_cache_creation_tokens = 0
        self.total_cache_read_tokens = 0
        self.n_calls = 0
        self._lock = threading.Lock()
        self._requests: list[tuple[str, dict[str, Any]]] = []
        self._failures_left = fail_first
        self._cached_prefixes: set[str] = set()
        self._batches: dict[str, dict[str, Any]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> MessagesStub:
        handler = type("BoundHandler", (_StubRequestHandler,), {"stub": self})
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="messages-stub",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> MessagesStub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL for `anthropic.Anthropic(base_url=...)`; valid while the stub runs."""
        if self._server is None:
            raise RuntimeError("MessagesStub is not running: use it as a context manager or call start()")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        """Every request received, as (path, JSON body); a snapshot so callers can iterate while it serves."""
        with self._lock:
            return list(self._requests)

    # -- request handling (called from server threads) -------------------------------------------------
    def record(self, path: str, body: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append((path, body))

    def take_injected_failure(self) -> bool:
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                return True
            return False

    def take_fault(self, counter: str) -> bool:
        """Use up one injected fault of kind `counter` (an attribute holding how many are left)."""
        with self._lock:
            left = getattr(self, counter)
            if left > 0:
                setattr(self, counter, left - 1)
                return True
            return False

    def prompt_usage(self, body: dict[str, Any], *, write_cache: bool) -> dict[str, int]:
        """Split prompt tokens into uncached / cache-written / cache-read, as the API's usage block does.

        The cache is keyed by the hash of the whole prefix up to each breakpoint (model included), so a
        prompt that varies before its breakpoint misses, exactly the mistake that wastes money in production.
        """
        segments = prompt_segments(body)
        prefix_hash = hashlib.sha256(str(body.get("model", "")).encode())
        breakpoints: list[tuple[int, str]] = []  # (tokens up to and including the breakpoint, prefix key)
        tokens_so_far = 0
        for text, is_breakpoint in segments:
            prefix_hash.update(text.encode() + b"\0")  # separator: "ab"+"c" must not equal "a"+"bc"
            tokens_so_far += estimate_tokens(text)
            if is_breakpoint:
                breakpoints.append((tokens_so_far, prefix_hash.hexdigest()))
        with self._lock:
            read_upto = max((upto for upto, key in breakpoints if key in self._cached_prefixes), default=0)
            written_upto = max((upto for upto, _ in breakpoints), default=0)
            if write_cache:
                self._cached_prefixes.update(key for _, key in breakpoints)
        cache_creation = max(written_upto - read_upto, 0)
        return {
            "input_tokens": tokens_so_far - max(written_upto, read_upto),
            "cache_creation_input_tokens": cache_creation,
            "cache_read_input_tokens": read_upto,
        }

    def create_message(self, body: dict[str, Any]) -> dict[str, Any]:
        """Run the responder for one validated request and return the full API message, counting usage."""
        reply = self.responder(body)
        if isinstance(reply, str):
            reply = {"content": [{"type": "text", "text": reply}]}
        content, cut_short = cut_to_max_tokens(normalized_content(reply), body["max_tokens"])
        has_tool_use = any(block.get("type") == "tool_use" for block in content)
        stop_reason = reply.get("stop_reason") or ("tool_use" if has_tool_use else "end_turn")
        usage = self.prompt_usage(body, write_cache=True)
        usage["output_tokens"] = sum(estimate_tokens(block_text(block)) for block in content)
        with self._lock:
            self.n_calls += 1
            self.total_input_tokens += usage["input_tokens"]
            self.total_output_tokens += usage["output_tokens"]
            self.total_cache_creation_tokens += usage["cache_creation_input_tokens"]
            self.total_cache_read_tokens += usage["cache_read_input_tokens"]
        return {
            "id": reply.get("id") or new_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": "max_tokens" if cut_short else stop_reason,
            "stop_sequence": reply.get("stop_sequence"),
            "usage": {**usage, "service_tier": "standard"},
        }

    def create_batch(self, body: Any) -> dict[str, Any]:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise StubAPIError("invalid_request_error", "requests: at least one request is required")
        custom_ids = [r.get("custom_id") if isinstance(r, dict) else None for r in requests]
        if not all(isinstance(c, str) and c for c in custom_ids):
            raise StubAPIError(
                "invalid_request_error", "requests: every request needs a custom_id and params"
            )
        if len(set(custom_ids)) != len(custom_ids):
            raise StubAPIError("invalid_request_error", "requests: custom_id values must be unique")
        results = [self._batch_result(request) for request in requests]
        now = datetime.now(UTC)
        batch = {
            "id": new_id("msgbatch"),
            "type": "message_batch",
            "processing_status": "in_progress",
            "request_counts": {
                "processing": len(requests),
                "succeeded": 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": now.isoformat(),
            "expires_at": (now + timedelta(hours=24)).isoformat(),
            "ended_at": None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": None,
        }
        with self._lock:
            self._batches[batch["id"]] = {"batch": batch, "results": results}
        return dict(batch)

    def _batch_result(self, request: dict[str, Any]) -> dict[str, Any]:
        """One results-file line; invalid params error per request, as in the real batch API."""
        params = request.get("params")
        try:
            validate_message_params(params)
            if params.get("stream"):
                raise StubAPIError("invalid_request_error", "stream: not supported in batches")
            result = {"type": "succeeded", "message": self.create_message(params)}
        except StubAPIError as error:
            result = {"type": "errored", "error": error.body(new_id("req"))}
        return {"custom_id": request["custom_id"], "result": result}

    def retrieve_batch(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            stored = self._batches.get(batch_id)
            if stored is None:
                raise StubAPIError("not_found_error", f"batch {batch_id} not found")
            batch = stored["batch"]
            if batch["processing_status"] in ("in_progress", "canceling") and not self.batches_never_end:
                kinds = [line["result"]["type"] for line in stored["results"]]
                batch["processing_status"] = "ended"
                batch["ended_at"] = datetime.now(UTC).isoformat()
                batch["results_url"] = f"{self.url}/v1/messages/batches/{batch_id}/results"
                batch["request_counts"].update(
                    processing=0, succeeded=kinds.count("succeeded"), errored=kinds.count("errored")
                )
            return json.loads(json.dumps(batch))

    def cancel_batch(self, batch_id: str) -> dict[str, Any]:
        """Cancelling is asynchronous in the API: the batch reports `canceling` until its requests stop."""
        with self._lock:
            stored = self._batches.get(batch_id)
            if stored is None:
                raise StubAPIError("not_found_error", f"batch {batch_id} not found")
            batch = stored["batch"]
            if batch["processing_status"] == "in_progress":
                batch["processing_status"] = "canceling"
                batch["cancel_initiated_at"] = datetime.now(UTC).isoformat()
            return json.loads(json.dumps(batch))

    def list_batches(self) -> dict[str, Any]:
        with self._lock:
            batches = [json.loads(json.dumps(stored["batch"])) for stored in self._batches.values()]
        batches.reverse()  # the API lists newest first
        ids = [b["id"] for b in batches]
        return {
            "data": batches,
            "has_more": False,
            "first_id": ids[0] if ids else None,
            "last_id": ids[-1] if ids else None,
        }

    def batch_results(self, batch_id: str) -> list[dict[str, Any]]:
        with self._lock:
            stored = self._batches.get(batch_id)
            if stored is None:
                raise StubAPIError("not_found_error", f"batch {batch_id} not found")
            if stored["batch"]["processing_status"] != "ended":
                raise StubAPIError("invalid_request_error", f"batch {batch_id} is still in progress")
            return list(stored["results"])


class _StubRequestHandler(BaseHTTPRequestHandler):
    """Routes HTTP requests to the owning `MessagesStub`; one instance per request, on a server thread."""

    stub: MessagesStub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by the base class
        """Silenced: test output should show the test's own failures, not an access log."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        request_id = new_id("req")
        path = urlsplit(self.path).path.rstrip("/")
        try:
            body, body_error = self._read_json() if method == "POST" else ({}, None)
            self.stub.record(path, body)
            self._check_headers()
            if body_error is not None:
                raise body_error
            self._route(method, path, body, request_id)
        except StubAPIError as error:
            self._send_json(error.status, error.body(request_id), request_id, overloaded=error.status == 529)
        except Exception as error:  # a responder bug must reach the caller as an API error, not a hang
            self._send_json(500, StubAPIError("api_error", repr(error)).body(request_id), request_id)

    def _read_json(self) -> tuple[dict[str, Any], StubAPIError | None]:
        """The body, or the 400 to send once authentication passed (the API checks the key first)."""
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except json.JSONDecodeError as error:
            return {}, StubAPIError("invalid_request_error", f"request body is not valid JSON: {error}")
        if not isinstance(body, dict):
            return {}, StubAPIError("invalid_request_error", "request body must be a JSON object")
        return body, None

    def _check_headers(self) -> None:
        bearer = (self.headers.get("authorization") or "").removeprefix("Bearer ").strip()
        if not (self.headers.get("x-api-key") or bearer):
            raise StubAPIError("authentication_error", "x-api-key header is required")
        if not self.headers.get("anthropic-version"):
            raise StubAPIError("invalid_request_error", "anthropic-version: header is required")

    def _route(self, method: str, path: str, body: dict[str, Any], request_id: str) -> None:
        stub = self.stub
        parts = path.split("/")  # "", "v1", "messages", ...
        if method == "POST" and path == "/v1/messages":
            if stub.take_injected_failure():
                raise StubAPIError("overloaded_error", "Overloaded")
            validate_message_params(body)
            if not body.get("stream") and stub.take_fault("malformed_replies"):
                self._send_bytes(200, b'{"id": "msg_cut", "type": "mess', "application/json", request_id)
                return
            message = stub.create_message(body)
            if body.get("stream"):
                self._send_stream(message, request_id)
            else:
                self._send_json(200, message, request_id)
        elif method == "POST" and path == "/v1/messages/count_tokens":
            validate_message_params(body, need_max_tokens=False)
            usage = stub.prompt_usage(body, write_cache=False)
            self._send_json(200, {"input_tokens": sum(usage.values())}, request_id)
        elif method == "POST" and path == "/v1/messages/batches":
            if stub.take_fault("fail_batch_creates"):
                raise StubAPIError("api_error", "Internal server error")
            self._send_json(200, stub.create_batch(body), request_id)
        elif (
            method == "POST"
            and len(parts) == 6
            and parts[5] == "cancel"
            and path.startswith("/v1/messages/batches/")
        ):
            self._send_json(200, stub.cancel_batch(parts[4]), request_id)
        elif method == "GET" and path == "/v1/messages/batches":
            self._send_json(200, stub.list_batches(), request_id)
        elif method == "GET" and len(parts) == 5 and path.startswith("/v1/messages/batches/"):
            self._send_json(200, stub.retrieve_batch(parts[4]), request_id)
        elif (
            method == "GET"
            and len(parts) == 6
            and parts[5] == "results"
            and path.startswith("/v1/messages/batches/")
        ):
            lines = "".join(json.dumps(line) + "\n" for line in stub.batch_results(parts[4]))
            self._send_bytes(200, lines.encode(), "application/x-jsonl", request_id)
        else:
            raise StubAPIError("not_found_error", f"{method} {path} is not an endpoint of this API")

    def _send_json(
        self, status: int, payload: dict[str, Any], request_id: str, *, overloaded: bool = False
    ) -> None:
        extra = {"x-should-retry": "true", "retry-after-ms": "10"} if overloaded else {}
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", request_id, extra)

    def _send_bytes(
        self,
        status: int,
        data: bytes,
        content_type: str,
        request_id: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", request_id)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(self, message: dict[str, Any], request_id: str) -> None:
        """Server-sent events; the connection closes at the end since the length is not known upfront."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.send_header("request-id", request_id)
        self.end_headers()
        for event, data in sse_events(message):
            self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()
