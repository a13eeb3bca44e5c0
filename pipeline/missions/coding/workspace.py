"""A task's working copy: the state the hidden rules act on, and the text the real tools print.

The crew acts only through `run`, `read` and `edit` (what a coding agent's Bash, Read and Edit tools do).
Each returns what pytest, jest, npm, pip, git, black, pre-commit ... print for that state, with their exit
codes, so the sessions read like a user's and the lake's error signatures come from real-looking output.
The world's verdict (`succeeded`) is computed from the state, never from the text; the outcome criteria
read only the text, and tests check the two agree.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Literal

from pipeline.missions.coding.shell_commands import COMMANDS, REFUSED, TIMED_OUT, Result
from pipeline.missions.coding.world import FLAKY_RATE, Task, stream

Code = Literal["unchanged", "fixed", "wrong", "corrupted"]


@dataclass
class Workspace:
    """One task's checkout. Fields are the facts the rules test; `history` is every result, in order."""

    task: Task
    installed: bool = False
    env_file: bool = False
    db_up: bool = False
    migrated: bool = False
    generated: bool = False
    code: Code = "unchanged"
    attempts: int = 0
    test_edited: bool = False
    snapshots_broken: bool = False
    hook: Literal["unformatted", "formatted_unstaged", "staged"] = "unformatted"
    dirty: int = 0
    committed: bool = False
    refused: bool = False
    runs: int = 0
    history: list[Result] = field(default_factory=list)

    # --- the world's verdict -----------------------------------------------------------------------------

    @property
    def tests_green(self) -> bool:
        runs = [r for r in self.history if r.test_run]
        if runs:
            return not runs[-1].failed
        return not self.history or not self.history[-1].failed

    @property
    def succeeded(self) -> bool:
        """Tests green at the end, no refused call, and the change committed when the task asked for it."""
        committed = self.committed and self.dirty == 0 if self.task.commit_asked else True
        return self.tests_green and not self.refused and committed

    def failure_mode(self) -> str | None:
        if self.succeeded:
            return None
        if self.refused:
            return "refused"
        if not self.tests_green:
            return "tests_red"
        return "uncommitted"

    # --- tools -------------------------------------------------------------------------------------------

    def _has(self, rule: str) -> bool:
        return self.task.repo.has(rule)

    def read(self, path: str) -> Result:
        task, python = self.task, self.task.repo.stack == "python"
        if path == task.repo.test_file(task.module):
            text = (
                f"def {task.test_name}():\n    assert {task.module}_result([1, 2]) == 3\n"
                if python
                else f"it('{task.test_name}', () => {{\n  expect({task.module}Result([1, 2])).toBe(3);\n}});\n"
            )
        else:
            text = (
                f"def {task.module}_result(items):\n    total = sum(items)\n    return total\n"
                if python
                else f"export function {task.module}Result(items: number[]): number {{\n"
                "  return items.reduce((a, b) => a + b, 0);\n}\n"
            )
        return self._done(Result(text))

    def edit(self, path: str, *, tool: Literal["Edit", "Write", "sed"]) -> Result:
        """Change a file. The task's source file gets one attempt at the change; the test file, when edited,
        stops being a flaky test and becomes a broken one most of the time."""
        self.dirty += 1
        self.hook = "unformatted"
        repo = self.task.repo
        corrupts = tool == "sed" and self._has("sed_corrupts") and path.endswith("." + repo.source_ext)
        if path == repo.test_file(self.task.module):
            self.test_edited = self.test_edited or stream(self.task.task_id, "test-edit").random() < 0.8
        elif path == repo.source_file(self.task.module):
            self.attempts += 1
            right = stream(self.task.task_id, "attempt", self.attempts).random() < self.task.fix_skill
            self.code = "corrupted" if corrupts else ("fixed" if right else "wrong")
        elif corrupts:
            self.code = "corrupted"
        if tool == "sed":
            return self._done(Result(""))
        return self._done(Result(f"The file {repo.cwd}/{path} has been updated successfully."))

    def run(self, command: str) -> Result:
        """Run a shell command line; `&&` chains stop at the first failure, like a shell's."""
        outputs: list[str] = []
        result, tested = Result(""), False
        for part in command.split(" && "):
            result = self._run_one(part.strip())
            tested = tested or result.test_run
            if result.output:
                outputs.append(result.output)
            if result.failed:
                break
        combined = Result("\n".join(outputs), result.exit_code, result.refused, tested)
        self.history.append(combined)
        return combined

    def _done(self, result: Result) -> Result:
        self.history.append(result)
        return result

    # --- commands ----------------------------------------------------------------------------------------

    def _run_one(self, command: str) -> Result:
        try:
            words = shlex.split(command)
        except ValueError:
            return Result(f"bash: -c: line 1: unexpected EOF while looking for matching quote: {command}", 2)
        if not words:
            return Result("")
        if self.refused:
            return Result(REFUSED, 1, refused=True)
        repo = self.task.repo
        line = " ".join(words)
        if _is_test(line):
            return self._tests(words)
        if words[0] == "sed" and "-i" in words:
            return self.edit(words[-1], tool="sed")
        handler = COMMANDS.get(" ".join(words[:2])) or COMMANDS.get(words[0])
        if handler is not None:
            return handler(self, words)
        if words[0] in ("ls", "pwd", "cat", "head", "tail", "grep", "rg", "find", "echo", "wc"):
            return Result(
                f"README.md  pyproject.toml  src  tests\n# {repo.name}" if words[0] != "pwd" else repo.cwd
            )
        return Result(f"bash: line 1: {words[0]}: command not found", 127)

    def _tests(self, words: list[str]) -> Result:
        self.runs += 1
        if self.task.repo.stack == "python":
            return Result(*self._pytest(words), test_run=True)
        return Result(*self._jest(words), test_run=True)

    def _flaky_draw(self) -> bool:
        return self._has("flaky_test") and stream(self.task.task_id, "flaky", self.runs).random() < FLAKY_RATE

    def _pytest(self, words: list[str]) -> tuple[str, int]:
        task, repo = self.task, self.task.repo
        test_file = repo.test_file(task.module)
        narrow = any("/" in w and not w.startswith("-") for w in words[1:])
        ordered = "no:randomly" in words
        header = (
            "============================= test session starts ==============================\n"
            f"platform linux -- Python 3.12.3, pytest-8.3.4, pluggy-1.5.0\nrootdir: {repo.cwd}\n"
            + ("plugins: randomly-3.15.0\n" if repo.has("random_order") and not ordered else "")
        )
        n_total = 12 if narrow else 57
        if self._has("editable_install") and not self.installed:
            return header + _collection_error(
                test_file,
                f"from {repo.package}.{task.module} import *",
                f"ModuleNotFoundError: No module named '{repo.package}'",
            ), 2
        if self._has("codegen") and not self.generated:
            return header + _collection_error(
                test_file,
                f"from {repo.package}.proto import orders_pb2",
                f"ImportError: cannot import name 'orders_pb2' from '{repo.package}.proto' (unknown location)",
            ), 2
        if self._has("env_file") and not self.env_file:
            return header + _collection_error(
                test_file, "DATABASE_URL = os.environ['DATABASE_URL']", "KeyError: 'DATABASE_URL'"
            ), 2
        if self.code == "corrupted":
            return header + _collection_error(
                test_file,
                f"from {repo.package}.{task.module} import *",
                f'  File "{repo.cwd}/{repo.source_file(task.module)}", line 14\n'
                "E       total = sum(items)\nE   IndentationError: unexpected indent",
            ), 2
        if self._has("slow_suite") and not narrow:
            return TIMED_OUT, 124
        failures = []
        if self._has("migrations") and not self.migrated:
            failures.append(
                (
                    test_file,
                    task.test_name,
                    "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) no such table: orders",
                )
            )
        if self._has("random_order") and not ordered:
            failures.append(
                ("tests/test_cache.py", "test_cache_is_warm", "AssertionError: assert None == 'warm'")
            )
        if self.snapshots_broken:
            failures.append(
                (
                    "tests/test_snapshots.py",
                    "test_schema_snapshot",
                    "AssertionError: snapshot 'schema' does not match the stored fixture",
                )
            )
        if self.code != "fixed":
            failures.append((test_file, task.test_name, "AssertionError: assert 41 == 42"))
        if self._has("flaky_test") and (self.test_edited or self._flaky_draw()):
            failures.append(
                ("tests/test_sync.py", "test_retry_backoff", "TimeoutError: timed out after 0.5s")
            )
        seconds = f"{0.4 + 0.05 * n_total:.2f}"
        if not failures:
            return (
                header + f"collected {n_total} items\n\n{'.' * n_total} [100%]\n\n"
                f"============================== {n_total} passed in {seconds}s ==============================",
                0,
            )
        lines = [f"FAILED {path}::{name} - {error}" for path, name, error in failures]
        summary = f"{len(failures)} failed, {n_total - len(failures)} passed in {seconds}s"
        return header + f"collected {n_total} items\n\n" + "\n".join(
            [
                "=========================== short test summary info ============================",
                *lines,
                f"========================= {summary} =========================",
            ]
        ), 1

    def _jest(self, words: list[str]) -> tuple[str, int]:
        task, repo = self.task, self.task.repo
        test_file = repo.test_file(task.module)
        header = f"\n> {repo.name}@1.0.0 test\n> jest\n\n" if words[0] == "npm" else ""
        if self._has("node_install") and not self.installed:
            if words[0] == "npx":
                return "npm ERR! could not determine executable to run", 1
            return header + "sh: 1: jest: not found", 127
        if self._has("codegen") and not self.generated:
            return (
                header + f"FAIL {test_file}\n  ● Test suite failed to run\n\n    src/{task.module}.ts:2:"
                "24 - error TS2307: Cannot find module './generated/graphql' or its corresponding type "
                "declarations.\n\nTest Suites: 1 failed, 11 passed, 12 total",
                1,
            )
        if self._has("env_file") and not self.env_file:
            return (
                header + f"FAIL {test_file}\n  ● Test suite failed to run\n\n    Error: Missing required "
                "environment variable DATABASE_URL\n\nTest Suites: 12 failed, 12 total",
                1,
            )
        if self.code == "corrupted":
            return (
                header + f"FAIL {test_file}\n  ● Test suite failed to run\n\n    SyntaxError: "
                f"{repo.cwd}/{repo.source_file(task.module)}: Unexpected token (14:2)\n\n"
                "Test Suites: 1 failed, 11 passed, 12 total",
                1,
            )
        failures = []  # (file, test title, error): jest prints each failing test under its title
        if self._has("migrations") and not self.migrated:
            failures.append(
                (
                    "src/__tests__/db.test.ts",
                    "orders repository › saves an order",
                    'error: relation "orders" does not exist',
                )
            )
        if self._has("run_in_band") and "--runInBand" not in words:
            failures.append(
                ("src/__tests__/db.test.ts", "orders repository › locks the row", "error: deadlock detected")
            )
        if self.snapshots_broken:
            failures.append(
                ("src/__tests__/render.test.ts", "renders the invoice", "expect(received).toMatchSnapshot()")
            )
        if self.code != "fixed":
            failures.append(
                (test_file, task.test_name, "expect(received).toBe(expected) // Object.is equality")
            )
        if self._has("flaky_test") and (self.test_edited or self._flaky_draw()):
            failures.append(
                (
                    "src/__tests__/sync.test.ts",
                    "sync › retries with backoff",
                    'thrown: "Exceeded timeout of 5000 ms for a test."',
                )
            )
        if not failures:
            return (
                header + f"PASS {test_file}\n\nTest Suites: 12 passed, 12 total\nTests:       87 passed, "
                "87 total\nSnapshots:   4 passed, 4 total\nTime:        4.512 s\nRan all test suites.",
                0,
            )
        body = [f"FAIL {path}\n  ● {title}\n\n    {error}\n" for path, title, error in failures]
        n = len(failures)
        return (
            header + "\n".join(body) + f"\nTest Suites: {n} failed, {12 - n} passed, 12 total\n"
            f"Tests:       {n} failed, {87 - n} passed, 87 total\nTime:        6.204 s\nRan all test suites.",
            1,
        )


def _is_test(command: str) -> bool:
    return bool(re.match(r"^(python -m pytest|pytest|npm test|npm run test|npx jest)\b", command.strip()))


def _collection_error(test_file: str, source_line: str, error: str) -> str:
    return (
        f"collected 0 items / 1 error\n\n==================================== ERRORS ====================================\n"
        f"_______________________ ERROR collecting {test_file} _______________________\n"
        f"{test_file}:3: in <module>\n    {source_line}\nE   {error}\n"
        "=========================== short test summary info ============================\n"
        f"ERROR {test_file}\n!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!\n"
        "=============================== 1 error in 0.21s ==============================="
    )
