"""Claude access for Reverie: settings and client construction (`client`), and a local API stub (`stub`)."""

from pipeline.llm.client import (
    LLMBatchTimeoutError,
    LLMError,
    LLMSettings,
    LLMUnavailableError,
    make_client,
    text_of,
    tool_uses,
    wait_for_batch,
)

__all__ = [
    "LLMBatchTimeoutError",
    "LLMError",
    "LLMSettings",
    "LLMUnavailableError",
    "make_client",
    "text_of",
    "tool_uses",
    "wait_for_batch",
]
