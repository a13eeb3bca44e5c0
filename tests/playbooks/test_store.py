from datetime import UTC, date, datetime, time

import pytest

from pipeline.home import ReverieHome
from pipeline.lake import connect
from pipeline.playbooks.model import (
    Condition,
    Effect,
    Entry,
    EntryStatus,
    Playbook,
    Recommendation,
    Rule,
    Section,
    SourceSpread,
)
from pipeline.playbooks.store import PlaybookError, PlaybookStore, version_for


@pytest.fixture
def store(tmp_path) -> PlaybookStore:
    return PlaybookStore(ReverieHome.at(tmp_path / "home").ensure())


SPREAD = [
    SourceSpread(axis="days", distinct=2, in_window=3),
    SourceSpread(axis="source_files", distinct=5, in_window=9),
    SourceSpread(axis="projects", distinct=0, in_window=0),
    SourceSpread(axis="users", distinct=0, in_window=0),
]


def _entry(entry_id: str, support: int = 5, low: float = 0.4, high: float = 0.6, **extra) -> Entry:
    fields = dict(
        id=entry_id,
        agent="guidance",
        section=Section.RULES,
        text=f"Set gain between {low} and {high}.",
        rule=Rule(
            parameter="guidance.gain",
            conditions=[Condition(feature="wind_power", min=10.0)],
            recommend=Recommendation(min=low, max=high),
        ),
        support=support,
        evidence=[f"s{i}" for i in range(support)],
        effect=Effect(
            rate_with=0.8, rate_without=0.4, n_with=support, n_without=20, diff=0.4, ci_low=0.1, ci_high=0.6
        ),
        created_in="pb-2026-11-01",
        updated_in="pb-2026-11-01",
        provenance=SPREAD,
    )
    return Entry(**{**fields, **extra})


def _playbook(day: date, entries: list[Entry], parent: str | None = None) -> Playbook:
    return Playbook(
        version=version_for(day),
        parent=parent,
        partition=day.isoformat(),
        entries=entries,
        created_at=datetime.combine(day, time.max, tzinfo=UTC),
    )


def test_versions_are_immutable_and_identical_rewrites_are_no_ops(store):
    playbook = _playbook(date(2026, 11, 1), [_entry("a")])
    path = store.write(playbook)
    before = (path / "playbook.json").read_bytes()
    assert store.write(playbook) == path and (path / "playbook.json").read_bytes() == before
    assert (path / "PLAYBOOK.md").read_text().startswith("# Playbook pb-2026-11-01")
    changed = playbook.model_copy(update={"entries": [_entry("a", high=0.7)]})
    with pytest.raises(PlaybookError, match="immutable"):
        store.write(changed)
    assert store.versions() == ["pb-2026-11-01"]


def test_entries_with_thin_support_can_never_be_approved(store):
    store.write(_playbook(date(2026, 11, 1), [_entry("solid"), _entry("lucky", support=1)]))
    with pytest.raises(PlaybookError, match="fewer than 3"):
        store.approve("pb-2026-11-01", ["lucky"])
    assert store.approve("pb-2026-11-01") == ["solid"]  # approving a version skips thin entries
    statuses = {e.id: e.status for e in store.load("pb-2026-11-01").entries}
    assert statuses == {"solid": EntryStatus.APPROVED, "lucky": EntryStatus.CANDIDATE}


def test_in_force_is_the_latest_approved_version_created_before_the_day(store):
    store.write(_playbook(date(2026, 11, 1), [_entry("a")]))
    store.write(_playbook(date(2026, 11, 2), [_entry("a"), _entry("b")], parent="pb-2026-11-01"))
    assert store.in_force(date(2026, 11, 3)) is None  # nothing approved yet
    store.approve("pb-2026-11-01")
    assert store.in_force(date(2026, 11, 1)) is None  # created on that day, not before it
    assert store.in_force(date(2026, 11, 3)).version == "pb-2026-11-01"
    store.approve("pb-2026-11-02", ["b"])
    in_force = store.in_force(date(2026, 11, 3))
    assert in_force.version == "pb-2026-11-02"
    assert [e.id for e in in_force.active_entries()] == ["b"]  # approving some entries approves only those


def test_reject_and_rollback_move_pointers_and_are_logged(store):
    store.write(_playbook(date(2026, 11, 1), [_entry("a")]))
    store.write(_playbook(date(2026, 11, 2), [_entry("b")]))
    store.approve("pb-2026-11-01", by="ana")
    store.approve("pb-2026-11-02", by="ana")
    store.rollback("pb-2026-11-01", by="bo", reason="landing rate dropped")
    assert store.in_force(date(2026, 11, 5)).version == "pb-2026-11-01"
    store.reject("pb-2026-11-01", "a", by="bo")
    assert store.in_force(date(2026, 11, 5)) is None
    actions = [(d["action"], d["version"], d["by"]) for d in store.decisions()]
    assert actions == [
        ("approve", "pb-2026-11-01", "ana"),
        ("approve", "pb-2026-11-02", "ana"),
        ("rollback", "pb-2026-11-01", "bo"),
        ("reject", "pb-2026-11-01", "bo"),
    ]
    assert store.versions() == ["pb-2026-11-01", "pb-2026-11-02"]  # nothing deleted
    with pytest.raises(PlaybookError, match="approve it instead"):
        store.rollback("pb-2026-11-02")


def test_diff_reports_added_and_changed_entries(store):
    store.write(_playbook(date(2026, 11, 1), [_entry("a"), _entry("b")]))
    retired = _entry("b", status=EntryStatus.RETIRED, retired_reason="contradicted")
    store.write(_playbook(date(2026, 11, 2), [_entry("a", high=0.55), retired, _entry("c")]))
    diff = store.diff("pb-2026-11-01", "pb-2026-11-02")
    assert [e.id for e in diff.added] == ["c"] and diff.removed == []
    changed = {old.id: fields for old, _, fields in diff.changed}
    assert "rule" in changed["a"] and "text" in changed["a"]
    assert set(changed["b"]) == {"retired_reason", "status"}


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("memory", "memories/reverie_guidance_rules.md"),
        ("skill", "reverie-playbook/SKILL.md"),
        ("prompt", "playbook_prompt.md"),
    ],
)
def test_exports_carry_only_approved_entries(store, tmp_path, kind, expected):
    store.write(_playbook(date(2026, 11, 1), [_entry("approved1"), _entry("pending", low=0.1)]))
    store.approve("pb-2026-11-01", ["approved1"])
    store.export("pb-2026-11-01", kind, tmp_path / "out")
    text = (tmp_path / "out" / expected).read_text()
    assert "approved1" in text and "pending" not in text
    if kind == "skill":
        assert text.startswith("---\nname: reverie-playbook\ndescription: ")


def test_entries_table_reflects_review_status_in_sql(store):
    store.write(_playbook(date(2026, 11, 1), [_entry("a"), _entry("b")]))
    store.approve("pb-2026-11-01", ["a"])
    store.write_entries_table("pb-2026-11-01")
    rows = (
        connect(store.home)
        .execute("SELECT entry_id, status, support, evidence[1] FROM playbook_entries ORDER BY entry_id")
        .fetchall()
    )
    assert rows == [("a", "approved", 5, "s0"), ("b", "candidate", 5, "s0")]


def test_a_lesson_scoped_to_one_project_may_come_from_that_project_alone(store):
    """It is exported only to its project; an anywhere lesson from one project of several stays refused."""
    one_project = [*SPREAD[:2], SourceSpread(axis="projects", distinct=1, in_window=8), SPREAD[3]]
    lesson = Rule(kind="precondition", action="pytest", prerequisite="pip install -e .")
    scoped = _entry(
        "scoped",
        rule=lesson.model_copy(update={"conditions": [Condition(feature="project", in_set=["acme-api"])]}),
        provenance=one_project,
    )
    anywhere = _entry("anywhere", rule=lesson, provenance=one_project)
    assert store.approval_problem(scoped) is None
    assert "one project" in (store.approval_problem(anywhere) or "")
