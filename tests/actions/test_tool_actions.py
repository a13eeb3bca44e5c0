"""Actions of tool calls in every format's input shape, and the `events.action` / `sessions.project` /
`sessions.branch` columns after a real ingest of the transcripts in tests/fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipeline import lake
from pipeline.actions import action_of, add_actions, file_kind
from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest
from pipeline.ingest.scope import session_branch, session_project

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize(
    ("tool", "tool_input", "expected"),
    [
        # Claude Code and the Agent SDK
        (
            "Bash",
            {"command": "python -m pytest tests/test_math_utils.py -v", "description": "Run tests"},
            "python -m pytest <path> -v",
        ),
        (
            "Edit",
            {"file_path": "/tmp/x/src/math_utils.py", "old_string": "a", "new_string": "b"},
            "Edit *.py",
        ),
        ("Write", {"file_path": "/repo/web/App.TSX", "content": "..."}, "Write *.tsx"),
        ("Read", {"file_path": "/repo/CLAUDE.md"}, "Read CLAUDE.md"),
        ("Read", {"file_path": "/repo/Makefile"}, "Read Makefile"),
        ("MultiEdit", {"file_path": "C:\\work\\api\\handler.go", "edits": []}, "MultiEdit *.go"),
        ("NotebookEdit", {"notebook_path": "/n/analysis.ipynb", "new_source": ""}, "NotebookEdit *.ipynb"),
        ("Glob", {"pattern": "**/*.ts", "path": "/repo"}, "Glob"),
        ("Grep", {"pattern": "FlowRow", "path": "/repo/app/src/Screen.kt"}, "Grep"),
        ("TodoWrite", {"todos": []}, "TodoWrite"),
        # Codex: exec_command (cmd string), shell (argv list), local_shell (action.command), apply_patch
        (
            "exec_command",
            {"cmd": "git status --short", "workdir": "/Users/u/repo", "yield_time_ms": 1000},
            "git status --short",
        ),
        (
            "shell",
            {"command": ["bash", "-lc", "npm test -- --runInBand"], "workdir": "/r"},
            "npm test -- --runInBand",
        ),
        ("local_shell", {"type": "exec", "command": ["pytest", "-q"]}, "pytest -q"),
        ("local_shell", {"action": {"type": "exec", "command": ["go", "test", "./..."]}}, "go test <path>"),
        (
            "apply_patch",
            "*** Begin Patch\n*** Update File: src/a.py\n@@\n-x\n+y\n*** Add File: web/b.ts\n+z\n*** End Patch",
            "apply_patch *.py *.ts",
        ),
        ("write_stdin", {"session_id": 3, "chars": "y\n"}, "write_stdin"),
        # OTel execute_tool and OpenAI Agents function calls whose arguments hold a command
        ("run_shell", {"command": "cargo test --release"}, "cargo test --release"),
        ("execute_tool", {"call_id": "j5pz", "arguments": {"command": "npm test"}}, "npm test"),
        ("bash", {"call_id": None, "arguments": json.dumps({"cmd": ["pytest", "-x"]})}, "pytest -x"),
        (
            "write_file",
            {"call_id": None, "arguments": {"path": "notes/plan.md", "text": "2025"}},
            "write_file *.md",
        ),
        (
            "get_current_time",
            {"call_id": None, "arguments": {"timezone": "America/New_York"}},
            "get_current_time",
        ),
        ("terminal", {"cmd": "sudo apt-get install -y ripgrep"}, "apt-get install -y"),
        ("read_file", {"path": "src/foo.py"}, "read_file *.py"),
        ("get_weather", {"location": "Paris"}, "get_weather"),
        # the text-editor tool names its own sub-command: it is not a shell
        (
            "str_replace_based_edit_tool",
            {"command": "str_replace", "path": "/r/app.py", "old_str": "a"},
            "str_replace_based_edit_tool str_replace *.py",
        ),
    ],
)
def test_every_format_input_shape(tool: str, tool_input: object, expected: str) -> None:
    assert action_of(tool, json.dumps(tool_input)) == expected
    assert action_of(tool, tool_input) == expected


def test_arguments_stored_as_a_json_string_inside_json_are_decoded() -> None:
    doubly = json.dumps(json.dumps({"command": ["ls"]}))  # some Codex rollouts store arguments so
    assert action_of("shell", doubly) == "ls"


def test_unusable_inputs_fall_back_to_the_tool_name() -> None:
    assert action_of("exec_command", '"[REDACTED_ARGUMENTS len=153 sha=23291271]"') == "exec_command"
    assert action_of("Bash", "{not json") == "Bash"
    assert action_of("Bash", json.dumps({"command": ""})) == "Bash"
    assert action_of(None, "{}") is None


def test_file_kinds() -> None:
    assert file_kind("a/b/c.PY") == "*.py"
    assert file_kind("a/b/README") == "<file>"
    assert file_kind(".env") == ".env"
    assert file_kind("a/.bashrc") == "<file>"


def test_tool_results_carry_the_action_of_the_call_they_answer() -> None:
    events = pl.DataFrame(
        {
            "session_id": ["s", "s", "s", "t"],
            "event_id": ["c1", "r1", "m", "r9"],
            "parent_event_id": [None, "c1", None, "c1"],
            "type": ["tool_call", "tool_result", "message", "tool_result"],
            "tool": ["Bash", "Bash", None, "Bash"],
            "input": [json.dumps({"command": "npm test"}), None, None, None],
        }
    )
    assert add_actions(events)["action"].to_list() == ["npm test", "npm test", None, None]


def test_scope_rules() -> None:
    assert session_project({"cwd": "/home/marco/projects/spotter"}) == "spotter"
    assert session_project('{"cwd": "C:\\\\Users\\\\me\\\\work\\\\acme-api\\\\"}') == "acme-api"
    assert session_project({"cwd": "/home/marco"}) is None, "a home folder names no project"
    assert session_project({"cwd": "/r/acme/src", "git_root": "/r/acme"}) == "acme"
    assert session_project({}, "/x/.claude/projects/-home-me-acme-api/0b1c.jsonl") == "home-me-acme-api"
    assert session_project({}, "/x/logs/session.jsonl") is None
    assert session_branch({"git_branch": "feat/x"}) == "feat/x"
    assert session_branch("{}") is None


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> ReverieHome:
    home = ReverieHome.at(tmp_path_factory.mktemp("home")).ensure()
    ingest(
        home,
        [
            FIXTURES / "claude-code" / "marot-spotter",
            FIXTURES / "claude-code" / "drmaciver-coverage-test-fix",
            FIXTURES / "codex" / "codemie",
        ],
        workers=1,
    )
    return home


def test_ingest_fills_actions_for_calls_and_results(ingested: ReverieHome) -> None:
    events = lake.read_table(ingested, "events")
    calls = events.filter(pl.col("type") == "tool_call")
    assert calls["action"].null_count() == 0
    actions = set(calls["action"].to_list())
    assert {
        "python -m pytest <path> -v",
        "git add <path> && git commit -m",
        "Edit *.py",
        "git status",
    } <= actions
    assert "npm test -- --run <path>" in actions  # Codex exec_command
    assert not {a for a in actions if a.startswith(("Bash", "exec_command"))}, "every command was read"
    results = events.filter(pl.col("type") == "tool_result").join(
        calls.select(
            "session_id", pl.col("event_id").alias("parent_event_id"), pl.col("action").alias("call")
        ),
        on=["session_id", "parent_event_id"],
    )
    assert results.height > 0 and (results["action"] == results["call"]).all()
    failed = events.filter(pl.col("type") == "tool_result", pl.col("is_error"))
    assert failed["error_signature"].null_count() < failed.height
    assert "nothing to commit, working tree clean" in set(failed["error_signature"].to_list())
    assert (
        events.filter(~pl.col("is_error"))["error_signature"].null_count()
        == events.filter(~pl.col("is_error")).height
    )


def test_ingest_fills_project_and_branch(ingested: ReverieHome) -> None:
    sessions = lake.read_table(ingested, "sessions")
    by_format = {
        (row["source_format"], row["project"], row["branch"])
        for row in sessions.select("source_format", "project", "branch").to_dicts()
    }
    assert ("claude_code", "spotter", "master") in by_format
    assert ("claude_code", "tmpw6sk2trg", "master") in by_format
    assert ("codex", "codemie-code", "feat/codex-agent-plugin") in by_format


def test_reingest_gives_the_same_actions(ingested: ReverieHome, tmp_path: Path) -> None:
    again = ReverieHome.at(tmp_path / "again").ensure()
    ingest(again, [FIXTURES / "claude-code" / "drmaciver-coverage-test-fix"], workers=1)
    first = lake.read_table(ingested, "events").filter(pl.col("source_file").str.contains("drmaciver"))
    second = lake.read_table(again, "events")
    key = ["session_id", "event_id"]
    assert first.sort(key)["action"].to_list() == second.sort(key)["action"].to_list()
