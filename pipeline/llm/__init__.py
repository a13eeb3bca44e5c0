"""Claude access for Reverie: settings and client construction (`client`), and a local API stub (`stub`)."""

from pipeline.llm.client import LLMSettings, LLMUnavailableError, make_client, text_of, tool_uses

__all__ = ["LLMSettings", "LLMUnavailableError", "make_client", "text_of", "tool_uses"]
