"""Claude-backed commands on a day the API is down or failing: one line, non-zero exit, nothing false landed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from pipeline import lake
from tests.support.messages_stub import MessagesStub

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
runner = CliRunner()

pytestmark = pytest.mark.xdist_group("dagster-cli")


def reverie(home, *args: str):
    return runner.invoke(app, ["--home", str(home.root), *args], catch_exceptions=False)


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


@pytest.fixture
def claude_env(monkeypatch):
    def point_at(stub: MessagesStub) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.url)
        monkeypatch.setenv("REVERIE_LLM_MAX_RETRIES", "0")

    return point_at


def test_fly_with_the_api_down_exits_non_zero_and_lands_nothing(reverie_home, claude_env):
    with MessagesStub(fail_first=10**6) as stub:  # every call answered 529 overloaded
        claude_env(stub)
        result = reverie(
            reverie_home, "fly", "--date", "2026-11-20", "--missions", "2", "--backend", "claude"
        )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = _error_lines(result.output)
    assert len(errors) == 1 and "Claude API cannot be used" in errors[0] and "not landed" in errors[0]
    landing = reverie_home.landing / "2026-11-20"
    assert not landing.exists() or not list(landing.glob("*.jsonl"))
    assert lake.partitions(reverie_home, "sessions") == []


def test_a_failed_rubric_batch_is_one_line_and_a_rerun_grades(reverie_home, claude_env):
    def judge(body):
        call = {
            "type": "tool_use",
            "name": "record_verdict",
            "input": {"verdict": "satisfied", "explanation": "ok"},
        }
        return {"content": [call], "stop_reason": "tool_use"}

    with MessagesStub(judge, fail_batch_creates=1) as stub:
        claude_env(stub)
        ingested = reverie(reverie_home, "ingest", str(FIXTURES / "openai-agents"))
        assert ingested.exit_code == 0, ingested.output
        warnings = [line for line in ingested.output.splitlines() if "not graded" in line]
        assert len(warnings) == 1 and "could not create the message batch" in warnings[0]
        count = "select count(*) filter (where passed is null), count(*) filter (where grader = 'expectation') from outcomes"
        before = lake.connect(reverie_home).execute(count).fetchone()
        assert before[0] > 0 and before[1] > 0  # rubric ungraded, deterministic criteria scored and written

        rescored = reverie(reverie_home, "score")  # the API is back
    assert rescored.exit_code == 0, rescored.output
    assert "not graded:" not in rescored.output
    after = lake.connect(reverie_home).execute(count).fetchone()
    assert after == (0, before[1])
