"""Detector behaviour users rely on beyond one secret per sentence: secrets split over content blocks, ordinary
code and prose left alone, bounded private-key blocks, and failing closed when a detector breaks."""

from __future__ import annotations

import logging
import re

import pytest
from planted import PLANTED

from pipeline.redaction import DETECTORS, FAILED_KIND, Detector, Redactor, marker

SINGLE_LINE = [label for label, (secret, _) in PLANTED.items() if "\n" not in secret]
AFTER = "Then the agent moved on."


@pytest.mark.parametrize("separator", ["\n", "\n\n", "\r\n", "\\n"], ids=["lf", "lflf", "crlf", "json-lf"])
@pytest.mark.parametrize("label", SINGLE_LINE)
def test_a_secret_split_over_two_content_blocks_is_redacted_whole(label: str, separator: str) -> None:
    """Adapters join content blocks with a newline, so a streamed key is stored with a line break inside."""
    secret, template = PLANTED[label]
    redactor = Redactor()
    for cut in (len(secret) // 3, len(secret) // 2, 2 * len(secret) // 3):
        halves = (secret[:cut], secret[cut:])
        text = f"first block: {template.format(separator.join(halves))}\n{AFTER}"
        stored = redactor.redact(text).text
        assert not [half for half in halves if half in stored], (cut, stored)
        assert stored.endswith(f"\n{AFTER}")


# Ordinary values that look like secret assignments to a careless pattern: none may change.
ORDINARY = [
    "interface User {\n  email: string;\n  password: string;\n}",
    "type Credentials = { username: string; password: string }",
    "def login(user: str, password: str) -> Session:",
    "password: Optional[str] = None",
    'db_password = os.environ["DB_PASSWORD"]',
    "const password = process.env.ADMIN_PASSWORD;",
    "password = getpass.getpass()",
    "client.login(username=user, password=password)",
    '{"idempotency_key": "3f1c2b9e-8a7d-4e6f-9b0a-1c2d3e4f5a6b", "amount": 1200}',
    "idempotencyKey: '7c9e6679-7425-40de-944b-e07fc1f90ae7'",
    "{items.map((item) => <Row key={item.id} title={item.title} />)}",
    '<li key="row-7f3a9c2e1b4d8f6a0c5e">first</li>',
    "Enable Basic Authentication for the admin panel.",
    "The proxy supports HTTP Basic Authorization and bearer tokens.",
    "Set max_tokens=4096 and temperature=0.2 for the summary call.",
    '{"input_tokens": 1523, "cache_read_input_tokens": 20480, "output_tokens": 312}',
    'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")',
    'cache_key = f"user:{user_id}:v2"',
    "primary_key=True, sort_key='created_at'",
    "The secret to fast tests is isolating the database per worker.",
    "passwordless login uses magic links sent by email",
    "commit 5392ce71154897a21148dd2e33147569343af651 fixed the token refresh",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "postgres://localhost:5432/lake?sslmode=disable and ssh git@github.com:acme/app.git",
    "Authorization: Bearer ${API_TOKEN}",
    'curl -H "Authorization: Bearer $TOKEN" https://api.example.com',
    "TOKEN_EXPIRY_SECONDS=3600",
    "npm_config_cache=/tmp/npm-cache npm ci",
    "from huggingface_hub import hf_hub_download",
    "-----BEGIN PUBLIC KEY----- is what the verifier expects",
    "keyboard_layout = 'us-intl-2024-variant-b'",
    "the pass rate: 87% over 1200 sessions",
    "password_reset_url: https://example.com/reset",
    "Keep the API key in the vault, never in the repo.",
    "<usage>total_tokens: 56253\ntool_uses: 9\nduration_ms: 38799</usage>",
    # shapes the previous patterns redacted in the real-world fixtures (/work/shared/fixtures)
    'storePassword = System.getenv("KEYSTORE_PASSWORD")',
    "token = Base.url_encode64(:crypto.strong_rand_bytes(24), padding: false)",
    "* Proxy configuration\n  * Basic Authentication\n* Custom CA certificates",
    "All gates pass: ruff, mypy and 412 tests (zero errors with 4 warnings)",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_code_and_prose_is_left_alone(text: str) -> None:
    assert Redactor().redact(text).text == text


def test_the_corpus_of_ordinary_values_is_large_enough_to_mean_something() -> None:
    assert len(ORDINARY) >= 30


KEY_BODY = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9OiZ1BjP5CE/Wm/Rr500P\nRpn8Wd4vYc1Ug0Lq2x+J7s3o=="


@pytest.mark.parametrize("newline", ["\n", "\\n"], ids=["text", "json-escaped"])
def test_a_private_key_without_an_end_line_loses_only_its_body(newline: str) -> None:
    body = KEY_BODY.replace("\n", newline)
    text = f"-----BEGIN RSA PRIVATE KEY-----{newline}{body}{newline}That file was cut short.{newline}{AFTER}"
    result = Redactor().redact(text)
    assert result.text == f"{marker('private_key')}{newline}That file was cut short.{newline}{AFTER}"
    assert result.counts == {"private_key": 1}


def test_a_private_key_with_its_end_line_goes_whole_and_the_rest_stays() -> None:
    text = f"key:\n-----BEGIN EC PRIVATE KEY-----\n{KEY_BODY}\n-----END EC PRIVATE KEY-----\n{AFTER}"
    assert Redactor().redact(text).text == f"key:\n{marker('private_key')}\n{AFTER}"


def _raise(_: str) -> bool:
    raise RuntimeError("detector bug")


BROKEN = Detector("broken", re.compile(r"lander \w+"), anchors=("lander",), accept=_raise)


def test_a_detector_that_raises_never_lets_its_text_through(caplog: pytest.LogCaptureFixture) -> None:
    redactor = Redactor((*DETECTORS, BROKEN))
    text = "the lander drifted; AKIAZ7QW3ER5TY2UI4OP and nothing else"
    with caplog.at_level(logging.ERROR, logger="pipeline.redaction"):
        result = redactor.redact(text)
    assert result.text == marker(FAILED_KIND)
    assert result.counts == {FAILED_KIND: 1}
    assert "broken" in caplog.text and "AKIA" not in caplog.text and "lander" not in caplog.text


def test_many_texts_fail_closed_one_by_one() -> None:
    texts: list[str | None] = ["the lander drifted east", "an ordinary line", None, "lander again"]
    redacted, found = Redactor((*DETECTORS, BROKEN)).redact_all(texts)
    assert redacted == [marker(FAILED_KIND), "an ordinary line", None, marker(FAILED_KIND)]
    assert found == [1, 0, 0, 1]


@pytest.mark.parametrize(
    "label", ["github_token", "google_api_key", "stripe_key", "sendgrid_key", "jwt", "anthropic_key"]
)
def test_a_token_cut_short_at_the_end_of_a_text_is_still_redacted(label: str) -> None:
    """A torn last line, or the first of two content blocks, stores only the start of a key."""
    secret = PLANTED[label][0]
    start = secret[: len(secret) // 2]
    assert start not in Redactor().redact(f"the line was torn at {start}").text


def test_a_split_private_key_loses_its_second_half_too() -> None:
    second = "QyNTUxOQAAACDq8Jr2Xw5Lz9Nn3Vb7Mk1Pc6Hd4Fg0Js8Ay2Qe6Wu5RiAAAAJg3Tp7Yv2Ls1N"
    text = f"{second}\n-----END OPENSSH PRIVATE KEY-----\n{AFTER}"
    assert Redactor().redact(text).text == f"{marker('private_key')}\n{AFTER}"


def test_a_secret_word_anywhere_in_the_name_counts() -> None:
    text = 'config :app, Endpoint, secret_key_base: "Qm9vdHN0cmFwOnNlY3JldDpiYXNlOjQ4Y2hhcnM7"'
    assert Redactor().redact(text).counts == {"secret_assignment": 1}
