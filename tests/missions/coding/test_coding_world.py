"""The coding world: seeded repositories, disjoint suites, and rules that decide outcomes through actions."""

from __future__ import annotations

from datetime import date

from pipeline.missions.coding import world
from pipeline.missions.coding.workspace import Workspace


def _task_in(rule: str) -> world.Task:
    repo = next(r for r in world.repositories() if r.has(rule))
    return world.task(world.task_id(repo.index, 7))


def test_repositories_are_seeded_and_hold_few_of_many_rule_kinds():
    repos = world.repositories()
    assert repos == world.repositories()  # same draw for every caller
    assert len({r.name for r in repos}) == len(repos)
    assert all(len(r.rules) <= world.RULES_PER_REPO + 1 for r in repos)
    assert len(world.RULE_KINDS) >= 4 * world.RULES_PER_REPO
    assert all(not ({"slow_suite", "random_order"} <= r.rules) for r in repos)
    assert set().union(*(r.rules for r in repos)) == {k.name for k in world.RULE_KINDS}  # every kind planted


def test_suites_are_disjoint_and_report_repositories_are_only_in_the_report_suite():
    training = {t for day in range(1, 15) for t in world.training_tasks(date(2026, 11, day), 200)}
    evaluation, report = set(world.evaluation_tasks(400)), set(world.report_tasks(400))
    assert not training & evaluation and not training & report and not evaluation & report
    assert all(world.task(t).split == "training" for t in training)
    assert {world.task(t).repo.index for t in evaluation} == set(world.DEVELOPMENT_REPOS)
    assert {world.task(t).repo.index for t in report} == set(world.REPORT_REPOS)
    assert world.evaluation_tasks(50) == world.evaluation_tasks(50)


def test_a_missing_setup_step_fails_the_tests_with_the_real_error_until_it_runs():
    ws = Workspace(_task_in("editable_install"))
    repo = ws.task.repo
    ws.edit(repo.source_file(ws.task.module), tool="Edit")
    first = ws.run("pytest")
    assert first.failed and "ModuleNotFoundError: No module named" in first.output
    assert "Interrupted: 1 error during collection" in first.output
    assert not ws.run("pip install -e .").failed and ws.installed


def test_sed_corrupts_source_files_where_the_rule_holds_and_the_edit_tool_does_not():
    task = _task_in("sed_corrupts")
    sed, edit = Workspace(task), Workspace(task)
    path = task.repo.source_file(task.module)
    sed.run(f"sed -i 's/a/b/' {path}")
    edit.edit(path, tool="Edit")
    assert sed.code == "corrupted" and edit.code in ("fixed", "wrong")


def test_the_slow_suite_times_out_unless_narrowed_and_push_is_refused_where_the_user_refuses_it():
    slow = Workspace(_task_in("slow_suite"))
    for step in ("pip install -e .", "cp .env.example .env", "make proto"):
        slow.run(step)
    assert slow.run("pytest").output == "Command timed out after 2m 0.0s"
    narrow = slow.run(f"pytest {slow.task.repo.test_file(slow.task.module)}")
    assert "timed out" not in narrow.output
    refused = Workspace(_task_in("push_refused"))
    result = refused.run("git push")
    assert result.refused and refused.refused and not refused.succeeded
    assert refused.failure_mode() == "refused"


def test_success_needs_green_tests_and_a_commit_when_asked():
    task = next(
        world.task(world.task_id(r.index, n))
        for r in world.repositories()
        if not r.rules & {"precommit_hook", "flaky_test", "push_refused"} and r.stack == "python"
        for n in range(50)
        if world.task(world.task_id(r.index, n)).commit_asked
    )
    ws = Workspace(task)
    for step in (
        "pip install -e .",
        "cp .env.example .env",
        "docker compose up -d db",
        "alembic upgrade head",
        "make proto",
    ):
        ws.run(step)
    for _ in range(10):
        ws.edit(task.repo.source_file(task.module), tool="Edit")
        if ws.code == "fixed":
            break
    assert ws.run(f"pytest -p no:randomly {task.repo.test_file(task.module)}").output.count("passed")
    assert ws.tests_green and not ws.succeeded and ws.failure_mode() == "uncommitted"
    commit = ws.run('git add -A && git commit -m "fix"')
    assert not commit.failed and ws.succeeded


def test_the_pre_commit_hook_fails_the_first_commit_and_a_restaged_commit_passes():
    ws = Workspace(_task_in("precommit_hook"))
    ws.edit(ws.task.repo.source_file(ws.task.module), tool="Edit")
    first = ws.run('git add -A && git commit -m "fix"')
    assert first.failed and "files were modified by this hook" in first.output
    assert not ws.run('git add -A && git commit -m "fix"').failed and ws.committed
