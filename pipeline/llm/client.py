"""Settings and construction of the one Anthropic client every Claude-backed step uses.

Why one place: the key, endpoint, model, timeout and retry budget must be chosen the same way by the
dreaming job, the mission agents and the tests (which point `base_url` at the local `MessagesStub`), and a
missing key must fail with one clear message instead of deep inside the SDK.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from pydantic import AliasChoices, BaseModel, Field, SecretStr

from pipeline.lazy import deferred_module

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import Message, ToolUseBlock
else:  # the SDK takes seconds to import: load it when a client is built, not when settings are read
    anthropic = deferred_module("anthropic")

DEFAULT_MODEL = "claude-sonnet-4-5"


class LLMUnavailableError(RuntimeError):
    """Raised when a Claude-backed step runs without an API key; the message says how to provide one."""


class LLMSettings(BaseModel):
    """Everything needed to reach the Messages API; `from_env()` is how deployed code builds it."""

    model: str = DEFAULT_MODEL
    api_key: SecretStr | None = None
    base_url: str | None = None
    max_tokens: int = Field(default=1024, ge=1)
    timeout_s: float = Field(default=60.0, gt=0, validation_alias=AliasChoices("timeout_s", "timeout"))
    max_retries: int = Field(default=2, ge=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LLMSettings:
        """Read ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL and REVERIE_CLAUDE_MODEL (empty values count as unset)."""
        env = os.environ if environ is None else environ
        api_key = env.get("ANTHROPIC_API_KEY") or None
        return cls(
            model=env.get("REVERIE_CLAUDE_MODEL") or DEFAULT_MODEL,
            api_key=SecretStr(api_key) if api_key else None,
            base_url=env.get("ANTHROPIC_BASE_URL") or None,
        )

    @property
    def available(self) -> bool:
        """True when a key is set, so callers can skip Claude-backed work cleanly instead of failing."""
        return self.api_key is not None and bool(self.api_key.get_secret_value())


def make_client(settings: LLMSettings) -> anthropic.Anthropic:
    """A synchronous client honouring the settings' endpoint, timeout and retry budget."""
    if not settings.available:
        raise LLMUnavailableError(
            "No Anthropic API key: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for a local endpoint)."
        )
    assert settings.api_key is not None  # narrowed by `available`
    return anthropic.Anthropic(
        api_key=settings.api_key.get_secret_value(),
        base_url=settings.base_url,
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
    )


def text_of(message: Message) -> str:
    """The message's text blocks joined in order, so callers parsing a reply need not walk content blocks."""
    return "".join(block.text for block in message.content if block.type == "text")


def tool_uses(message: Message) -> list[ToolUseBlock]:
    """The tool calls in a message, in order; empty when the model answered in prose."""
    # Matched on `type`, not class, so streamed (parsed) and beta messages qualify too.
    return [cast("ToolUseBlock", block) for block in message.content if block.type == "tool_use"]
