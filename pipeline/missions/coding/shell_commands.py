"""Setup steps, formatters and git as the crew's shell sees them: one handler per program (and subcommand).

Each handler changes the workspace's state the way the real command would and returns what it prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.missions.coding.workspace import Workspace

REFUSED = (
    "The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if it was a file "
    "edit, the new_string was NOT written to the file). STOP what you are doing and wait for the user to "
    "tell you how to proceed."
)
TIMED_OUT = "Command timed out after 2m 0.0s"


@dataclass(frozen=True)
class Result:
    output: str
    exit_code: int = 0
    refused: bool = False
    test_run: bool = False

    @property
    def failed(self) -> bool:
        return self.exit_code != 0 or self.refused


# --- setup, formatters and git: one handler per program (and subcommand) -----------------------------------


def _pip(ws: Workspace, words: list[str]) -> Result:
    repo = ws.task.repo
    if words[1:3] == ["install", "-e"]:
        ws.installed = True
        return Result(
            f"Obtaining file://{repo.cwd}\n  Installing build dependencies ... done\n  Checking if build "
            f"backend supports build_editable ... done\nSuccessfully installed {repo.name}-0.1.0"
        )
    return Result("Requirement already satisfied: pip in ./.venv/lib/python3.12/site-packages (24.3.1)")


def _cp(ws: Workspace, words: list[str]) -> Result:
    if len(words) == 3 and words[1] == ".env.example" and words[2] == ".env":
        ws.env_file = True
        return Result("")
    return Result(f"cp: cannot stat '{words[1] if len(words) > 1 else ''}': No such file or directory", 1)


def _docker(ws: Workspace, words: list[str]) -> Result:
    if "up" in words:
        ws.db_up = True
        name = ws.task.repo.name
        return Result(
            f"[+] Running 2/2\n ✔ Network {name}_default  Created\n ✔ Container {name}-db-1  Started"
        )
    return Result("NAME      IMAGE         STATUS")


def _alembic(ws: Workspace, words: list[str]) -> Result:
    if ws._has("db_service") and not ws.db_up:
        return Result(
            'Traceback (most recent call last):\n  File ".venv/bin/alembic", line 8, in <module>\n'
            "sqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection failed: connection to "
            'server at "127.0.0.1", port 5432 failed: Connection refused',
            1,
        )
    ws.migrated = True
    return Result(
        "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\n"
        "INFO  [alembic.runtime.migration] Running upgrade  -> 3f2a1c9d, create orders"
    )


def _make(ws: Workspace, words: list[str]) -> Result:
    if words[1:2] == ["proto"]:
        ws.generated = True
        return Result(
            f"python -m grpc_tools.protoc -I proto --python_out=src/{ws.task.repo.package}/proto "
            "proto/orders.proto"
        )
    return Result(f"make: *** No rule to make target '{words[1] if len(words) > 1 else ''}'.  Stop.", 2)


def _npm(ws: Workspace, words: list[str]) -> Result:
    sub = words[1] if len(words) > 1 else ""
    if sub == "ci":
        ws.installed = True
        return Result("added 812 packages, and audited 813 packages in 14s\n\nfound 0 vulnerabilities")
    if sub == "install":
        if ws._has("node_install"):
            return Result(
                "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree\nnpm ERR!\n"
                "npm ERR! Found: react@18.2.0\nnpm ERR! Could not resolve dependency:\n"
                'npm ERR! peer react@"^17.0.0" from react-table@7.8.0',
                1,
            )
        return Result("up to date, audited 813 packages in 2s\n\nfound 0 vulnerabilities")
    if sub == "run" and len(words) > 2:
        script = words[2]
        header = f"\n> {ws.task.repo.name}@1.0.0 {script}\n"
        if script == "migrate":
            ws.migrated = True
            return Result(header + "> knex migrate:latest\n\nBatch 1 run: 4 migrations")
        if script == "codegen":
            ws.generated = True
            return Result(header + "> graphql-codegen\n\n✔ Parse Configuration\n✔ Generate outputs")
        if script == "lint":
            return Result(header + "> eslint src\n")
        return Result(f'npm ERR! Missing script: "{script}"', 1)
    return Result(f'Unknown command: "{sub}"', 1)


def _format_all(ws: Workspace, program: str) -> Result:
    """Repo-wide formatters: where they break things, they fail on a legacy file and leave the snapshot
    fixtures rewritten (the damage shows at the next test run)."""
    repo = ws.task.repo
    if ws._has("formatter_breaks") and program in ("black", "prettier"):
        ws.snapshots_broken = True
        ws.dirty += 1
        if program == "black":
            return Result(
                f'error: cannot format src/{repo.package}/legacy.py: Cannot parse: 14:10: print "legacy"\n'
                "Oh no! 💥 💔 💥\n3 files reformatted, 1 file failed to reformat.",
                123,
            )
        return Result('[error] src/legacy/template.hbs: SyntaxError: Unexpected closing tag "div". (14:3)', 2)
    if program in ("black", "ruff"):
        return Result("1 file reformatted, 31 files left unchanged")
    return Result(f"src/{ws.task.module}.ts 41ms")


def _black(ws: Workspace, words: list[str]) -> Result:
    return _format_all(ws, "black")


def _ruff(ws: Workspace, words: list[str]) -> Result:
    if words[1:2] == ["format"]:
        return _format_all(ws, "ruff")
    return Result("All checks passed!")


def _prettier(ws: Workspace, words: list[str]) -> Result:
    return _format_all(ws, "prettier")


def _npx(ws: Workspace, words: list[str]) -> Result:
    if words[1:2] == ["prettier"]:
        return _format_all(ws, "prettier")
    if words[1:2] == ["eslint"]:
        return Result("")
    return Result("npm ERR! could not determine executable to run", 1)


def _hook_failure() -> Result:
    return Result(
        "ruff-format..............................................................Failed\n"
        "- hook id: ruff-format\n- files were modified by this hook\n\n1 file reformatted, 12 files left unchanged",
        1,
    )


def _pre_commit(ws: Workspace, words: list[str]) -> Result:
    if ws._has("precommit_hook") and ws.hook == "unformatted" and ws.dirty:
        ws.hook = "formatted_unstaged"
        return _hook_failure()
    return Result(
        "ruff.....................................................................Passed\n"
        "ruff-format..............................................................Passed"
    )


def _git(ws: Workspace, words: list[str]) -> Result:
    sub = words[1] if len(words) > 1 else ""
    repo = ws.task.repo
    if sub == "add":
        if ws.hook == "formatted_unstaged":
            ws.hook = "staged"
        return Result("")
    if sub == "commit":
        if not ws.dirty:
            return Result("On branch main\nnothing to commit, working tree clean", 1)
        if ws._has("precommit_hook") and ws.hook != "staged":
            ws.hook = "formatted_unstaged"
            return _hook_failure()
        message = (
            words[words.index("-m") + 1] if "-m" in words and words.index("-m") + 1 < len(words) else "wip"
        )
        changed, ws.dirty, ws.committed = ws.dirty, 0, True
        return Result(f"[main 3f2a1c9] {message}\n {changed} files changed, 14 insertions(+), 3 deletions(-)")
    if sub == "push":
        if ws._has("push_refused"):
            ws.refused = True
            return Result(REFUSED, 1, refused=True)
        return Result(f"To github.com:acme/{repo.name}.git\n   3f2a1c9..8b1d2e0  main -> main")
    if sub == "status":
        state = (
            "nothing to commit, working tree clean"
            if not ws.dirty
            else (f"Changes not staged for commit:\n\tmodified:   {repo.source_file(ws.task.module)}")
        )
        return Result(f"On branch main\n{state}")
    if sub in ("diff", "log", "show"):
        return Result(f"diff --git a/{repo.source_file(ws.task.module)} b/{repo.source_file(ws.task.module)}")
    return Result(f"git: '{sub}' is not a git command. See 'git --help'.", 1)


COMMANDS = {
    "pip": _pip,
    "pip install": _pip,
    "cp": _cp,
    "docker": _docker,
    "alembic": _alembic,
    "make": _make,
    "npm": _npm,
    "black": _black,
    "ruff": _ruff,
    "prettier": _prettier,
    "npx": _npx,
    "pre-commit": _pre_commit,
    "git": _git,
}
