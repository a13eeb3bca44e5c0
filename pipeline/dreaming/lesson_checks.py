"""Checks on what a model proposes, before an operation can touch a playbook.

The Claude dreamer reads session text (fenced as data, but a model may still follow it), so everything it
returns is treated as untrusted too: the lesson text must be a short plain sentence (no markup, no line
breaks, nothing the safety screen flags), the role must be one the window or the playbook knows, and every
value in its rule must already be in the inert form the statistical dreamer uses. Each check returns the
reason an operation is dropped, or None.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from pipeline.dreaming.safety import describe, hazard_of
from pipeline.dreaming.window import DreamWindow
from pipeline.playbooks.model import Playbook, Rule
from pipeline.playbooks.safe_text import clean_value, one_line

MAX_TEXT_CHARS = 400
# Markup a plain lesson never needs: HTML, Markdown links/images/headings/fences, URLs, our own labels.
_MARKUP = re.compile(
    r"[<>\u2039\u203a]|\]\s*\(|!\[|^\s*#|```|\[(?:approved|candidate|retired|rejected)\]"
    r"|(?:[A-Za-z][A-Za-z0-9+.-]{1,15}://|www\.)\S",
    re.IGNORECASE,
)
_CONTROL = re.compile(
    r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)


def check_text(raw: Any) -> tuple[str, str | None]:
    """(the lesson text as stored, None) or ("", reason): one line, bounded, plain, screened."""
    if not isinstance(raw, str):
        return "", f"text is not a string ({type(raw).__name__})"
    if _CONTROL.search(raw):
        return "", "text holds line breaks or control characters"
    text = one_line(raw)
    if not text:
        return "", "empty text"
    if len(text) > MAX_TEXT_CHARS:
        return "", f"text longer than {MAX_TEXT_CHARS} characters"
    if _MARKUP.search(text):
        return "", "text holds markup (HTML, links, URLs, headings or status labels)"
    if (hazard := hazard_of(text)) is not None:
        return "", describe(hazard)
    return text, None


def known_agents(window: DreamWindow, previous: Playbook | None) -> set[str]:
    """Roles an entry may address: everyone, the window's deciding agents and the playbook's roles."""
    agents = {"*"}
    if "agent" in window.decisions.columns:
        agents |= {a for a in window.decisions["agent"].unique().to_list() if a}
    agents |= {e.agent for e in (previous.entries if previous else [])}
    return agents


def check_agent(raw: Any, known: set[str]) -> str | None:
    if not isinstance(raw, str) or raw not in known:
        return f"unknown agent {clean_value(raw, 40)!r} (known: {', '.join(sorted(known)[:10])})"
    return None


def check_rule(rule: Rule | None, window: DreamWindow) -> str | None:
    """Every session-named value in the rule is in inert form, and what it recommends passes the screen."""
    if rule is None:
        return None
    values = [*(rule.sequence or []), rule.error_signature, rule.parameter]
    values += [c.feature for c in rule.conditions]
    if rule.recommend is not None and isinstance(rule.recommend.value, str):
        values.append(rule.recommend.value)
    for value in values:
        if value is not None and clean_value(value, 120) != value:
            return f"rule value {clean_value(value, 40)!r} is not plain (markup, line breaks or too long)"
    if (
        rule.parameter is not None
        and "parameter" in window.decisions.columns
        and window.decisions.filter(pl.col("parameter") == rule.parameter).is_empty()
    ):
        return f"rule names a parameter no session in the window set: {rule.parameter!r}"
    if rule.kind != "avoid_sequence" and (hazard := hazard_of(rule.model_dump_json(exclude_none=True))):
        return describe(hazard)
    return None


def check_evidence(raw: Any) -> tuple[list[str], str | None]:
    """Cited session ids as a list of strings, or the reason the citation list is malformed."""
    if raw is None:
        return [], None
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        return [], "evidence is not a list of session ids"
    return list(raw), None
