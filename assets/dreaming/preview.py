"""The playbook's preview on its materialization: every entry, or a count of what is left out and where.

PLAYBOOK.md escapes what sessions wrote with Markdown backslashes (`pipeline.playbooks.safe_text`); the UI's
Markdown view drops a backslash-escaped `\\<date\\>` as if it were an HTML tag, so `<` and `>` outside code
spans become HTML entities here, which every Markdown renderer shows as text.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.playbooks.model import Playbook
from pipeline.playbooks.render import render_markdown

PREVIEW_LIMIT = 60_000
"""Characters of PLAYBOOK.md shown; a playbook of a few hundred entries fits whole."""
_ENTRY = "- **"


def _as_entities(markdown: str) -> str:
    return markdown.replace("\\<", "&lt;").replace("\\>", "&gt;")


def playbook_preview(book: Playbook, folder: Path, limit: int = PREVIEW_LIMIT) -> str:
    text = render_markdown(book)
    if len(text) <= limit:
        return _as_entities(text)
    lines = text.splitlines()
    total = sum(line.startswith(_ENTRY) for line in lines)
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        if line.startswith(_ENTRY) and size + sum(len(x) + 1 for x in _entry_block(lines, index)) > limit:
            break
        kept.append(line)
        size += len(line) + 1
    shown = sum(line.startswith(_ENTRY) for line in kept)
    note = f"_{shown} of {total} entries shown; the whole playbook is `{folder / 'PLAYBOOK.md'}`._"
    return _as_entities("\n".join([*kept, "", note])) + "\n"


def _entry_block(lines: list[str], start: int) -> list[str]:
    """An entry's line and its indented detail lines: a cut never splits an entry."""
    end = start + 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    return lines[start:end]
