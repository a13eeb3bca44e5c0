"""The crew reads the exported instructions for its repository, follows the lessons whose scope matches,
records what it followed, and the oracle (every rule known) beats the naive prior on the same tasks."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pipeline.missions.coding import world
from pipeline.missions.coding.lessons import lessons_for, parse_instructions, render_instructions
from pipeline.missions.coding.mission import CODING
from pipeline.missions.coding.runner import TaskSpec, run_task
from pipeline.playbooks.model import Condition, Entry, EntryStatus, Playbook, Rule, Section

REPO = next(r for r in world.repositories() if r.has("editable_install"))
OTHER = next(r for r in world.repositories() if r.stack == "python" and r.name != REPO.name)


def _entry(entry_id: str, text: str, project: str | None, rule: Rule) -> Entry:
    conditions = [Condition(feature="project", in_set=[project])] if project else []
    return Entry(
        id=entry_id,
        agent="*",
        section=Section.PROCEDURES,
        text=text,
        rule=rule.model_copy(update={"conditions": conditions}),
        support=12,
        confidence=0.9,
        status=EntryStatus.APPROVED,
        created_in="pb-2026-11-02",
        updated_in="pb-2026-11-02",
    )


PLAYBOOK = Playbook(
    version="pb-2026-11-02",
    created_at=datetime(2026, 11, 2, tzinfo=UTC),
    status="approved",
    entries=[
        _entry(
            "less-0000000a",
            f"In `{REPO.name}`: run `pip install -e .` before `pytest`. 9/10 sessions that "
            "did succeeded; 1/10 that did not.",
            REPO.name,
            Rule(kind="precondition", action="pytest", prerequisite="pip install -e ."),
        ),
        _entry(
            "less-0000000b",
            "Anywhere: use `pytest <path>`, not `pytest`. 9/10 sessions that did succeeded; "
            "2/10 with `pytest` instead.",
            None,
            Rule(kind="substitution", action="pytest <path>", alternative="pytest"),
        ),
        _entry(
            "less-0000000c",
            f"In `{OTHER.name}`: avoid `git push`. 5/5 sessions that ran it failed.",
            OTHER.name,
            Rule(kind="hazard", action="git push"),
        ),
    ],
)


def test_the_export_is_parsed_back_into_scoped_lessons():
    text = render_instructions(PLAYBOOK, REPO.name)
    assert "<!-- reverie:begin playbook -->" in text
    lessons = parse_instructions(text)
    assert {lesson.entry_id for lesson in lessons} == {"less-0000000a", "less-0000000b"}  # scoped export
    by_id = {lesson.entry_id: lesson for lesson in lessons}
    assert (
        by_id["less-0000000a"].kind == "precondition" and by_id["less-0000000a"].other == "pip install -e ."
    )
    assert by_id["less-0000000b"].action == "pytest <path>" and by_id["less-0000000b"].scope is None
    assert [lesson.entry_id for lesson in lessons_for(PLAYBOOK, OTHER.name)] == [
        "less-0000000b",
        "less-0000000c",
    ]
    assert lessons_for(None, REPO.name) == [] and parse_instructions("no block here") == []


def test_the_crew_follows_matching_lessons_and_records_them():
    ids = [world.task_id(REPO.index, n) for n in range(20)]
    for task_id in ids:
        record = run_task(TaskSpec(day=date(2026, 11, 3), index=0, seed=task_id, playbook=PLAYBOOK))
        assert "less-0000000a" in record.followed and "less-0000000c" not in record.followed
        assert "less-0000000b" in record.followed  # the first test run used the narrow target
        assert record.params["lessons_read"] == 2


def test_the_oracle_crew_beats_the_naive_prior_on_the_same_held_out_tasks():
    seeds = CODING.heldout_seeds(60)
    naive, oracle = CODING.fly_arm(seeds, None), CODING.fly_reference(seeds)
    assert sum(oracle.success) >= sum(naive.success) + 15
    assert CODING.fly_reference(seeds) == oracle  # a held-out arm is a pure function of its seeds
    assert CODING.name == "coding" and CODING.reference_name == "oracle crew"


def test_rule_coverage_matches_lessons_to_the_rules_they_capture():
    from pipeline.missions.coding.catalog import oracle_lessons, rule_coverage
    from pipeline.missions.coding.lessons import Lesson

    for repo in world.repositories():
        assert all(
            rule_coverage(repo, oracle_lessons(repo)).values()
        )  # the oracle's lessons capture each rule
    notify = next(r for r in world.repositories() if r.has("push_refused"))
    mined = [
        Lesson("less-1", "hazard", "git push", scope=notify.name),
        Lesson("less-2", "hazard", "git status"),
    ]
    coverage = rule_coverage(notify, mined)
    assert coverage["push_refused"] == ["less-1"] and not any(
        ids for rule, ids in coverage.items() if rule != "push_refused"
    )


def test_a_repository_s_own_lesson_wins_over_an_anywhere_lesson_that_contradicts_it():
    from pipeline.missions.coding.lessons import Lesson
    from pipeline.missions.coding.policy import OfflinePolicy

    ordered = next(r for r in world.repositories() if r.has("random_order"))
    lessons = [
        Lesson("less-00000001", "substitution", "pytest <path>", scope=None, other="pytest -p"),
        Lesson("less-00000002", "substitution", "pytest -p", scope=ordered.name, other="pytest <path>"),
    ]
    for n in range(10):
        policy = OfflinePolicy(world.task(world.task_id(ordered.index, n)), lessons)
        options = [(c, frozenset({catalog_action(c)}), 1.0) for c in policy.tests]
        command, cited = policy.choose(options, "test")
        assert command == "pytest -p no:randomly" and cited == ["less-00000002"]


def catalog_action(command: str) -> str:
    from pipeline.missions.coding.catalog import action

    return action(command)
