"""Claude access for Reverie: settings and client construction (`client`). The local Messages API stub that
tests and benchmarks run Claude-backed code against lives outside the engine, in `tests/support/messages_stub.py`."""

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
