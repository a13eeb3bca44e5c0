import json
from datetime import timedelta

from pipeline.dreaming import dream
from pipeline.playbooks.model import EntryStatus
from pipeline.playbooks.store import PlaybookStore
from tests.dreaming.conftest import DAY
from tests.support.synthetic import fly_missions
from tests.support.synthetic_coding import INJECTION, write_coding_corpus


def _fly_days(home, days, per_day=300, playbook=None):
    for offset in range(days):
        fly_missions(home, DAY - timedelta(days=offset), per_day, seed=20 + offset, playbook=playbook)


def test_dreaming_the_same_window_twice_writes_identical_versions(home, tmp_path):
    _fly_days(home, 3)
    first = dream(home, DAY, write=False).playbook.model_dump_json()
    result = dream(home, DAY)
    assert result.playbook.model_dump_json() == first
    written = (result.path / "playbook.json").read_bytes()
    again = dream(home, DAY)  # a backfill over the same lake: no-op, same bytes
    assert (again.path / "playbook.json").read_bytes() == written
    assert result.playbook.version == "pb-2026-11-05"
    assert result.playbook.created_at.isoformat().startswith("2026-11-05T23:59:59")


def test_next_night_continues_entries_and_carries_citation_counters(home):
    _fly_days(home, 3)
    first = dream(home, DAY)
    store = PlaybookStore(home)
    store.approve(first.playbook.version, by="test")
    in_force = store.in_force(DAY + timedelta(days=1))
    next_day = DAY + timedelta(days=1)
    fly_missions(home, next_day, 300, seed=99, playbook=in_force)
    second = dream(home, next_day)
    assert second.playbook.parent == first.playbook.version
    first_ids = {e.id for e in first.playbook.entries}
    continued = [e for e in second.playbook.entries if e.id in first_ids]
    assert len(continued) == len(first_ids), "no entry of the parent may disappear"
    cited = [e for e in continued if e.helpful + e.harmful > 0]
    assert cited, "sessions that followed approved entries must update their counters"
    live_first = [e for e in continued if e.status != EntryStatus.RETIRED]
    assert all(e.created_in == first.playbook.version for e in continued)
    assert any(e.updated_in == second.playbook.version for e in live_first) or second.stats.retired


def test_coding_corpus_yields_mistakes_and_recoveries_without_copying_session_text(home):
    write_coding_corpus(home, DAY, 300)
    result = dream(home, DAY)
    by_kind = {e.rule.kind for e in result.playbook.entries if e.rule}
    recoveries = [e.rule for e in result.playbook.entries if e.rule and e.rule.kind == "recovery"]
    assert any(r.action == "pip_install" and "ModuleNotFoundError" in r.error_signature for r in recoveries)
    assert "avoid_sequence" not in by_kind, "tool-name sequences are never an entry"
    text = result.path.joinpath("playbook.json").read_text() + result.path.joinpath("PLAYBOOK.md").read_text()
    assert "IGNORE PREVIOUS" not in text and INJECTION not in text
    assert "'requests'" not in text  # error details are masked before they are quoted


def test_every_entry_cites_sessions_that_exist_in_the_window(home):
    write_coding_corpus(home, DAY, 200)
    _fly_days(home, 2)
    result = dream(home, DAY)
    from pipeline.lake import read_table

    known = set(read_table(home, "sessions")["session_id"].to_list())
    assert result.playbook.entries
    for entry in result.playbook.entries:
        assert entry.support >= 3 and entry.evidence and set(entry.evidence) <= known


def test_entries_table_is_queryable_in_sql(home):
    write_coding_corpus(home, DAY, 200)
    result = dream(home, DAY)
    from pipeline.lake import connect

    rows = connect(home).execute("SELECT version, count(*) FROM playbook_entries GROUP BY version").fetchall()
    assert rows == [(result.playbook.version, len(result.playbook.entries))]
    assert json.loads((result.path / "playbook.json").read_text())["version"] == result.playbook.version
