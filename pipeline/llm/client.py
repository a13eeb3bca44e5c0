"""Settings and construction of the one Anthropic client every Claude-backed step uses.

Why one place: the key, endpoint, model, timeout, retry budget and batch deadline must be chosen the same way
by the dreaming job, the mission agents, the rubric grader and the tests (which point `base_url` at the local
`MessagesStub`), and a missing key, a batch that never ends or a garbled reply must each fail with one clear
message instead of deep inside the SDK.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from pydantic import AliasChoices, BaseModel, Field, SecretStr

from pipeline.lazy import deferred_module

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import Message, ToolUseBlock
else:  # the SDK takes seconds to import: load it when a client is built, not when settings are read
    anthropic = deferred_module("anthropic")

DEFAULT_MODEL = "claude-sonnet-4-5"
TIMEOUT_ENV = "REVERIE_LLM_TIMEOUT_S"
BATCH_DEADLINE_ENV = "REVERIE_LLM_BATCH_DEADLINE_S"
MAX_RETRIES_ENV = "REVERIE_LLM_MAX_RETRIES"


class LLMError(RuntimeError):
    """Claude could not be used for a step; the message says what happened and what to change."""


class LLMUnavailableError(LLMError):
    """No API key, or the API cannot be reached; the message says how to fix it."""


class LLMBatchTimeoutError(LLMError):
    """A message batch did not end before the configured deadline (it is cancelled, nothing waits on)."""


class LLMSettings(BaseModel):
    """Everything needed to reach the Messages API; `from_env()` is how deployed code builds it."""

    model: str = DEFAULT_MODEL
    api_key: SecretStr | None = None
    base_url: str | None = None
    max_tokens: int = Field(default=1024, ge=1)
    timeout_s: float = Field(default=60.0, gt=0, validation_alias=AliasChoices("timeout_s", "timeout"))
    max_retries: int = Field(default=2, ge=0)
    # A batch usually ends within minutes, and may take up to 24 hours: a nightly step waits this long at most.
    batch_deadline_s: float = Field(default=1800.0, gt=0)
    batch_poll_s: float = Field(default=5.0, gt=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LLMSettings:
        """Read ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, REVERIE_CLAUDE_MODEL, REVERIE_LLM_TIMEOUT_S,
        REVERIE_LLM_BATCH_DEADLINE_S and REVERIE_LLM_MAX_RETRIES (empty values count as unset)."""
        env = os.environ if environ is None else environ
        api_key = env.get("ANTHROPIC_API_KEY") or None
        tuning: dict[str, Any] = {}
        for name, field, kind in (
            (TIMEOUT_ENV, "timeout_s", float),
            (BATCH_DEADLINE_ENV, "batch_deadline_s", float),
            (MAX_RETRIES_ENV, "max_retries", int),
        ):
            raw = (env.get(name) or "").strip()
            if not raw:
                continue
            try:
                value = kind(raw)
            except ValueError:
                value = -1
            if value < (0 if kind is int else 1e-9):
                raise LLMError(
                    f"{name} must be a {'whole' if kind is int else 'positive'} number, got {raw!r}"
                )
            tuning[field] = value
        return cls(
            model=env.get("REVERIE_CLAUDE_MODEL") or DEFAULT_MODEL,
            api_key=SecretStr(api_key) if api_key else None,
            base_url=env.get("ANTHROPIC_BASE_URL") or None,
            **tuning,
        )

    @property
    def available(self) -> bool:
        """True when a key is set, so callers can skip Claude-backed work cleanly instead of failing."""
        return self.api_key is not None and bool(self.api_key.get_secret_value())


@functools.cache
def _client_class() -> type[anthropic.Anthropic]:
    """The SDK client class with a clear error for a 200 whose body is not JSON.

    Built on first use, not at import: subclassing needs the anthropic SDK loaded (about a second), and the
    code location and the CLI import this module without ever calling Claude.
    """

    class _Anthropic(anthropic.Anthropic):
        """The SDK client, except that a 200 whose body is not JSON raises a clear API error.

        The SDK hands such a body straight to `json.loads`, so a proxy's HTML page or a truncated reply surfaced
        as a bare JSONDecodeError with no hint of which endpoint sent it.
        """

        def _process_response(self, *, response: Any, **kwargs: Any) -> Any:
            try:
                return super()._process_response(response=response, **kwargs)
            except json.JSONDecodeError as exc:
                raise anthropic.APIResponseValidationError(
                    response=response,
                    body=None,
                    message=(
                        f"malformed reply from the Messages API at {response.request.url}: HTTP {response.status_code} "
                        f"with a body that is not JSON ({exc.msg} at character {exc.pos})"
                    ),
                ) from exc

    return _Anthropic


def make_client(settings: LLMSettings) -> anthropic.Anthropic:
    """A synchronous client honouring the settings' endpoint, timeout and retry budget."""
    if not settings.available:
        raise LLMUnavailableError(
            "No Anthropic API key: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for a local endpoint)."
        )
    assert settings.api_key is not None  # narrowed by `available`
    return _client_class()(
        api_key=settings.api_key.get_secret_value(),
        base_url=settings.base_url,
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
    )


def wait_for_batch(client: anthropic.Anthropic, batch: Any, settings: LLMSettings) -> Any:
    """Poll a message batch until it ends; past `settings.batch_deadline_s`, cancel it and raise.

    Cancelling stops the API from working (and billing) on requests nobody will read; a cancel that fails
    does not hide the timeout.
    """
    deadline = time.monotonic() + settings.batch_deadline_s
    # Short batches end within seconds: poll soon, then back off to the configured interval.
    delay = min(0.5, settings.batch_poll_s)
    while batch.processing_status != "ended":
        if time.monotonic() >= deadline:
            with contextlib.suppress(anthropic.APIError):
                client.messages.batches.cancel(batch.id)
            raise LLMBatchTimeoutError(
                f"message batch {batch.id} did not end within {settings.batch_deadline_s:g} s "
                f"(set {BATCH_DEADLINE_ENV} to wait longer); it was cancelled"
            )
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, settings.batch_poll_s)
        batch = client.messages.batches.retrieve(batch.id)
    return batch


def text_of(message: Message) -> str:
    """The message's text blocks joined in order, so callers parsing a reply need not walk content blocks."""
    return "".join(block.text for block in message.content if block.type == "text")


def tool_uses(message: Message) -> list[ToolUseBlock]:
    """The tool calls in a message, in order; empty when the model answered in prose."""
    # Matched on `type`, not class, so streamed (parsed) and beta messages qualify too.
    return [cast("ToolUseBlock", block) for block in message.content if block.type == "tool_use"]
