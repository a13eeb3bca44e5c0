"""Claude access for rubric grading, the Claude dreamer and the Claude agent backend."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import SecretStr

from pipeline.llm.client import LLMSettings


class LLMResource(ConfigurableResource):
    """Settings come from the environment (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`); with no key, the
    offline parts are used and rubric criteria are recorded as not graded."""

    model: str | None = None  # None: REVERIE_CLAUDE_MODEL or the client default
    api_key: str | None = None
    base_url: str | None = None
    max_tokens: int = 1024

    def settings(self) -> LLMSettings:
        base = LLMSettings.from_env()
        return base.model_copy(
            update={
                "model": self.model or base.model,
                "api_key": SecretStr(self.api_key) if self.api_key else base.api_key,
                "base_url": self.base_url or base.base_url,
                "max_tokens": self.max_tokens,
            }
        )
