"""The generic team runner, exercised by a toy two-role team unrelated to any mission."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from pipeline.agents.session_log import SessionRecorder
from pipeline.agents.team import Message, Role, TeamSession, Tool, ToolError, TurnContext


def _record_price(arguments: dict, ctx: TurnContext) -> str:
    if arguments["value"] < 0:
        raise ToolError("prices cannot be negative")
    ctx.state["price"] = arguments["value"]
    return "ok"


PRICE = Tool(
    "set_price",
    "Set the quote price.",
    {
        "type": "object",
        "properties": {
            "parameter": {"type": "string"},
            "value": {"type": "number"},
            "rationale": {"type": "string"},
            "followed": {"type": "array"},
        },
        "required": ["parameter", "value", "rationale"],
    },
    _record_price,
    decision=True,
)
LOOKUP = Tool(
    "lookup",
    "Look up the list price.",
    {"type": "object", "properties": {"item": {"type": "string"}}},
    lambda arguments, ctx: 40,
)


class Manager:
    def respond(self, message: Message, ctx: TurnContext) -> str | None:
        ctx.send("pricer", f"Quote for {message.content}")
        return None


class Pricer:
    def respond(self, message: Message, ctx: TurnContext) -> str | None:
        base, _ = ctx.call_tool("lookup", {"item": "widget"})
        _, refused = ctx.call_tool(
            "set_price", {"parameter": "quote.price", "value": -1, "rationale": "typo"}
        )
        assert refused
        ctx.call_tool(
            "set_price",
            {"parameter": "quote.price", "value": base * 1.1, "rationale": "list + 10%", "followed": []},
        )
        return f"quoted {ctx.state['price']:.0f}"


def _session(manager, pricer, **kwargs) -> tuple[TeamSession, SessionRecorder]:
    recorder = SessionRecorder("toy-1", datetime(2025, 1, 1, tzinfo=UTC))
    roles = [
        Role("manager", manager, tools=(), can_message=("pricer",)),
        Role("pricer", pricer, tools=("lookup", "set_price"), can_message=("manager",)),
    ]
    return TeamSession(roles, [PRICE, LOOKUP], recorder=recorder, external=("customer",), **kwargs), recorder


def test_toy_team_delegates_decides_and_logs_everything():
    team, recorder = _session(Manager(), Pricer())
    run = team.deliver(Message("customer", "manager", "one widget"))
    assert not run.stopped_by_turn_limit and run.turns == 2
    assert team.state["price"] == 44.0
    kinds = [(e.type, e.agent, e.tool) for e in recorder.events]
    assert ("decision", "pricer", "set_price") in kinds
    assert ("tool_call", "pricer", "lookup") in kinds
    refused = [e for e in recorder.events if e.type == "tool_result" and e.is_error]
    assert len(refused) == 1 and "negative" in refused[0].content
    assert recorder.events[-1].type == "message" and recorder.events[-1].content == "quoted 44"
    assert recorder.events[0].role == "user"  # the outsider's request


def test_unknown_or_unowned_tools_come_back_as_errors():
    class Rogue:
        def respond(self, message, ctx):
            return str(ctx.call_tool("set_price", {"parameter": "p", "value": 1, "rationale": "x"}))

    team, _ = _session(Rogue(), Pricer())
    team.deliver(Message("customer", "manager", "go"))
    assert "price" not in team.state
    assert "not available" in team.bus.history[-1].content


def test_turn_limit_stops_a_team_that_never_settles():
    class Echo:
        def __init__(self, other):
            self.other = other

        def respond(self, message, ctx):
            ctx.send(self.other, "again")

    team, recorder = _session(Echo("pricer"), Echo("manager"), max_turns=5)
    run = team.deliver(Message("customer", "manager", "start"))
    assert run.stopped_by_turn_limit and run.turns == 5
    assert recorder.events[-1].type == "error" and "turn limit" in recorder.events[-1].content


def test_failing_turns_are_retried_and_logged():
    class Flaky:
        calls = 0

        def respond(self, message, ctx):
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("transient")
            return "done"

    team, recorder = _session(Flaky(), Pricer(), max_retries=1)
    run = team.deliver(Message("customer", "manager", "start"))
    assert Flaky.calls == 2 and run.errors == ["manager: RuntimeError('transient')"]
    assert [e.type for e in recorder.events].count("error") == 1
    assert run.outbox[-1].content == "done"


def test_slow_turns_time_out():
    class Slow:
        def respond(self, message, ctx):
            time.sleep(0.5)
            return "late"

    team, _ = _session(Slow(), Pricer(), turn_timeout=0.05, max_retries=0)
    run = team.deliver(Message("customer", "manager", "start"))
    assert run.errors == ["manager: timed out"] and run.outbox == []
