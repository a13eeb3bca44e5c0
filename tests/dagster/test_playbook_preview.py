"""The playbook's preview on its materialization: every entry, `<date>` as text, or an honest count."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from assets.dreaming.preview import playbook_preview
from pipeline.playbooks.model import Entry, Playbook, Section

FOLDER = Path("/home/reverie/playbooks/pb-2026-11-04")


def _playbook(n: int) -> Playbook:
    entries = [
        Entry(
            id=f"e{i:03d}",
            agent="*",
            section=Section.PROCEDURES,
            text=f"Run the tests for <date> {i} before committing",
            support=40,
            created_in="pb-2026-11-04",
            updated_in="pb-2026-11-04",
            evidence=["s1", "s2"],
        )
        for i in range(n)
    ]
    return Playbook(version="pb-2026-11-04", created_at=datetime(2026, 11, 4, tzinfo=UTC), entries=entries)


def test_every_entry_is_shown_and_angle_brackets_are_text():
    preview = playbook_preview(_playbook(12), FOLDER)
    assert all(f"e{i:03d}" in preview for i in range(12))
    assert "&lt;date&gt; 11" in preview  # an entity: no Markdown renderer reads it as a tag
    assert "<date>" not in preview and "\\<" not in preview
    assert "entries shown" not in preview


def test_a_cut_preview_says_how_many_entries_it_shows_and_where_the_file_is():
    preview = playbook_preview(_playbook(50), FOLDER, limit=3000)
    assert len(preview) < 3400
    shown = sum(f"e{i:03d}" in preview for i in range(50))
    assert 0 < shown < 50
    assert f"_{shown} of 50 entries shown; the whole playbook is `{FOLDER / 'PLAYBOOK.md'}`._" in preview
    # never half an entry: each shown entry keeps its detail lines
    assert preview.count("  - evidence:") == shown
