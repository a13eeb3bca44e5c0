"""The attacker of `test_poisoning.py` (Claude Code transcripts) in the six other formats: whatever adapter reads their sessions,
nothing of theirs (the forged heading and entry, HTML, the link, the token) reaches an approved entry, an
export or the prompt Claude crews read, and their planted "recovery" (a recursive delete) is never
recommended."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from pipeline import lake
from pipeline.agents.claude_agent import playbook_block
from pipeline.dreaming import dream
from pipeline.missions.lunar.team import playbook_digest
from pipeline.playbooks import agent_files
from pipeline.playbooks.model import EntryStatus
from pipeline.playbooks.render import render_markdown
from pipeline.playbooks.store import PlaybookStore
from tests.dreaming.attacker import EVIL_TOOL, FORBIDDEN, ingest_and_score, victim_sessions
from tests.dreaming.attacker_formats import WRITERS, attacker_sessions_as
from tests.dreaming.conftest import DAY

DAYS = [DAY - timedelta(days=offset) for offset in range(4)]
# Formats that name the working folder: there the attacker's two projects make their "recovery" an
# anywhere-lesson candidate, which only the safety screen stops. The others name no project, so the
# pattern never becomes a lesson at all; their sessions must still be read, and still leave no trace.
NAME_A_PROJECT = {"codex", "claude-agent-sdk", "openai-agents", "native"}


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_an_attacker_in_any_format_puts_nothing_into_approved_entries_exports_or_prompts(
    fmt: str, home, tmp_path
) -> None:
    logs = tmp_path / "logs"
    victim_sessions(logs, DAYS)
    attacker_sessions_as(fmt, logs, DAYS[1], n=10, cwd="/tmp/evil-a", prefix="evil-a")
    attacker_sessions_as(fmt, logs, DAYS[2], n=10, cwd="/tmp/evil-b", prefix="evil-b")
    ingest_and_score(home, logs)
    theirs = lake.read_table(home, "sessions").filter(pl.col("source_format") == fmt)
    assert theirs.height == 20  # every planted session was read by the format's adapter
    tools = lake.read_table(home, "events").filter(pl.col("session_id").is_in(theirs["session_id"].implode()))
    hostile = EVIL_TOOL.split("[click]")[0]  # stored as data, as written up to the redacted token
    assert any(tool.startswith(hostile) for tool in tools["tool"].drop_nulls().to_list())

    result = dream(home, DAY)
    assert result.stats.sessions_reviewed >= 20 + 96
    screened = result.stats.extra.get("screened", [])
    if fmt in NAME_A_PROJECT:
        assert any(s["kind"] == "recovery" and "recursive" in s["reason"] for s in screened), screened
    store = PlaybookStore(home)
    approved = store.approve(result.playbook.version)
    assert approved, "the ordinary lessons are approved"
    book = store.load(result.playbook.version)
    assert not [e for e in book.entries if "no-preserve-root" in e.text]

    outputs = {
        "PLAYBOOK.md": (result.path / "PLAYBOOK.md").read_text(),
        "playbook.json": (result.path / "playbook.json").read_text(),
        "preview": render_markdown(book),
        "crew digest": playbook_digest(book),
        "Claude agent system block": playbook_block(playbook_digest(book)),
        "approved entries": "\n".join(e.text for e in book.entries if e.status == EntryStatus.APPROVED),
    }
    for kind in ("memory", "skill", "prompt"):
        for path in store.export(book.version, kind, tmp_path / "out" / kind):
            outputs[f"{kind}:{path.name}"] = path.read_text()
    claude_md = agent_files.export_instructions_file(book, tmp_path / "project" / "CLAUDE.md", None)
    outputs["CLAUDE.md"] = claude_md.read_text()
    for name, text in outputs.items():
        for forbidden in FORBIDDEN:
            assert forbidden not in text, (fmt, name, forbidden)
