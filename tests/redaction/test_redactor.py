"""The redactor on its own: every secret kind leaves a typed marker, and ordinary text is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from planted import CANARY, KINDS, PLANTED, SENTENCES

from pipeline.redaction import Redactor, marker

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize("label", PLANTED)
def test_each_kind_is_replaced_by_its_typed_marker_and_the_sentence_survives(label: str) -> None:
    secret, template = PLANTED[label]
    result = Redactor().redact(f"{CANARY}. {SENTENCES[label]}")
    assert secret not in result.text
    assert result.counts == {KINDS[label]: 1}
    assert result.text == f"{CANARY}. {template.format(marker(KINDS[label]))}"


def test_redaction_is_idempotent_so_markers_are_never_counted_twice() -> None:
    text = "\n".join(SENTENCES.values())
    once = Redactor().redact(text)
    twice = Redactor().redact(once.text)
    assert twice.text == once.text and twice.n == 0 and once.n == len(PLANTED)


def test_structured_values_are_judged_by_their_key_names() -> None:
    value = {
        "db": {"password": "hunter22x", "max_tokens": 1024, "token_count": "12345678901234567890"},
        "env": ["AWS=AKIAZ7QW3ER5TY2UI4OP"],
        "api_key": "q7Wz3Lx9Vb2Nm5Kc8Pd1Hf4Gj6",
    }
    redacted, counts = Redactor().redact_json(value)
    assert redacted == {
        "db": {"password": marker("password"), "max_tokens": 1024, "token_count": "12345678901234567890"},
        "env": [f"AWS={marker('aws_access_key')}"],
        "api_key": marker("secret_assignment"),
    }
    assert counts == {"password": 1, "aws_access_key": 1, "secret_assignment": 1}


@pytest.mark.parametrize(
    "text",
    [
        "commit 5392ce71154897a21148dd2e33147569343af651 on main",  # git SHA
        "session 019e1625-789d-76c0-80ab-3724b5ddb799 resumed",  # uuid
        '{"max_tokens": 1024, "input_tokens": 760, "tokenizer": "cl100k_base"}',
        "password: ${DB_PASSWORD} and api_key=<your-key-here> and token=null",  # placeholders
        "the keyboard token list was empty; the secret is patience",
        "see https://docs.example.com:8443/path?user=me for details",
        "sk-learn is not a key, nor is AKIA on its own",
    ],
)
def test_ordinary_text_is_not_redacted(text: str) -> None:
    assert Redactor().redact(text).text == text


def test_real_fixture_files_produce_no_redactions() -> None:
    """The real recordings hold uuids, SHAs, encrypted reasoning and signatures: none of them is a secret."""
    folders = ("anthropic-messages", "codex", "openai-agents", "otel-genai", "claude-code")
    files = sorted(p for folder in folders for p in (FIXTURES / folder).rglob("*.json*"))
    assert len(files) >= 20
    redactor = Redactor()
    hits = {
        str(p.relative_to(FIXTURES)): redactor.redact(p.read_text(errors="replace")).counts for p in files
    }
    assert {name: counts for name, counts in hits.items() if counts} == {}


def test_redact_all_gives_the_same_texts_and_counts_as_redact_one_by_one() -> None:
    ordinary = [f"step {i}: the lander drifted {i % 7} metres east of the pad" for i in range(300)]
    texts: list[str | None] = [*ordinary[:100], *SENTENCES.values(), None, "", "pwd", *ordinary[100:]]
    texts.insert(250, "\n".join(SENTENCES.values()))
    redactor = Redactor()
    redacted, found = redactor.redact_all(texts)
    one_by_one = [redactor.redact(t) if t else None for t in texts]
    assert redacted == [r.text if r else t for r, t in zip(one_by_one, texts, strict=True)]
    assert found == [r.n if r else 0 for r in one_by_one]
    assert sum(found) == 2 * len(PLANTED)
    # texts without secrets come back as the very same objects, not copies
    assert all(a is b for a, b in zip(redacted[:100], texts[:100], strict=True))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("API_\u212aEY=q7Wz3Lx9Vb2Nm5Kc8Pd1Hf4Gj6", "secret_assignment"),  # Kelvin sign for K
        ("pa\u017f\u017fword: correct-horse-battery", "password"),  # long s
    ],
)
def test_look_alike_letters_in_a_secret_name_do_not_hide_the_secret(text: str, kind: str) -> None:
    assert Redactor().redact(text).counts == {kind: 1}
