"""Redaction of the short fields around the text: file paths, session and event ids, agent and tool names.

Those fields come from the same untrusted sessions (a tool called `deploy --token ghp_...`, a transcript
saved as `.../sk-ant-api03-....jsonl`), and they end up in the lake, the staging manifest and the reject
table. They are also keys: a session id groups events, a path decides which staged file a changed file
supersedes. So a field that held a secret becomes its redacted text plus a short digest of the original
(`/logs/[REDACTED:github_token].jsonl#9c1f...`): the secret is gone, the value stays deterministic across
runs, and two fields that differed only in their secret stay two fields.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from pipeline.redaction import Redactor, marker

IDENTIFIER_FIELDS = ("session_id", "event_id", "parent_event_id", "agent", "tool", "role", "type")
"""The `EventRow` fields besides `content` and `input` that hold text taken from the session."""


def redact_identifier(redactor: Redactor, value: str) -> str:
    """One identifier with its secrets replaced (and a digest of the original appended when any was)."""
    return redact_identifiers(redactor, [value])[0] or value


def redact_identifiers(redactor: Redactor, values: Sequence[str | None]) -> list[str | None]:
    """`redact_identifier` over a column: each distinct value is redacted once, in one batch."""
    return _identifiers_and_counts(redactor, values)[0]


def _identifiers_and_counts(
    redactor: Redactor, values: Sequence[str | None]
) -> tuple[list[str | None], list[int]]:
    """`redact_identifiers`, with how many secrets each value held."""
    distinct = list(dict.fromkeys(value for value in values if value))
    if not distinct:
        return list(values), [0] * len(values)
    redacted, found = _redact_all(redactor, distinct)
    replaced = {
        value: (f"{text}#{_digest(value)}", n)
        for value, text, n in zip(distinct, redacted, found, strict=True)
        if n
    }
    if not replaced:
        return list(values), [0] * len(values)
    pairs = [replaced.get(value, (value, 0)) if value else (value, 0) for value in values]
    return [text for text, _ in pairs], [n for _, n in pairs]


def redact_row_identifiers(redactor: Redactor, rows: Sequence[Any]) -> None:
    """Redact `IDENTIFIER_FIELDS` of event rows in place: the distinct values of all fields in one batch.
    Each row's `n_redactions` grows by the secrets its own identifiers held."""
    if not rows:
        return
    columns = [[getattr(row, name) for row in rows] for name in IDENTIFIER_FIELDS]
    distinct = list(dict.fromkeys(value for column in columns for value in column if value))
    texts, counts = _identifiers_and_counts(redactor, distinct)
    redacted = {value: (text, n) for value, text, n in zip(distinct, texts, counts, strict=True)}
    if not any(counts):
        return
    for name, column in zip(IDENTIFIER_FIELDS, columns, strict=True):
        for row, value in zip(rows, column, strict=True):
            if value and redacted[value][1]:
                setattr(row, name, redacted[value][0])
                row.n_redactions += redacted[value][1]


_BLOCK_WINDOW = 512
"""How far into each of two adjacent texts a secret split between them is looked for (keys are far shorter)."""


def redact_across_blocks(redactor: Redactor, rows: Sequence[Any]) -> int:
    """Redact secrets split between the contents of adjacent rows of one message; returns how many.

    Some adapters keep each content block of a message as its own event, so a key a client streamed as
    two blocks is stored as two texts, neither of which holds enough of it to be recognised. Adjacent rows
    from the same line of the same session are therefore also read as one (end of the first, a newline,
    start of the second), and a secret across that seam is replaced on both sides. Runs before each text
    is redacted on its own, which then finds the markers and leaves them be, so each seam's secret is
    counted here, once, on the row it starts in (`n_redactions`).
    """
    found = 0
    for first, second in zip(rows, rows[1:], strict=False):
        if not (first.content and second.content) or (first.session_id, first.source_line) != (
            second.session_id,
            second.source_line,
        ):
            continue
        left, right = first.content[-_BLOCK_WINDOW:], second.content[:_BLOCK_WINDOW]
        seam = redactor.secret_across(f"{left}\n{right}", len(left))
        if seam is None:
            continue
        start, end, kind = seam
        first.content = first.content[: len(first.content) - len(left) + start] + marker(kind)
        second.content = marker(kind) + second.content[max(0, end - len(left) - 1) :]
        first.n_redactions += 1
        found += 1
    return found


def _digest(value: str) -> str:
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _redact_all(redactor: Redactor, texts: list[str]) -> tuple[list[str | None], list[int]]:
    """`Redactor.redact_all`, or text by text for any other object with a `redact` method."""
    if isinstance(redactor, Redactor):
        return redactor.redact_all(list(texts))
    results = [redactor.redact(text) for text in texts]
    return [r.text for r in results], [r.n for r in results]
