"""Dreaming a window with nothing scored in it is a quiet no-op, not a crash."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipeline.dreaming import dream
from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest
from pipeline.playbooks.store import PlaybookStore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_a_window_of_unscored_sessions_writes_an_empty_candidate_that_says_why(home: ReverieHome) -> None:
    ingest(home, [FIXTURES / "native"], workers=1)  # sessions in the lake, but never scored
    result = dream(home, date(2026, 3, 3))
    assert result.stats.sessions_reviewed == 0
    assert result.playbook.entries == [] and result.ops == []
    assert "No scored session" in result.playbook.notes[0]
    assert PlaybookStore(home).versions() == ["pb-2026-03-03"]


def test_a_window_with_no_partitions_at_all_dreams_without_error(home: ReverieHome) -> None:
    result = dream(home, date(2025, 1, 1))
    assert result.stats.sessions_reviewed == 0 and result.playbook.entries == []
