"""An unlucky day at the API, through the real SDK and the local stub: every fault ends in a clear, bounded
outcome, and whatever could be done without Claude is still done."""

from __future__ import annotations

import json
import time
from typing import Any

import anthropic
import polars as pl
import pytest

from pipeline.dreaming import dream
from pipeline.llm import LLMBatchTimeoutError, LLMError, LLMSettings, make_client, wait_for_batch
from pipeline.outcomes import load_criteria, score_partition
from pipeline.outcomes.rubric import RubricGrader
from tests.dreaming.conftest import DAY as DREAM_DAY
from tests.outcomes.conftest import DAY, SessionLog, ingest_sessions
from tests.support.messages_stub import MessagesStub
from tests.support.synthetic_coding import write_coding_corpus

MODEL = "claude-sonnet-4-5"
ASK = [{"role": "user", "content": "hello"}]


def _settings(stub: MessagesStub, **overrides: Any) -> LLMSettings:
    return LLMSettings(api_key="test", base_url=stub.url, max_retries=0, batch_poll_s=0.02, **overrides)


# -- settings ---------------------------------------------------------------------------------------------


def test_timeout_deadline_and_retries_come_from_the_environment() -> None:
    settings = LLMSettings.from_env(
        {
            "ANTHROPIC_API_KEY": "k",
            "REVERIE_LLM_TIMEOUT_S": "7.5",
            "REVERIE_LLM_BATCH_DEADLINE_S": "120",
            "REVERIE_LLM_MAX_RETRIES": "0",
        }
    )
    assert (settings.timeout_s, settings.batch_deadline_s, settings.max_retries) == (7.5, 120.0, 0)
    assert make_client(settings).timeout == 7.5


@pytest.mark.parametrize("value", ["soon", "0", "-3"])
def test_a_bad_timeout_setting_names_the_variable(value: str) -> None:
    with pytest.raises(LLMError, match="REVERIE_LLM_TIMEOUT_S"):
        LLMSettings.from_env({"REVERIE_LLM_TIMEOUT_S": value})


def test_the_configured_timeout_bounds_a_request_that_hangs() -> None:
    def slow(body: dict[str, Any]) -> str:
        time.sleep(1.5)
        return "late"

    with MessagesStub(slow) as stub:
        client = make_client(_settings(stub, timeout_s=0.2))
        with pytest.raises(anthropic.APITimeoutError):
            client.messages.create(model=MODEL, max_tokens=10, messages=ASK)


# -- malformed replies ------------------------------------------------------------------------------------


def test_a_200_whose_body_is_not_json_is_a_clear_api_error() -> None:
    with MessagesStub(malformed_replies=1) as stub:
        client = make_client(_settings(stub))
        with pytest.raises(anthropic.APIResponseValidationError, match="not JSON") as caught:
            client.messages.create(model=MODEL, max_tokens=10, messages=ASK)
        assert stub.url in str(caught.value)
        # the next reply is sound again: nothing was left half-read
        assert client.messages.create(model=MODEL, max_tokens=10, messages=ASK).content[0].text == "OK"


# -- batches that never end ---------------------------------------------------------------------------------


def test_a_batch_that_never_ends_is_cancelled_at_the_deadline() -> None:
    with MessagesStub(batches_never_end=True) as stub:
        settings = _settings(stub, batch_deadline_s=0.3)
        client = make_client(settings)
        batch = client.messages.batches.create(
            requests=[{"custom_id": "a", "params": {"model": MODEL, "max_tokens": 5, "messages": ASK}}]
        )
        with pytest.raises(LLMBatchTimeoutError, match="REVERIE_LLM_BATCH_DEADLINE_S"):
            wait_for_batch(client, batch, settings)
        paths = [path for path, _ in stub.requests]
    assert paths[-1] == f"/v1/messages/batches/{batch.id}/cancel"


# -- rubric grading ---------------------------------------------------------------------------------------


def judge(body: dict[str, Any]) -> dict[str, Any]:
    text = body["messages"][0]["content"]
    verdict = "satisfied" if "tests pass" in text else "failed"
    call = {"type": "tool_use", "name": "record_verdict", "input": {"verdict": verdict, "explanation": "ok"}}
    return {"content": [call], "stop_reason": "tool_use"}


@pytest.fixture
def coding_home(reverie_home):
    ingest_sessions(
        reverie_home,
        [
            SessionLog("good", "fix")
            .message("user", "fix")
            .tool("bash", "ok")
            .message("assistant", "tests pass"),
            SessionLog("bad", "fix").message("user", "fix").tool("bash", "boom", error=True),
        ],
    )
    return reverie_home


def _by_grader(report) -> dict[str, list]:
    rows = report.outcomes
    graded = rows.filter(pl.col("grader") != "expectation")
    return {
        "deterministic": rows.filter(pl.col("grader") == "expectation")["passed"].to_list(),
        "rubric": graded["passed"].to_list(),
        "detail": graded["detail"].to_list(),
    }


def test_a_failed_batch_create_keeps_deterministic_verdicts_and_a_rerun_grades(coding_home):
    suite = load_criteria()
    with MessagesStub(judge, fail_batch_creates=1) as stub:
        grader = RubricGrader(_settings(stub), coding_home.cache)
        first = _by_grader(score_partition(coding_home, DAY, suite, grader=grader))
        assert first["deterministic"] and None not in first["deterministic"]
        assert first["rubric"] == [None, None]
        assert all(
            d.startswith("grading failed: could not create the message batch") for d in first["detail"]
        )

        again = _by_grader(score_partition(coding_home, DAY, suite, grader=grader))  # the API is back
    assert sorted(again["rubric"]) == [False, True]
    assert again["deterministic"] == first["deterministic"]


def test_a_rubric_batch_past_its_deadline_is_not_graded(coding_home):
    with MessagesStub(judge, batches_never_end=True) as stub:
        grader = RubricGrader(_settings(stub, batch_deadline_s=0.3), coding_home.cache)
        report = _by_grader(score_partition(coding_home, DAY, load_criteria(), grader=grader))
    assert report["rubric"] == [None, None]
    assert all("did not end within 0.3 s" in d for d in report["detail"])


# -- the Claude dreamer -----------------------------------------------------------------------------------


def _malformed_curator(body: dict[str, Any]) -> dict[str, Any]:
    """A model whose tool input ignores the schema in the ways real replies have."""
    if not body.get("tools"):
        return {"content": [{"type": "text", "text": "A reflection."}]}
    operations = [
        {"op": "add", "agent": "*", "text": "Cite five.", "evidence": 5},
        {"op": "retire", "entry_id": ["e1", "e2"], "reason": "dup"},
        {"op": "merge", "entry_id": {"id": 1}, "into": "x"},
        {"op": "add", "bundle": ["b1"], "text": "t", "evidence": ["s1"]},
        {"op": "add", "rule": "avoid rm", "text": "t", "evidence": ["s1"]},
        {"op": ["add"]},
        "not an object",
    ]
    call = {"type": "tool_use", "name": "propose_operations", "input": {"operations": operations}}
    return {"content": [call], "stop_reason": "tool_use"}


def test_malformed_curate_input_drops_those_operations_and_keeps_the_dream(reverie_home):
    write_coding_corpus(reverie_home, DREAM_DAY, 120)
    offline = dream(reverie_home, DREAM_DAY, write=False)
    with MessagesStub(_malformed_curator) as stub:
        result = dream(reverie_home, DREAM_DAY, backend="claude", llm_settings=_settings(stub), write=False)
    claude = result.stats.extra["claude"]
    assert claude["proposed"] == 6 and claude["dropped"] == 6
    assert all(reason.startswith("malformed operation") for reason in claude["drop_reasons"])
    assert [e.text for e in result.playbook.entries] == [e.text for e in offline.playbook.entries]
    assert offline.playbook.entries  # the statistical part is there to keep


def test_a_reflect_batch_that_never_ends_fails_the_dream_with_the_setting_to_change(reverie_home):
    write_coding_corpus(reverie_home, DREAM_DAY, 120)
    stub = MessagesStub(_malformed_curator, batches_never_end=True)
    with stub, pytest.raises(LLMBatchTimeoutError, match="REVERIE_LLM_BATCH_DEADLINE_S"):
        dream(reverie_home, DREAM_DAY, backend="claude", llm_settings=_settings(stub, batch_deadline_s=0.3))
    assert not (reverie_home.root / "playbooks").exists() or not any(
        (reverie_home.root / "playbooks").iterdir()
    )


def test_stub_fault_modes_heal_when_switched_off() -> None:
    with MessagesStub(fail_batch_creates=1) as stub:
        client = make_client(_settings(stub))
        params = {"model": MODEL, "max_tokens": 5, "messages": ASK}
        with pytest.raises(anthropic.InternalServerError):
            client.messages.batches.create(requests=[{"custom_id": "a", "params": params}])
        batch = client.messages.batches.create(requests=[{"custom_id": "a", "params": params}])
        ended = wait_for_batch(client, batch, _settings(stub))
        lines = [json.loads(r.model_dump_json()) for r in client.messages.batches.results(ended.id)]
    assert ended.processing_status == "ended" and lines[0]["result"]["type"] == "succeeded"
