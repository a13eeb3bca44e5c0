"""Coding success reads what happened: the last test run, rejected or interrupted turns, work left
uncommitted. Sessions are real Claude Code transcripts from tests/fixtures (or variants of one, changed
only where the test says) and native logs whose tool outputs are real runners' summaries."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipeline import lake
from pipeline.events import Event
from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest
from pipeline.outcomes import CriteriaError, load_criteria, score_partition

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TRANSCRIPT = FIXTURES / "claude-code" / "drmaciver-coverage-test-fix" / "transcript.jsonl"
SESSION = "c64cc478-3430-40fe-8e9c-4ee9986e9754"
DAY = "2026-01-21"
RED_PYTEST = (
    "============================= test session starts ==============================\n"
    "collected 2 items\n\ntests/test_math_utils.py .F                                     [100%]\n\n"
    "FAILED tests/test_math_utils.py::test_multiply_numbers - assert 5 == 6\n"
    "========================= 1 failed, 1 passed in 0.03s =========================="
)


def _lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in TRANSCRIPT.read_text().splitlines()]


def _block(line: dict[str, Any], kind: str) -> dict[str, Any] | None:
    content = (line.get("message") or {}).get("content")
    if isinstance(content, list):
        return next((b for b in content if isinstance(b, dict) and b.get("type") == kind), None)
    return None


def _index(lines: list[dict[str, Any]], predicate) -> int:
    return next(i for i, line in enumerate(lines) if predicate(line))


def _use_of(lines: list[dict[str, Any]], needle: str) -> int:
    return _index(
        lines, lambda line: (b := _block(line, "tool_use")) is not None and needle in json.dumps(b["input"])
    )


def _result_of(lines: list[dict[str, Any]], use_index: int) -> int:
    tool_id = _block(lines[use_index], "tool_use")["id"]
    return _index(
        lines, lambda line: (b := _block(line, "tool_result")) is not None and b["tool_use_id"] == tool_id
    )


def _write(folder: Path, name: str, session: str, lines: list[dict[str, Any]]) -> Path:
    text = "\n".join(json.dumps(line) for line in lines).replace(SESSION, session) + "\n"
    path = folder / f"{name}.jsonl"
    path.write_text(text)
    return path


def red_tests_then_git_status() -> list[dict[str, Any]]:
    """The real session, but its test run is red and it ends on a successful `git status`."""
    lines = _lines()
    run = _use_of(lines, "pytest")
    result = _result_of(lines, run)
    red = copy.deepcopy(lines[: result + 1])
    block = _block(red[result], "tool_result")
    block["content"], block["is_error"] = "Exit code 1\n" + RED_PYTEST, True
    red[result]["toolUseResult"] = "Error: Exit code 1\n" + RED_PYTEST
    status = _use_of(lines, '"git status"')
    when = datetime.fromisoformat(red[result]["timestamp"].replace("Z", "+00:00"))
    for offset, source in enumerate((lines[status], lines[_result_of(lines, status)]), start=1):
        line = copy.deepcopy(source)
        line["uuid"] = f"status-again-{offset}"
        line["timestamp"] = (when + timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")
        for kind, key in (("tool_use", "id"), ("tool_result", "tool_use_id")):
            if (b := _block(line, kind)) is not None:
                b[key] = "toolu_status_again"
        red.append(line)
    return red


def asked_to_commit_but_stopped_before() -> list[dict[str, Any]]:
    """The real session with "then commit" in the prompt, cut before its first commit."""
    lines = copy.deepcopy(_lines())
    prompt = _index(
        lines, lambda line: line.get("type") == "user" and isinstance(line["message"]["content"], str)
    )
    lines[prompt]["message"]["content"] += " Then commit the change."
    return lines[: _use_of(lines, "git commit")]


class NativeSession:
    """A `reverie.event/v1` session whose tool calls run shell commands (as a Bash tool would record them)."""

    def __init__(self, session_id: str, task: str = "fix the failing test") -> None:
        self.session_id, self.events = session_id, []
        self._add(
            "session_start", input={"task": task, "context": {"cwd": "/w/acme-api"}, "playbook_version": None}
        )
        self._add("message", role="user", content=task)

    def _add(self, type_: str, **fields: Any) -> NativeSession:
        ts = datetime(2025, 3, 14, 9, tzinfo=UTC) + timedelta(seconds=len(self.events))
        self.events.append(
            Event(session_id=self.session_id, event_id=f"e{len(self.events)}", ts=ts, type=type_, **fields)
        )
        return self

    def run(self, command: str, output: str, *, error: bool = False) -> NativeSession:
        call = f"e{len(self.events)}"
        self._add("tool_call", tool="Bash", input={"command": command})
        return self._add("tool_result", tool="Bash", parent_event_id=call, content=output, is_error=error)

    def write(self, folder: Path) -> Path:
        self._add("message", role="assistant", content="done")
        path = folder / f"{self.session_id}.jsonl"
        path.write_text("".join(e.to_json_line() + "\n" for e in self.events))
        return path


def _scored(home: ReverieHome, paths: list[Path], day: str) -> pl.DataFrame:
    ingest(home, paths, workers=1)
    return score_partition(home, day, load_criteria()).outcomes


def _verdicts(outcomes: pl.DataFrame, session: str) -> dict[str, bool | None]:
    rows = outcomes.filter(pl.col("session_id") == session)
    return dict(zip(rows["criterion"], rows["passed"], strict=True))


def _success(home: ReverieHome) -> dict[str, bool]:
    return dict(lake.connect(home).sql("SELECT session_id, success FROM session_outcomes").fetchall())


@pytest.fixture
def home(tmp_path: Path) -> ReverieHome:
    return ReverieHome.at(tmp_path / "home").ensure()


def test_harmless_failing_commit_after_green_tests_is_a_success(home, tmp_path):
    outcomes = _scored(home, [TRANSCRIPT], DAY)
    verdicts = _verdicts(outcomes, SESSION)
    assert verdicts["no_unrecovered_tool_error"] is False, "it does end on a failed `git commit`"
    assert verdicts["ended_green"] is True and verdicts["committed_when_asked"] is True
    assert _success(home)[SESSION] is True


def test_git_status_after_red_tests_is_a_failure(home, tmp_path):
    path = _write(tmp_path, "red", "red-tests", red_tests_then_git_status())
    verdicts = _verdicts(_scored(home, [path], DAY), "red-tests")
    assert verdicts["no_unrecovered_tool_error"] is True, "its last tool result is a successful `git status`"
    assert verdicts["ended_green"] is False
    assert _success(home)["red-tests"] is False


def test_work_left_uncommitted_when_a_commit_was_asked_for_fails(home, tmp_path):
    path = _write(tmp_path, "uncommitted", "uncommitted", asked_to_commit_but_stopped_before())
    outcomes = _scored(home, [path], DAY)
    assert _verdicts(outcomes, "uncommitted")["committed_when_asked"] is False
    value = outcomes.filter(
        (pl.col("session_id") == "uncommitted") & (pl.col("criterion") == "committed_when_asked")
    )
    assert value["value"].item() == "2", "two Edit calls after no commit"
    assert _success(home)["uncommitted"] is False


def test_a_rejected_tool_call_fails_the_session(home):
    outcomes = _scored(home, [FIXTURES / "claude-code" / "marot-spotter" / "short.jsonl"], "2026-02-10")
    sessions = outcomes.filter(pl.col("criterion") == "no_rejected_or_interrupted_turn")
    assert sessions.height == 1 and sessions["passed"].item() is False
    assert int(sessions["value"].item()) >= 1


def test_last_test_run_reads_the_runners_summaries(home, tmp_path):
    folder = tmp_path / "native"
    folder.mkdir()
    jest_red = "FAIL src/sum.test.ts\nTests:       1 failed, 12 passed, 13 total\nTime:        1.2 s"
    vitest_green = " Test Files  3 passed (3)\n      Tests  42 passed (42)\n   Duration  1.10s"
    go_red = (
        "--- FAIL: TestParse (0.00s)\n    parse_test.go:9: got 1 want 2\nFAIL\nFAIL\texample.com/p\t0.01s"
    )
    sessions = [
        NativeSession("jest-red")
        .run("npx jest --runInBand", jest_red, error=True)
        .run("git status", "clean"),
        NativeSession("vitest-green")
        .run("npx vitest run", vitest_green)
        .run("git commit -m x", "nothing", error=True),
        NativeSession("go-red-then-green")
        .run("go test ./...", go_red, error=True)
        .run("go test ./...", "ok  \texample.com/p\t0.01s"),
        NativeSession("cargo-green").run("cargo test 2>&1", "test result: ok. 4 passed; 0 failed; 0 ignored"),
        NativeSession("piped-pytest-red").run("cd app && pytest -q | tail -3", "1 failed, 3 passed in 0.2s"),
        NativeSession("mix-red").run(
            "mix test 2>&1 | tail -5", "Finished in 0.5 seconds\n13 tests, 1 failure"
        ),
        NativeSession("no-tests-broken").run("ls", "ok").run("make build", "error", error=True),
    ]
    outcomes = _scored(home, [s.write(folder) for s in sessions], "2025-03-14")
    ended = {s: _verdicts(outcomes, s)["ended_green"] for s in (n.session_id for n in sessions)}
    assert ended == {
        "jest-red": False,
        "vitest-green": True,
        "go-red-then-green": True,
        "cargo-green": True,
        "piped-pytest-red": False,
        "mix-red": False,
        "no-tests-broken": False,
    }


def test_users_bring_criteria_without_editing_the_checkout(home, tmp_path):
    folder = home.root / "outcomes"
    folder.mkdir()
    (folder / "mine.yaml").write_text(
        "version: 1\n"
        "groups:\n"
        "  - name: coding_defaults\n"  # replaces the shipped group of that name
        "    task: '*'\n"
        "    fallback: true\n"
        "    criteria:\n"
        "      - name: green\n"
        "        required: true\n"
        "        expectation: {type: expect_column_values_to_be_in_set, kwargs: {column: ended_green, value_set: [true]}}\n"
        "      - name: in_acme\n"
        "        expectation: {type: expect_column_values_to_be_in_set, kwargs: {column: project, value_set: [acme-api]}}\n"
    )
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "version: 1\ngroups:\n  - name: docs_tasks\n    task: 'write docs*'\n    criteria:\n"
        "      - name: short\n        expectation: {type: expect_column_values_to_be_between, "
        "kwargs: {column: n_tool_calls, max_value: 5}}\n"
    )
    suite = load_criteria(home_root=home.root, extra=[extra])
    coding = next(g for g in suite.groups if g.name == "coding_defaults")
    assert [c.name for c in coding.criteria] == ["green", "in_acme"]
    assert {g.name for g in suite.groups} == {"coding_defaults", "lunar_mission", "docs_tasks"}
    assert "no_unrecovered_tool_error" not in {c.name for c in suite.criteria}
    with pytest.raises(CriteriaError, match="no such criteria file"):
        load_criteria(extra=[tmp_path / "missing.yaml"])


@pytest.mark.xdist_group("dagster-cli")
def test_reverie_score_criteria_option(reverie_home, tmp_path):
    from typer.testing import CliRunner

    from cli import app

    def reverie(*args: str):
        return CliRunner().invoke(app, ["--home", str(reverie_home.root), *args], catch_exceptions=False)

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\ngroups:\n  - name: g\n    task: '*'\n    criteria:\n      - name: x\n        expectation: {type: nope}\n"
    )
    refused = reverie("score", "--criteria", str(bad))
    output = refused.output.replace("\n", "")  # rich wraps long paths to the terminal width
    assert refused.exit_code == 1 and f"{bad}:7:" in output and "Traceback" not in output

    ingest(reverie_home, [TRANSCRIPT], workers=1)
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "version: 1\ngroups:\n  - name: my_coding\n    task: '*'\n    criteria:\n      - name: in_a_project\n"
        "        expectation: {type: expect_column_values_to_not_be_null, kwargs: {column: project}}\n"
    )
    scored = reverie("score", "--criteria", str(extra))
    assert scored.exit_code == 0, scored.output
    outcomes = lake.read_table(reverie_home, "outcomes")
    assert outcomes.filter(pl.col("criterion") == "in_a_project")["passed"].to_list() == [True]


def test_metrics_compute_actions_for_events_written_before_the_action_column():
    from pipeline.events import EVENTS_SCHEMA
    from pipeline.outcomes.metrics import evaluate_metrics

    suite = load_criteria()
    rows = [
        {"session_id": "old", "event_id": "c", "type": "tool_call", "tool": "Bash", "seq": 1,
         "input": json.dumps({"command": "pytest -q"})},
        {"session_id": "old", "event_id": "r", "parent_event_id": "c", "type": "tool_result", "tool": "Bash",
         "seq": 2, "content": "1 failed, 2 passed", "is_error": True},
        {"session_id": "old", "event_id": "s", "type": "tool_call", "tool": "Bash", "seq": 3,
         "input": json.dumps({"command": "git status"})},
        {"session_id": "old", "event_id": "t", "parent_event_id": "s", "type": "tool_result", "seq": 4,
         "content": "clean", "is_error": False},
    ]  # fmt: skip
    old_schema = EVENTS_SCHEMA.remove(EVENTS_SCHEMA.get_field_index("action"))
    events = (
        pl.DataFrame(rows)
        .to_arrow()
        .select(
            [
                n
                for n in (
                    "session_id",
                    "event_id",
                    "parent_event_id",
                    "seq",
                    "type",
                    "tool",
                    "input",
                    "content",
                    "is_error",
                )
            ]
        )
    )
    assert "action" not in old_schema.names and "action" not in events.column_names
    sessions = pl.DataFrame({"session_id": ["old"], "task": ["fix"], "final_status": [None]})
    frame = evaluate_metrics(sessions, events, {"ended_green": suite.metrics["ended_green"].sql})
    assert frame["ended_green"].to_list() == [False]
