"""The multi-pattern screen of joined batches (`Redactor._screen_in_one_pass`) lets through exactly the
detectors the separate scans (`Redactor._screen`) let through, on planted secrets, real fixture text and
the non-ASCII letters that case-insensitive matching equates with ASCII ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from planted import PLANTED, SENTENCES

from pipeline import redaction
from pipeline.redaction import DETECTORS, Redactor
from pipeline.redaction_detectors import REGEX_ANCHOR_LITERALS, regex_anchor_literals

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LOOK_ALIKES = ["ſecret=abc123456", "\u212aey=q7Wz3Lx9Vb2Nm5Kc", "İ token", "passwoRD: x", "BEARER ı", "tοken"]


def _texts() -> list[str]:
    texts = list(SENTENCES.values()) + [secret for secret, _ in PLANTED.values()] + LOOK_ALIKES
    for path in sorted(FIXTURES.rglob("*.json*")):
        if "ingest-parity" not in path.parts:
            texts += path.read_text(errors="replace").splitlines()[:300]
    return [text for text in texts if text]


def _regex_anchors() -> list[re.Pattern[str]]:
    return [a for d in DETECTORS for a in d.anchors if isinstance(a, re.Pattern)]


def test_every_regex_anchor_has_its_required_literals_listed() -> None:
    for anchor in _regex_anchors():
        assert anchor.pattern in REGEX_ANCHOR_LITERALS, anchor.pattern


def test_every_match_of_a_regex_anchor_holds_one_of_its_literals() -> None:
    samples = "\n".join(_texts()) + " A3TX ABIAZ ghr_ glpat- gldt- xoxb- xoxe. xapp- "
    matched = 0
    for anchor in _regex_anchors():
        for match in anchor.finditer(samples):
            assert any(word in match.group() for word in regex_anchor_literals(anchor.pattern))
            matched += 1
    assert matched > 5


def test_leading_literals_are_derived_for_an_unlisted_regex() -> None:
    assert regex_anchor_literals("sk_[a-z]+") == ("sk_",)
    assert regex_anchor_literals("abc?d") == ("ab",)
    assert regex_anchor_literals("(?:a|b)c") == ()


@pytest.mark.parametrize("joined", [False, True])
def test_one_pass_screen_equals_the_separate_scans(joined: bool) -> None:
    redactor = Redactor()
    texts = _texts()
    if joined:
        texts = [redaction._BATCH_SEPARATOR.join(texts[i : i + 50]) for i in range(0, len(texts), 50)]
    hits = 0
    for text in texts:
        expected = redactor._screen(text, redactor._plan)
        assert redactor._screen_in_one_pass(text) == expected, text[:200]
        hits += expected[0] != 0
    assert hits > 10


def test_a_failing_one_pass_screen_falls_back_to_the_scans(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def broken(self: Redactor, text: str) -> None:
        calls.append(len(text))
        raise RuntimeError("matcher unavailable")

    monkeypatch.setattr(Redactor, "_screen_in_one_pass", broken)
    sentences = [f"note {i}: {sentence}" for i, sentence in enumerate(SENTENCES.values())]
    texts: list[str | None] = sentences * 2000  # joined, long enough for the one-pass screen
    redacted, found = Redactor().redact_all(texts)
    assert calls, "the one-pass screen was not tried"
    assert all(n >= 1 for n in found)
    assert not any(secret in text for text in redacted for secret, _ in PLANTED.values() if text)
