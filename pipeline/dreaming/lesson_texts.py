"""How a coding lesson reads: an instruction first, its scope, then the evidence, from templates.

The only session-controlled pieces are actions, error signatures and project names, each redacted, stripped
to one line and quoted as code by `code_literal`, so an entry text never carries markup from a session.
"""

from __future__ import annotations

import re

from pipeline.dreaming.coding_lessons import Counts, intent_of, rule_scope
from pipeline.playbooks.model import Rule
from pipeline.redaction import Redactor

LITERAL_CHARS = 80
_CONTROL = re.compile(r"[\x00-\x1f\x7f`]+")


def code_literal(value: str | None, redactor: Redactor | None = None) -> str:
    """Session text as an inline-code literal: redacted, one line, no backticks, bounded; never markup."""
    text = (redactor or Redactor()).redact(value or "").text
    text = re.sub(r"\s+", " ", _CONTROL.sub(" ", text)).strip()
    if len(text) > LITERAL_CHARS:
        text = text[: LITERAL_CHARS - 1] + "\u2026"
    return f"`{text or '?'}`"


def _where(project: str | None) -> str:
    return "Anywhere" if project is None else f"In {code_literal(project)}"


def rate(k: int, n: int) -> str:
    return f"{k}/{n} ({k / n:.0%})" if n else "0/0"


def lesson_text(rule: Rule, counts: Counts) -> str:
    """Instruction first, its scope, then the evidence."""
    where, c = _where(rule_scope(rule)), counts
    since = f"; the others most often hit {code_literal(c.common_error)}" if c.common_error else ""
    if rule.kind == "precondition":
        return (
            f"{where}: run {code_literal(rule.prerequisite)} before {code_literal(rule.action)}. "
            f"{rate(c.k_with, c.n_with)} sessions that did succeeded; {rate(c.k_without, c.n_without)} that "
            f"did not{since}."
        )
    if rule.kind == "recovery":
        usual = f" (most often {code_literal(c.common_error)})" if c.common_error else ""
        return (
            f"{where}: after the error {code_literal(rule.error_signature)}, run {code_literal(rule.action)} next. "
            f"{rate(c.k_with, c.n_with)} sessions that did succeeded; {rate(c.k_without, c.n_without)} that "
            f"did something else{usual}."
        )
    if rule.kind == "substitution":
        hit = (
            f"; sessions with {code_literal(rule.alternative)} most often hit {code_literal(c.common_error)}"
            if (c.common_error)
            else ""
        )
        verb = "edit files with" if intent_of(rule.action or "") == "edit files" else "use"
        return (
            f"{where}: {verb} {code_literal(rule.action)}, not {code_literal(rule.alternative)}. "
            f"{rate(c.k_with, c.n_with)} sessions that did succeeded; {rate(c.k_without, c.n_without)} with "
            f"{code_literal(rule.alternative)} instead{hit}."
        )
    fails = f"; its calls fail with {code_literal(c.common_error)}" if c.common_error else ""
    return (
        f"{where}: avoid {code_literal(rule.action)}. {c.n_with - c.k_with}/{c.n_with} sessions that ran it "
        f"failed, {c.n_without - c.k_without}/{c.n_without} of the others{fails}."
    )
