"""Session-derived text as inert data: cleaned values for entry texts, and escaping for every rendering.

Two layers, because either alone fails. Dreamers name a tool, an error or a parameter through `clean_value` /
`quote_value`: redacted, one line, bounded, markup characters replaced and set in a code span, so an entry's
text is a template of ours plus inert values. Renderers escape whatever an entry holds with `inline_markdown`,
so a version written before this rule, a model-written text or a value that slipped through still renders as
one line of text: no heading, list item, HTML, link or image can start inside it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pipeline.redaction import Redactor

VALUE_CHARS = 80
# Line breaks, C0/C1 controls, zero-width and bidirectional overrides: anything that changes how a line
# reads or where it ends.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_SPACES = re.compile(r"\s+")
# Characters that open markup (code spans, HTML, links) or that our own keys use as separators.
_MARKUP = str.maketrans({"`": "'", "<": "\u2039", ">": "\u203a", "[": "(", "]": ")", "|": "/", "\\": "/"})
_URL = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]{1,15}://|www\.)\S+")
# Markdown punctuation escaped outside code spans: what opens HTML, links and images (`<`, `[`), emphasis and
# strike-through that could dress a line as another status (`*`, `~`), tables, entities and headings.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>#|~&])")
_redactor: Redactor | None = None


def _default_redactor() -> Redactor:
    global _redactor
    if _redactor is None:
        _redactor = Redactor()
    return _redactor


def one_line(text: str) -> str:
    """Controls and line breaks become spaces, runs of whitespace one space."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


def clean_value(value: Any, limit: int = VALUE_CHARS, redactor: Redactor | None = None) -> str:
    """A session-controlled value (tool name, error signature, parameter, agent) made inert: secrets redacted,
    one line, no markup characters, at most `limit` characters. Deterministic, so the same raw value always
    cleans to the same text and keys built from it stay stable across nights."""
    redactor = redactor or _default_redactor()
    text = one_line(redactor.redact(str(value)).text)
    text = one_line(redactor.redact(text).text)  # a secret split by a line break is whole again now
    text = text.translate(_MARKUP)
    if len(text) > limit:
        text = text[: max(1, limit - 1)].rstrip() + "\u2026"
    return text or "?"


def quote_value(value: Any, limit: int = VALUE_CHARS, redactor: Redactor | None = None) -> str:
    """`clean_value` in a code span: how an entry text names anything that came from a session."""
    return f"`{clean_value(value, limit, redactor)}`"


def _escape_plain(text: str) -> str:
    """Escape Markdown outside code spans; bare URLs go in code spans so no renderer turns them into links."""
    parts, last = [], 0
    for match in _URL.finditer(text):
        parts.append(_MD_SPECIAL.sub(r"\\\1", text[last : match.start()]))
        parts.append(f"`{match.group(0)}`")
        last = match.end()
    parts.append(_MD_SPECIAL.sub(r"\\\1", text[last:]))
    return "".join(parts)


def inline_markdown(text: str | None) -> str:
    """Any stored text as one inert Markdown line. Balanced code spans are kept (their content is literal
    in Markdown); everything outside them is escaped; an unbalanced backtick is escaped like the rest."""
    line = one_line(text or "")
    pieces = line.split("`")
    if len(pieces) % 2 == 0:  # odd number of backticks: no span is trustworthy
        return _escape_plain(line)
    out = []
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            out.append(_escape_plain(piece))
        elif piece.strip():
            out.append(f"`{piece}`")
        else:
            out.append("\\`\\`")
    return "".join(out)


def code_span(value: Any) -> str:
    """Any value as a single-line code span (backticks inside are replaced, so the span cannot end early)."""
    return f"`{one_line(str(value)).replace('`', chr(39)) or ' '}`"


def json_code(data: Any) -> str:
    """JSON in a code span: backticks and angle brackets as \\u escapes, which JSON readers decode unchanged."""
    text = json.dumps(data, sort_keys=True)
    for char, escape in (("`", "\\u0060"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escape)
    return f"`{one_line(text)}`"
