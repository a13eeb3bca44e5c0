"""The claude backend flies a full mission against the local Messages API stub."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.events import Event
from pipeline.llm.client import LLMSettings
from pipeline.missions.lunar.autopilot import PARAMETERS
from pipeline.missions.lunar.runner import MissionSpec, run_mission
from pipeline.playbooks.model import Condition, Entry, EntryStatus, Playbook, Recommendation, Rule, Section
from tests.support.messages_stub import MessagesStub

PLAYBOOK = Playbook(
    version="v3",
    created_at=datetime(2025, 1, 1, tzinfo=UTC),
    status="approved",
    entries=[
        Entry(
            id="pb-9",
            agent="propulsion",
            section=Section.RULES,
            text="Brake harder in heavy gravity.",
            rule=Rule(
                parameter="propulsion.descent_damping",
                conditions=[Condition(feature="gravity", max=0)],
                recommend=Recommendation(min=0.9, max=1.2),
            ),
            support=50,
            confidence=0.8,
            status=EntryStatus.APPROVED,
            created_in="v3",
            updated_in="v3",
        )
    ],
)


def _role_of(body: dict) -> str:
    return body["system"][0]["text"].split(".")[0].removeprefix("You are ")


def crew(body: dict) -> dict:
    """A scripted crew: the director delegates and says go; specialists set every owned parameter."""
    role, last = _role_of(body), body["messages"][-1]
    if isinstance(last["content"], list):  # tool results came back: finish the turn
        return {"content": [{"type": "text", "text": f"{role}: done"}], "stop_reason": "end_turn"}
    text = last["content"]
    if role == "flight_director":
        if "Mission briefing" in text:
            calls = [
                {"type": "tool_use", "name": "send_message", "input": {"to": r, "content": "Plan your part."}}
                for r in ("guidance", "propulsion", "touchdown")
            ]
        elif "decide go or abort" in text:
            calls = [
                {
                    "type": "tool_use",
                    "name": "go_no_go",
                    "input": {
                        "parameter": "flight_director.go",
                        "value": "go",
                        "rationale": "plan complete",
                        "followed": [],
                    },
                }
            ]
        else:
            return {"content": [{"type": "text", "text": "Report: flight flown."}], "stop_reason": "end_turn"}
        return {"content": calls, "stop_reason": "tool_use"}
    calls = []
    for spec in PARAMETERS:
        if spec.role == role:
            followed = ["pb-9"] if spec.name == "propulsion.descent_damping" else []
            value = 1.0 if followed else spec.reference
            calls.append(
                {
                    "type": "tool_use",
                    "name": "set_parameter",
                    "input": {
                        "parameter": spec.name,
                        "value": value,
                        "rationale": "scripted",
                        "followed": followed,
                    },
                }
            )
    return {"content": calls, "stop_reason": "tool_use"}


def test_claude_crew_flies_and_logs_a_native_session(tmp_path):
    with MessagesStub(crew) as stub:
        settings = LLMSettings(api_key="test", base_url=stub.url, max_retries=0)
        record = run_mission(
            MissionSpec(
                day=date(2025, 6, 1),
                index=0,
                seed=21,
                backend="claude",
                playbook=PLAYBOOK,
                llm=settings,
                landing_dir=tmp_path,
            )
        )
        requests = [body for path, body in stub.requests if path == "/v1/messages"]

    assert record.status != "aborted" and record.metrics["steps"] > 0
    assert record.params["propulsion.descent_damping"] == 1.0 and record.followed == ["pb-9"]
    events = [
        Event.model_validate(json.loads(line))
        for line in Path(record.path).read_text(encoding="utf-8").splitlines()
    ]
    decisions = [e for e in events if e.type == "decision" and e.tool == "set_parameter"]
    assert {d.input["parameter"] for d in decisions} == {spec.name for spec in PARAMETERS}
    assert all(d.agent != "flight_director" for d in decisions)  # nothing had to be defaulted
    assert sum(e.tokens_in or 0 for e in events) > 0
    assert events[-2].type == "message" and events[-2].content == "Report: flight flown."

    # The playbook travels as a cached system block, and each role only sees its own entries.
    propulsion = [b for b in requests if _role_of(b) == "propulsion"][0]
    assert propulsion["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "pb-9" in propulsion["system"][-1]["text"]
    guidance = [b for b in requests if _role_of(b) == "guidance"][0]
    assert "pb-9" not in json.dumps(guidance["system"])
    assert {t["name"] for t in propulsion["tools"]} >= {"set_parameter", "send_message"}


def test_silent_crew_gets_no_go_and_the_log_shows_the_gaps(tmp_path):
    def silent(body: dict) -> dict:
        return {"content": [{"type": "text", "text": "No comment."}], "stop_reason": "end_turn"}

    with MessagesStub(silent) as stub:
        settings = LLMSettings(api_key="test", base_url=stub.url, max_retries=0)
        record = run_mission(
            MissionSpec(
                day=date(2025, 6, 1), index=1, seed=23, backend="claude", llm=settings, landing_dir=tmp_path
            )
        )
    assert record.status == "aborted" and record.failure_mode == "aborted" and not record.success
    events = [
        Event.model_validate(json.loads(line))
        for line in Path(record.path).read_text(encoding="utf-8").splitlines()
    ]
    filled = [
        e
        for e in events
        if e.type == "decision" and e.agent == "flight_director" and e.tool == "set_parameter"
    ]
    assert len(filled) == len(PARAMETERS) and all("reference value" in e.input["rationale"] for e in filled)
    assert not any(e.type == "observation" for e in events)  # nothing flew
