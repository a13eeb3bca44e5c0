"""What the crew knows how to do in a repository of each stack (its broad prior), and what an oracle knows.

The catalog is the crew's vocabulary: setup steps, test commands, formatters, edit tools and git. Lessons
name *actions* (the lake's normalized form of a command, `pipeline.actions`), so a lesson is followed by
picking the catalog command whose action it names; a lesson naming an action the crew has no command for is
read but cannot be followed. The oracle crew reads the same kind of lessons, written from the repository's
hidden rules instead of mined from sessions: it is the ceiling the loop is measured against.
"""

from __future__ import annotations

from functools import cache

from pipeline.actions import shell_action
from pipeline.missions.coding.lessons import Lesson
from pipeline.missions.coding.world import Repository, Stack

SETUP: dict[Stack, tuple[str, ...]] = {
    "python": (
        "pip install -e .",
        "cp .env.example .env",
        "docker compose up -d db",
        "alembic upgrade head",
        "make proto",
    ),
    "node": ("npm ci", "npm install", "cp .env.example .env", "npm run migrate", "npm run codegen"),
}
TESTS: dict[Stack, tuple[str, ...]] = {
    "python": ("pytest", "pytest {test_file}", "pytest -p no:randomly"),
    "node": ("npm test", "npm test -- --runInBand"),
}
FORMATTERS: dict[Stack, tuple[str, ...]] = {
    "python": ("black .", "ruff format ."),
    "node": ("prettier --write .", "npx eslint --fix ."),
}
EDIT_TOOLS = ("Edit", "sed", "Write")
COMMIT = 'git add -A && git commit -m "{message}"'
PRE_COMMIT = "pre-commit run --all-files"
PUSH = "git push"


@cache
def action(command: str) -> str:
    """The lake's action for a command line (what lessons name)."""
    return shell_action(command) or command


def edit_action(tool: str, ext: str) -> str:
    return "sed -i <path>" if tool == "sed" else f"{tool} *.{ext}"


def edit_actions(tool: str, ext: str) -> frozenset[str]:
    """What an edit tool's calls are named in the lake: Codex writes the Edit and Write tools' changes as
    `apply_patch`, so a lesson naming either form is about the same choice."""
    names = {edit_action(tool, ext)}
    if tool != "sed":
        names.add(f"apply_patch *.{ext}")
    return frozenset(names)


def first_part(action_text: str) -> str:
    return action_text.split(" && ", 1)[0]


def oracle_lessons(repo: Repository) -> list[Lesson]:
    """The instructions an oracle follows: one lesson per hidden rule, in the shapes the miners write."""
    py = repo.stack == "python"
    test = "pytest" if py else "npm test"
    lessons: list[Lesson] = []

    def add(rule: str, kind: str, act: str, other: str | None = None, marker: str | None = None) -> None:
        n = sum(lesson.entry_id.startswith(f"oracle-{rule}") for lesson in lessons)
        lessons.append(
            Lesson(f"oracle-{rule}-{n}", kind, act, scope=repo.name, other=other, error_marker=marker)  # type: ignore[arg-type]
        )

    for rule in sorted(repo.rules):
        if rule == "editable_install":
            add(rule, "precondition", test, "pip install -e .")
        elif rule == "env_file":
            add(rule, "precondition", test, action("cp .env.example .env"))
        elif rule == "migrations":
            add(rule, "precondition", test, action("alembic upgrade head" if py else "npm run migrate"))
        elif rule == "db_service":
            add(rule, "precondition", action("alembic upgrade head"), action("docker compose up -d db"))
        elif rule == "codegen":
            add(rule, "precondition", test, action("make proto" if py else "npm run codegen"))
        elif rule == "node_install":
            add(rule, "precondition", test, "npm ci")
            add(rule, "hazard", "npm install")
        elif rule == "slow_suite":
            for slow in ("pytest", "pytest -p no:randomly"):
                add(rule, "substitution", action("pytest tests/x.py"), action(slow))
        elif rule == "random_order":
            for unordered in ("pytest", "pytest tests/x.py"):
                add(rule, "substitution", action("pytest -p no:randomly"), action(unordered))
        elif rule == "run_in_band":
            add(rule, "substitution", action("npm test -- --runInBand"), action("npm test"))
        elif rule == "sed_corrupts":
            add(
                rule,
                "substitution",
                edit_action("Edit", repo.source_ext),
                edit_action("sed", repo.source_ext),
            )
        elif rule == "formatter_breaks":
            add(rule, "hazard", action("black ." if py else "prettier --write ."))
        elif rule == "flaky_test":
            add(rule, "recovery", test, marker="test_retry_backoff" if py else "Exceeded timeout of 5000 ms")
        elif rule == "precommit_hook":
            add(rule, "recovery", "git add -A", marker="ruff-format")
        elif rule == "push_refused":
            add(rule, "hazard", "git push")
    return lessons


def _same_command(found: str | None, planted: str | None, tests: set[str]) -> bool:
    return found == planted or (found in tests and planted in tests)


def captures(found: Lesson, planted: Lesson, tests: set[str]) -> bool:
    """Whether a mined lesson says what an oracle lesson says (any test command stands for "the tests")."""
    if found.kind != planted.kind:
        return False
    if planted.kind == "recovery":
        error = found.error or ""
        marker = planted.error_marker or ""
        named = found.error_marker == marker or marker in error
        named = named or (marker.startswith("Exceeded timeout") and error.startswith("thrown:"))
        return named and _same_command(found.action, planted.action, tests)
    if planted.kind == "substitution" and planted.action.startswith("Edit *."):
        ext = planted.action.removeprefix("Edit *.")
        return (
            found.action in edit_actions("Edit", ext) | edit_actions("Write", ext)
            and found.other == planted.other
        )
    return _same_command(found.action, planted.action, tests) and found.other == planted.other


def rule_coverage(repo: Repository, found: list[Lesson]) -> dict[str, list[str]]:
    """For each hidden rule of `repo`, the ids of the lessons (read from its export) that capture it."""
    tests = {action(c.format(test_file="tests/x.py")) for c in TESTS[repo.stack]}
    coverage: dict[str, list[str]] = {rule: [] for rule in sorted(repo.rules)}
    for planted in oracle_lessons(repo):
        rule = planted.entry_id.removeprefix("oracle-").rsplit("-", 1)[0]
        coverage[rule] += [
            f.entry_id for f in found if captures(f, planted, tests) and f.entry_id not in coverage[rule]
        ]
    return coverage
