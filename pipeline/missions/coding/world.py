"""The coding world: small simulated repositories with hidden rules, and the tasks a crew does in them.

Each repository is drawn from a seeded generator: a name, a stack (Python or Node) and three hidden rules
out of a catalog of fourteen kinds people meet in real repositories (a setup step before tests, a flag a
command needs, a tool that corrupts a file type, a flaky test, a migration order, a slow suite that needs a
narrower target, a pre-commit hook, a push the user refuses, ...). The rules are what the crew has to
learn: nothing in a task names them, only what the tools print does.

A task is identified by an integer id (the mission's `seed`) that encodes its repository, its number and so
its split, which keeps the splits disjoint by construction:

- training tasks: numbers below `EVALUATION_START`, drawn per (day, index) over every repository;
- evaluation tasks (`evaluation_tasks`): numbers from `EVALUATION_START` in the development repositories,
  the fixed held-out suite the nightly promotion decides on;
- report tasks (`report_tasks`): numbers from `REPORT_START` in the report repositories. The crew works in
  those repositories during training like in any other, but their held-out tasks are flown only by the
  final report (benchmarks/coding_loop.py), never by a promotion decision or any tuning.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal

Stack = Literal["python", "node"]
TaskKind = Literal["fix", "add", "refactor"]

N_DEVELOPMENT_REPOS = 6
N_REPORT_REPOS = 4
N_REPOS = N_DEVELOPMENT_REPOS + N_REPORT_REPOS
RULES_PER_REPO = 3
TASKS_PER_REPO = 1_000_000  # task id = repo index * TASKS_PER_REPO + task number
EVALUATION_START = 600_000
REPORT_START = 800_000
FLAKY_RATE = 0.35


@dataclass(frozen=True)
class RuleKind:
    """One kind of hidden rule: which stacks it can appear in, what it means, the lesson that captures it."""

    name: str
    stacks: tuple[Stack, ...]
    meaning: str
    lesson: str  # the kind of coding lesson that captures it (precondition, substitution, recovery, hazard)
    excludes: tuple[str, ...] = ()  # kinds that cannot share a repository with it (one test-command rule)


RULE_KINDS: tuple[RuleKind, ...] = (
    RuleKind(
        "editable_install",
        ("python",),
        "tests import the package: `pip install -e .` must run first",
        "precondition",
    ),
    RuleKind(
        "env_file",
        ("python", "node"),
        "tests read .env: `cp .env.example .env` must run first",
        "precondition",
    ),
    RuleKind(
        "migrations",
        ("python", "node"),
        "tests need the schema: run the migrations before tests",
        "precondition",
    ),
    RuleKind(
        "db_service",
        ("python",),
        "migrations need the database: `docker compose up -d db` before "
        "`alembic upgrade head` (a migration order)",
        "precondition",
    ),
    RuleKind(
        "codegen",
        ("python", "node"),
        "generated code is not checked in: run the generator before tests",
        "precondition",
    ),
    RuleKind(
        "node_install",
        ("node",),
        "dependencies are missing and `npm install` fails on peer dependencies: `npm ci` installs them",
        "precondition+hazard",
    ),
    RuleKind(
        "slow_suite",
        ("python",),
        "the full `pytest` run times out: run the task's test file",
        "substitution",
        excludes=("random_order",),
    ),
    RuleKind(
        "random_order",
        ("python",),
        "a test depends on order: run `pytest -p no:randomly`",
        "substitution",
        excludes=("slow_suite",),
    ),
    RuleKind(
        "run_in_band",
        ("node",),
        "parallel jest workers share a database: `npm test -- --runInBand`",
        "substitution",
    ),
    RuleKind(
        "sed_corrupts",
        ("python", "node"),
        "source files use tabs and CRLF: `sed -i` breaks them, the Edit tool does not",
        "substitution",
    ),
    RuleKind(
        "formatter_breaks",
        ("python", "node"),
        "the repo-wide formatter (`black .`, `prettier --write .`) "
        "fails on legacy files and rewrites the snapshot fixtures",
        "hazard",
    ),
    RuleKind(
        "flaky_test",
        ("python", "node"),
        "a timing test fails now and then: re-run it, do not edit it",
        "recovery",
    ),
    RuleKind(
        "precommit_hook",
        ("python", "node"),
        "a pre-commit hook reformats files and fails the commit: stage again and commit again",
        "recovery",
    ),
    RuleKind(
        "push_refused", ("python", "node"), "the user refuses `git push` from an agent in this repo", "hazard"
    ),
)
KINDS_BY_NAME = {kind.name: kind for kind in RULE_KINDS}
_AREAS = (
    "billing",
    "orders",
    "inventory",
    "auth",
    "search",
    "payments",
    "notify",
    "catalog",
    "ledger",
    "reports",
    "shipping",
    "profile",
    "pricing",
    "media",
    "audit",
    "gateway",
)
_PY_SUFFIXES = ("api", "service", "worker", "cli")
_NODE_SUFFIXES = ("web", "app", "ui", "portal")
_MODULES = ("totals", "refunds", "discounts", "sync", "export", "import_csv", "limits", "schedule", "cache")


@dataclass(frozen=True)
class Repository:
    index: int
    name: str
    stack: Stack
    package: str  # the Python package or the npm package's source folder name
    modules: tuple[str, ...]
    rules: frozenset[str]

    @property
    def cwd(self) -> str:
        return f"/home/dev/src/{self.name}"

    @property
    def source_ext(self) -> str:
        return "py" if self.stack == "python" else "ts"

    def source_file(self, module: str) -> str:
        if self.stack == "python":
            return f"src/{self.package}/{module}.py"
        return f"src/{module}.ts"

    def test_file(self, module: str) -> str:
        if self.stack == "python":
            return f"tests/test_{module}.py"
        return f"src/__tests__/{module}.test.ts"

    def has(self, rule: str) -> bool:
        return rule in self.rules


@dataclass(frozen=True)
class Task:
    """One task: what the user asks, where, and the world's own dice for it (how hard the change is)."""

    task_id: int
    repo: Repository
    number: int
    kind: TaskKind
    module: str
    test_name: str
    commit_asked: bool
    fix_skill: float  # chance that one attempt at the change is right

    @property
    def split(self) -> Literal["training", "evaluation", "report"]:
        if self.number >= REPORT_START:
            return "report"
        return "evaluation" if self.number >= EVALUATION_START else "training"

    @property
    def heldout(self) -> bool:
        return self.split != "training"

    def prompt(self) -> str:
        source, test = self.repo.source_file(self.module), self.repo.test_file(self.module)
        what = {
            "fix": f"Fix the bug in `{source}`: `{self.test_name}` in `{test}` fails.",
            "add": f"Add the missing case to `{source}` so that the new test `{self.test_name}` in `{test}` "
            "passes.",
            "refactor": f"Refactor `{source}` (split the long function) without changing behaviour; "
            f"`{self.test_name}` in `{test}` must stay green.",
        }[self.kind]
        tail = (
            " Run the tests, and commit the change when they pass."
            if self.commit_asked
            else (" Run the tests before you finish.")
        )
        return what + tail


def stream(*key: object) -> random.Random:
    """An independent random stream per key: one decision's draw never shifts another's."""
    digest = hashlib.sha256("|".join(map(str, key)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@cache
def _stack_rules(stack: Stack) -> tuple[frozenset[str], ...]:
    """The rules of each repository of one stack, in order: dealt from seeded shuffles of every kind the stack
    can hold, so every kind is planted somewhere and no repository holds more than three (four when a
    database rule brings its migrations) or two that exclude each other."""
    rng = stream("coding-rules", stack)
    kinds = [k.name for k in RULE_KINDS if stack in k.stacks]
    n_repos = sum(1 for index in range(N_REPOS) if _stack_of(index) == stack)
    deck = [name for _ in range(n_repos) for name in rng.sample(kinds, len(kinds))]
    dealt = []
    for _ in range(n_repos):
        chosen: list[str] = []
        while len(chosen) < RULES_PER_REPO:
            name = next(
                n for n in deck if n not in chosen and not set(KINDS_BY_NAME[n].excludes) & set(chosen)
            )
            deck.remove(name)
            chosen.append(name)
        if "db_service" in chosen and "migrations" not in chosen:  # a database only matters to migrations
            chosen.append("migrations")
        dealt.append(frozenset(chosen))
    return tuple(dealt)


def _stack_of(index: int) -> Stack:
    return "python" if index % 2 == 0 else "node"


def repository(index: int) -> Repository:
    """Repository `index` (0 <= index < N_REPOS), the same for every caller and every run."""
    if not 0 <= index < N_REPOS:
        raise ValueError(f"repository index {index} is outside 0..{N_REPOS - 1}")
    rng = stream("coding-repository", index)
    stack = _stack_of(index)
    area = _AREAS[index % len(_AREAS)]
    suffixes = _PY_SUFFIXES if stack == "python" else _NODE_SUFFIXES
    name = f"{area}-{suffixes[(index // len(_AREAS)) % len(suffixes)]}"
    modules = tuple(sorted(rng.sample(_MODULES, 4)))
    return Repository(index, name, stack, area, modules, _stack_rules(stack)[index // 2])


def repositories() -> list[Repository]:
    return [repository(i) for i in range(N_REPOS)]


DEVELOPMENT_REPOS = tuple(range(N_DEVELOPMENT_REPOS))
REPORT_REPOS = tuple(range(N_DEVELOPMENT_REPOS, N_REPOS))


def task(task_id: int) -> Task:
    """The task a task id names (see the module doc for how ids encode repository and split)."""
    repo_index, number = divmod(int(task_id), TASKS_PER_REPO)
    repo = repository(repo_index)
    rng = stream("coding-task", task_id)
    kind: TaskKind = rng.choice(("fix", "fix", "add", "refactor"))
    module = rng.choice(repo.modules)
    verb = {"fix": "handles", "add": "supports", "refactor": "keeps"}[kind]
    case = rng.choice(
        ("empty_input", "rounding", "unicode_names", "large_totals", "missing_keys", "timezones")
    )
    return Task(
        task_id=int(task_id),
        repo=repo,
        number=number,
        kind=kind,
        module=module,
        test_name=f"test_{module}_{verb}_{case}",
        commit_asked=rng.random() < 0.5,
        fix_skill=0.7 + 0.25 * rng.random(),
    )


def task_id(repo_index: int, number: int) -> int:
    return repo_index * TASKS_PER_REPO + number


def training_tasks(day: date, n: int) -> list[int]:
    """The day's training tasks: a repository and a task number per index, drawn from the day."""
    ids = []
    for index in range(n):
        rng = stream("coding-training", day.isoformat(), index)
        ids.append(task_id(rng.randrange(N_REPOS), rng.randrange(EVALUATION_START)))
    return ids


def evaluation_tasks(n: int) -> list[int]:
    """The nightly held-out suite: the same `n` tasks every night, in the development repositories."""
    return [
        task_id(DEVELOPMENT_REPOS[i % len(DEVELOPMENT_REPOS)], EVALUATION_START + i // len(DEVELOPMENT_REPOS))
        for i in range(n)
    ]


def report_tasks(n: int) -> list[int]:
    """The final report's held-out suite, in the report repositories (never used to decide anything)."""
    return [
        task_id(REPORT_REPOS[i % len(REPORT_REPOS)], REPORT_START + i // len(REPORT_REPOS)) for i in range(n)
    ]
