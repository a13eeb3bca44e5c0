"""A small, generic team runner: roles, tools, a message bus, turn limits, timeouts and retries.

Nothing here knows about any particular mission. A team is a set of `Role`s, each driven by an `Agent`
(scripted, Claude-backed, anything with `respond`). Agents act only through their `TurnContext`: calling a
tool or sending a message. Routing every action through the runner is what makes every session fully logged
(messages, decisions, tool calls, errors) without each agent having to remember to log.
"""

from __future__ import annotations

import concurrent.futures
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import jsonschema

from pipeline.agents.session_log import SessionRecorder
from pipeline.events import EventType

_VALIDATORS: dict[int, jsonschema.protocols.Validator] = {}


def _validator(tool: Tool) -> jsonschema.protocols.Validator:
    """Schema checking once per tool: `jsonschema.validate` re-checks the schema itself on every call, which
    cost more than the whole flight simulation."""
    validator = _VALIDATORS.get(id(tool))
    if validator is None:
        cls = jsonschema.validators.validator_for(tool.input_schema)
        cls.check_schema(tool.input_schema)
        validator = _VALIDATORS[id(tool)] = cls(tool.input_schema)
    return validator


class ToolError(Exception):
    """Raised by a tool handler to refuse a call; the message goes back to the agent as an error result."""


@dataclass(frozen=True)
class Tool:
    """A capability agents can invoke. `decision=True` logs calls as `decision` events (the dreamer's input)
    instead of tool_call/tool_result pairs."""

    name: str
    description: str
    input_schema: dict[str, Any]
    handler: Callable[[dict[str, Any], TurnContext], Any]
    decision: bool = False


@dataclass(frozen=True)
class Message:
    """`reply=True` marks an answer returned from a turn: it is delivered and logged but does not start a turn
    of its own, so two agents that always answer cannot ping-pong until the turn limit."""

    sender: str
    recipient: str
    content: str
    data: dict[str, Any] = field(default_factory=dict)
    reply: bool = False


class Agent(Protocol):
    """Whatever drives a role. `respond` handles one incoming message; its return value, if a string, is sent
    back to the message's sender as a reply."""

    def respond(self, message: Message, ctx: TurnContext) -> str | None: ...


@dataclass
class Role:
    name: str
    agent: Agent
    instructions: str = ""
    tools: Sequence[str] = ()
    can_message: Sequence[str] = ()


class MessageBus:
    """FIFO delivery between roles; every post is logged so a transcript can be rebuilt from the session."""

    def __init__(self, recorder: SessionRecorder | None, external: set[str] | None = None) -> None:
        self.queue: deque[Message] = deque()
        self.history: list[Message] = []
        self._recorder = recorder
        self._external = external or set()

    def post(self, message: Message) -> None:
        self.queue.append(message)
        self.history.append(message)
        if self._recorder is not None:
            payload: dict[str, Any] = {"to": message.recipient}
            if message.data:
                payload["data"] = message.data
            if message.reply:
                payload["reply"] = True
            role = "user" if message.sender in self._external else "assistant"
            self._recorder.record(
                EventType.MESSAGE, agent=message.sender, role=role, content=message.content, input=payload
            )


class TurnContext:
    """The only door an agent has to the world during its turn."""

    def __init__(self, team: TeamSession, role: Role) -> None:
        self.team = team
        self.role = role
        self.state = team.state

    def call_tool(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
    ) -> tuple[Any, bool]:
        """Run a tool for this role; returns (result, is_error). Errors are results, not exceptions, so an
        agent (or a model) can read them and correct itself."""
        return self.team._invoke(self.role, name, arguments, tokens_in=tokens_in, tokens_out=tokens_out)

    def send(self, recipient: str, content: str, data: dict[str, Any] | None = None) -> None:
        if recipient not in self.role.can_message and recipient not in self.team.external:
            raise ToolError(f"{self.role.name} may not message {recipient!r}")
        self.team.bus.post(Message(self.role.name, recipient, content, data or {}))

    def tools(self) -> list[Tool]:
        return [self.team.tools[name] for name in self.role.tools]


@dataclass
class TeamRun:
    """What a delivery produced: how many turns ran, whether a limit stopped it, and replies to outsiders."""

    turns: int
    stopped_by_turn_limit: bool
    outbox: list[Message]
    errors: list[str]


class TeamSession:
    """One working session of a team: shared state, bus and log across any number of deliveries."""

    def __init__(
        self,
        roles: Sequence[Role],
        tools: Sequence[Tool],
        *,
        recorder: SessionRecorder | None = None,
        max_turns: int = 32,
        turn_timeout: float | None = None,
        max_retries: int = 1,
        external: Sequence[str] = ("mission_control",),
    ) -> None:
        self.roles = {role.name: role for role in roles}
        self.tools = {tool.name: tool for tool in tools}
        unknown = {t for role in roles for t in role.tools} - set(self.tools)
        if unknown:
            raise ValueError(f"roles reference unknown tools: {sorted(unknown)}")
        self.recorder = recorder
        self.external = set(external)
        self.bus = MessageBus(recorder, self.external)
        self.state: dict[str, Any] = {}
        self.max_turns = max_turns
        self.turn_timeout = turn_timeout
        self.max_retries = max_retries
        self.turns_used = 0

    def _invoke(
        self,
        role: Role,
        name: str,
        arguments: dict[str, Any],
        *,
        tokens_in: int | None,
        tokens_out: int | None,
    ) -> tuple[Any, bool]:
        tool = self.tools.get(name)
        ctx = TurnContext(self, role)
        if tool is None or name not in role.tools:
            result, is_error = f"tool {name!r} is not available to {role.name}", True
        else:
            try:
                _validator(tool).validate(arguments)
                result, is_error = tool.handler(arguments, ctx), False
            except jsonschema.ValidationError as exc:
                result, is_error = f"invalid arguments: {exc.message}", True
            except ToolError as exc:
                result, is_error = str(exc), True
        self._log_tool(role, name, arguments, result, is_error, tool, tokens_in, tokens_out)
        return result, is_error

    def _log_tool(
        self,
        role: Role,
        name: str,
        arguments: dict[str, Any],
        result: Any,
        is_error: bool,
        tool: Tool | None,
        tokens_in: int | None,
        tokens_out: int | None,
    ) -> None:
        if self.recorder is None:
            return
        if tool is not None and tool.decision and not is_error:
            self.recorder.record(
                EventType.DECISION,
                agent=role.name,
                tool=name,
                input=arguments,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
            )
            return
        call = self.recorder.record(
            EventType.TOOL_CALL,
            agent=role.name,
            tool=name,
            input=arguments,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
        )
        self.recorder.record(
            EventType.TOOL_RESULT,
            agent=role.name,
            tool=name,
            role="tool",
            parent_event_id=call.event_id,
            content=str(result),
            is_error=is_error,
        )

    def _respond_once(self, role: Role, message: Message) -> str | None:
        ctx = TurnContext(self, role)
        if self.turn_timeout is None:
            return role.agent.respond(message, ctx)
        # A thread cannot be killed, but abandoning it lets the session move on and log the timeout.
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        try:
            return pool.submit(role.agent.respond, message, ctx).result(timeout=self.turn_timeout)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _turn(self, role: Role, message: Message, errors: list[str]) -> None:
        for attempt in range(self.max_retries + 1):
            try:
                reply = self._respond_once(role, message)
            except Exception as exc:  # any agent failure is logged and retried, never fatal to the session
                reason = "timed out" if isinstance(exc, concurrent.futures.TimeoutError) else repr(exc)
                errors.append(f"{role.name}: {reason}")
                if self.recorder is not None:
                    self.recorder.record(
                        EventType.ERROR,
                        agent=role.name,
                        is_error=True,
                        content=f"turn failed (attempt {attempt + 1}): {reason}",
                    )
                continue
            if reply:
                self.bus.post(Message(role.name, message.sender, reply, reply=True))
            return

    def deliver(self, message: Message) -> TeamRun:
        """Post `message` and run turns until no message is pending or the turn limit is reached."""
        self.bus.post(message)
        outbox: list[Message] = []
        errors: list[str] = []
        turns_before = self.turns_used
        while self.bus.queue:
            current = self.bus.queue.popleft()
            role = self.roles.get(current.recipient)
            if role is None:
                outbox.append(current)
                continue
            if current.reply:
                continue  # already logged and kept in bus.history; replies start no turn
            if self.turns_used >= self.max_turns:
                self.bus.queue.appendleft(current)
                if self.recorder is not None:
                    self.recorder.record(
                        EventType.ERROR,
                        agent=role.name,
                        is_error=True,
                        content=f"turn limit {self.max_turns} reached",
                    )
                return TeamRun(self.turns_used - turns_before, True, outbox, errors)
            self.turns_used += 1
            self._turn(role, current, errors)
        return TeamRun(self.turns_used - turns_before, False, outbox, errors)
