from datetime import UTC, datetime

from pipeline.dreaming.curation import DeltaOp, apply_ops, conditions_overlap
from pipeline.playbooks.model import Condition, Entry, EntryStatus, Playbook, Section


def _entry(entry_id: str, evidence: list[str], helpful: int = 0) -> Entry:
    return Entry(
        id=entry_id,
        agent="main",
        section=Section.MISTAKES,
        text=entry_id,
        support=len(evidence),
        evidence=evidence,
        helpful=helpful,
        created_in="pb-2026-11-01",
        updated_in="pb-2026-11-01",
    )


def _playbook(version: str, entries: list[Entry]) -> Playbook:
    return Playbook(version=version, created_at=datetime(2026, 11, 2, tzinfo=UTC), entries=entries)


def test_merge_folds_evidence_and_counters_and_keeps_the_merged_entry_retired():
    previous = _playbook(
        "pb-2026-11-01", [_entry("a", ["s1", "s2", "s3"], 4), _entry("b", ["s3", "s4", "s5"], 2)]
    )
    merged = apply_ops(
        previous, [DeltaOp(op="merge", entry_id="b", into="a")], _playbook("pb-2026-11-02", [])
    )
    by_id = {e.id: e for e in merged.entries}
    assert by_id["a"].evidence == ["s1", "s2", "s3", "s4", "s5"] and by_id["a"].helpful == 6
    assert by_id["b"].status == EntryStatus.RETIRED and by_id["b"].retired_reason == "merged into a"
    assert previous.entries[0].helpful == 4  # the previous version is never modified


def test_retire_keeps_the_entry_with_its_reason_and_untouched_entries_carry_over():
    previous = _playbook("pb-2026-11-01", [_entry("a", ["s1", "s2", "s3"]), _entry("c", ["s7", "s8", "s9"])])
    ops = [DeltaOp(op="retire", entry_id="a", reason="contradicted: in range 1/10 vs 8/10")]
    result = apply_ops(previous, ops, _playbook("pb-2026-11-02", []))
    by_id = {e.id: e for e in result.entries}
    assert by_id["a"].status == EntryStatus.RETIRED and by_id["a"].updated_in == "pb-2026-11-02"
    assert by_id["c"] == previous.entries[1]


def test_condition_overlap_distinguishes_cells_and_feature_sets():
    low = [Condition(feature="wind", max=10.0)]
    high = [Condition(feature="wind", min=10.0)]
    assert conditions_overlap(low, high) == 0.0
    assert conditions_overlap(low, [Condition(feature="wind", max=12.0)]) == 1.0
    assert conditions_overlap(low, [Condition(feature="gravity", max=10.0)]) == 0.0
