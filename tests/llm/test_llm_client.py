"""LLMSettings and make_client: how deployed steps decide whether and where to reach Claude."""

from __future__ import annotations

import pytest

from pipeline.llm import LLMSettings, LLMUnavailableError, make_client
from pipeline.llm.client import DEFAULT_MODEL


def test_from_env_reads_key_endpoint_and_model() -> None:
    settings = LLMSettings.from_env(
        {
            "ANTHROPIC_API_KEY": "sk-test",
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
            "REVERIE_CLAUDE_MODEL": "claude-haiku-4-5",
        }
    )
    assert settings.available
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "sk-test"
    assert settings.base_url == "http://127.0.0.1:9"
    assert settings.model == "claude-haiku-4-5"


def test_from_env_without_variables_is_unavailable_with_defaults() -> None:
    settings = LLMSettings.from_env({"ANTHROPIC_API_KEY": ""})
    assert not settings.available
    assert settings.model == DEFAULT_MODEL and settings.base_url is None


def test_key_never_appears_in_the_settings_repr() -> None:
    assert "sk-secret" not in repr(LLMSettings(api_key="sk-secret"))


def test_make_client_without_key_says_how_to_fix_it() -> None:
    with pytest.raises(LLMUnavailableError, match="ANTHROPIC_API_KEY"):
        make_client(LLMSettings())


def test_make_client_applies_endpoint_timeout_and_retries() -> None:
    client = make_client(
        LLMSettings(api_key="test", base_url="http://127.0.0.1:9", timeout_s=5.0, max_retries=4)
    )
    assert str(client.base_url).startswith("http://127.0.0.1:9")
    assert client.timeout == 5.0
    assert client.max_retries == 4


def test_timeout_accepts_its_short_name() -> None:
    assert LLMSettings(timeout=7).timeout_s == 7.0
