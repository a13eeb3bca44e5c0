"""The lunar landing crew: a flight director and three specialists, each owning part of the autopilot.

The director reads the briefing, delegates to guidance, propulsion and touchdown, merges their plans,
decides go/abort and writes the mission report. Specialists decide only the parameters they own. Backends
differ only in how a role thinks (`offline` scripted planners or `claude`); roles, tools and logging are
shared, so sessions from either backend look the same to the dreamer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.agents.team import Message, Role, Tool, ToolError, TurnContext
from pipeline.missions.lunar.autopilot import PARAMETERS, ROLES, SPECS_BY_NAME, ParameterSpec
from pipeline.playbooks.model import Entry, Playbook
from pipeline.playbooks.render import agent_title
from pipeline.playbooks.safe_text import inline_markdown, json_code, one_line

DIRECTOR = "flight_director"
MISSION_CONTROL = "mission_control"
FLIGHT_COMPUTER = "flight_computer"
TASK = "lunar_landing"
SPECIALIST_BRIEFS: dict[str, str] = {
    "guidance": "You own attitude and lateral targeting: how hard to steer toward the pad and how steeply to tilt.",
    "propulsion": "You own vertical descent and main-engine throttle thresholds: altitude profile and sink rate.",
    "touchdown": "You own final approach and leg-contact behaviour: braking and attitude once a leg touches.",
}
DIRECTOR_BRIEF = (
    "You are the flight director of a lunar landing. Read the briefing and the playbook in force, brief "
    "the guidance, propulsion and touchdown specialists with send_message, then when all plans are in "
    "decide go or abort with go_no_go, and after the flight write a short mission report."
)


def owned_parameters(role: str) -> list[ParameterSpec]:
    return [spec for spec in PARAMETERS if spec.role == role]


# --- tools -------------------------------------------------------------------------------------------------


def _set_parameter(arguments: dict[str, Any], ctx: TurnContext) -> str:
    name = arguments["parameter"]
    spec = SPECS_BY_NAME.get(name)
    if spec is None:
        raise ToolError(
            f"unknown parameter {name!r}; yours are {[s.name for s in owned_parameters(ctx.role.name)]}"
        )
    if spec.role != ctx.role.name:
        raise ToolError(f"{name} belongs to {spec.role}, not {ctx.role.name}")
    value = float(arguments["value"])
    if not spec.prior_low <= value <= spec.prior_high:
        raise ToolError(f"{name}={value} is outside the safe envelope [{spec.prior_low}, {spec.prior_high}]")
    ctx.state.setdefault("plan", {})[name] = value
    ctx.state.setdefault("followed", {})[name] = list(arguments.get("followed", []))
    return f"{name} set to {value:g}"


def _go_no_go(arguments: dict[str, Any], ctx: TurnContext) -> str:
    ctx.state["go"] = arguments["value"] == "go"
    return f"decision recorded: {arguments['value']}"


SET_PARAMETER = Tool(
    name="set_parameter",
    description="Set one autopilot parameter you own. Cite the playbook entry ids you followed (may be empty).",
    input_schema={
        "type": "object",
        "properties": {
            "parameter": {"type": "string", "enum": [spec.name for spec in PARAMETERS]},
            "value": {"type": "number"},
            "rationale": {"type": "string"},
            "followed": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["parameter", "value", "rationale", "followed"],
    },
    handler=_set_parameter,
    decision=True,
)

GO_NO_GO = Tool(
    name="go_no_go",
    description="Commit the merged plan (go) or scrub the mission (abort).",
    input_schema={
        "type": "object",
        "properties": {
            "parameter": {"type": "string", "enum": ["flight_director.go"]},
            "value": {"type": "string", "enum": ["go", "abort"]},
            "rationale": {"type": "string"},
            "followed": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["parameter", "value", "rationale", "followed"],
    },
    handler=_go_no_go,
    decision=True,
)

LUNAR_TOOLS: tuple[Tool, ...] = (SET_PARAMETER, GO_NO_GO)


def build_roles(agents: dict[str, Any]) -> list[Role]:
    """The four roles wired to the given agents (one per role name)."""
    director = Role(DIRECTOR, agents[DIRECTOR], DIRECTOR_BRIEF, tools=("go_no_go",), can_message=ROLES)
    specialists = [
        Role(role, agents[role], SPECIALIST_BRIEFS[role], tools=("set_parameter",), can_message=(DIRECTOR,))
        for role in ROLES
    ]
    return [director, *specialists]


# --- playbook -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaybookAdvice:
    """What the playbook says about one parameter in this mission's conditions: a range to stay within,
    optionally a value to fly exactly (`value`) or a preferred value inside the range (`centre`)."""

    low: float
    high: float
    value: float | None
    entry_ids: list[str]
    centre: float | None = None


def applicable_entries(playbook: Playbook | None, parameter: str, context: dict[str, Any]) -> list[Entry]:
    """Approved parameter rules for `parameter` whose conditions hold, most trusted first."""
    if playbook is None:
        return []
    entries = [
        entry
        for entry in playbook.active_entries()
        if entry.rule is not None
        and entry.rule.kind == "parameter"
        and entry.rule.parameter == parameter
        and entry.rule.recommend is not None
        and entry.rule.applies(context)
    ]
    return sorted(entries, key=lambda e: (-e.confidence, -e.support, e.id))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def advice_for(
    playbook: Playbook | None, spec: ParameterSpec, context: dict[str, Any]
) -> PlaybookAdvice | None:
    """Combine applicable rules: the most trusted sets the range, others narrow it when they agree with it.

    A rule with only a value fixes the parameter; a rule with a range and a value recommends the range and
    prefers the value inside it. A rule that would empty the range (or exclude a fixed value) is skipped
    rather than obeyed, so contradicting entries cannot push a parameter out of the envelope; only the rules
    actually used are cited.
    """
    entries = applicable_entries(playbook, spec.name, context)
    if not entries:
        return None
    low, high, value, centre, used = spec.prior_low, spec.prior_high, None, None, []
    for entry in entries:
        rec = entry.rule.recommend  # type: ignore[union-attr]
        point = _number(rec.value)
        if rec.min is None and rec.max is None:
            if point is not None and low <= point <= high and (value is None or value == point):
                value = point
                used.append(entry.id)
            continue
        new_low = max(low, rec.min if rec.min is not None else low)
        new_high = min(high, rec.max if rec.max is not None else high)
        if new_low <= new_high and (value is None or new_low <= value <= new_high):
            low, high = new_low, new_high
            used.append(entry.id)
            if centre is None and point is not None:
                centre = point
    if not used:
        return None
    if centre is not None and not low <= centre <= high:
        centre = None  # a narrower rule moved the range away from the preferred value
    return PlaybookAdvice(low, high, value, used, centre)


def playbook_digest(playbook: Playbook | None, roles: Sequence[str] | None = None) -> str:
    """The approved entries as compact text, for prompts and briefings. Entry texts, roles and rule values
    may hold session-derived names, so each is escaped to one inert line (`playbooks.safe_text`)."""
    if playbook is None:
        return "No playbook in force."
    lines = [f"Playbook {playbook.version}:"]
    for entry in playbook.active_entries():
        if roles is not None and entry.agent not in (*roles, "*"):
            continue
        rule = entry.rule.model_dump(mode="json", exclude_none=True) if entry.rule else None
        lines.append(
            f"- [{one_line(entry.id)}] ({agent_title(entry.agent)}) {inline_markdown(entry.text)}"
            + (f" rule={json_code(rule)}" if rule else "")
        )
    return "\n".join(lines)


# --- offline planners ------------------------------------------------------------------------------------------


class OfflineSpecialist:
    """Follows the playbook where a rule applies, as one step of a cross-entropy search.

    Training flights (`exploration` > 0) sample uniformly inside the recommended range, so the next dream sees
    how success varies across it; with probability `exploration` a specialist explores instead, sampling a
    range three times as wide around the recommendation (and says so), so the dreamer keeps seeing both
    sides of every rule. Evaluation flights (no exploration) fly the rule's preferred value when it has one.
    Strategy entries (where successful sessions put a parameter not yet shown to matter) are followed the
    same way. Without an applicable entry the broad prior is sampled.
    """

    def __init__(
        self, role: str, seed: int, context: dict[str, Any], playbook: Playbook | None, exploration: float
    ) -> None:
        self.role = role
        self.seed = seed
        self.context = context
        self.playbook = playbook
        self.exploration = exploration

    def decide(self, spec: ParameterSpec) -> dict[str, Any]:
        # One stream per parameter: whether a rule applies to one parameter never shifts another's draw.
        rng = np.random.default_rng([self.seed, PARAMETERS.index(spec)])
        explore_draw, unit = rng.random(), rng.random()
        advice = advice_for(self.playbook, spec, self.context)
        if advice is None:
            value = spec.prior_low + unit * (spec.prior_high - spec.prior_low)
            rationale = (
                f"no playbook rule applies; sampled from prior [{spec.prior_low:g}, {spec.prior_high:g}]"
            )
            return {"parameter": spec.name, "value": round(value, 4), "rationale": rationale, "followed": []}
        if explore_draw < self.exploration:
            width = advice.high - advice.low
            low, high = max(spec.prior_low, advice.low - width), min(spec.prior_high, advice.high + width)
            value = low + unit * (high - low)
            rationale = (
                f"exploring: ignoring playbook {', '.join(advice.entry_ids)}; sampled around its range "
                f"from [{low:g}, {high:g}]"
            )
            return {"parameter": spec.name, "value": round(value, 4), "rationale": rationale, "followed": []}
        if advice.value is not None:
            value, rationale = advice.value, f"playbook sets {advice.value:g} in these conditions"
        elif advice.centre is not None and self.exploration == 0:
            value = advice.centre
            rationale = f"playbook prefers {advice.centre:g} within [{advice.low:g}, {advice.high:g}] here"
        else:
            value = advice.low + unit * (advice.high - advice.low)
            rationale = f"playbook range [{advice.low:g}, {advice.high:g}] applies to these conditions"
        return {
            "parameter": spec.name,
            "value": round(value, 4),
            "rationale": rationale,
            "followed": advice.entry_ids,
        }

    def respond(self, message: Message, ctx: TurnContext) -> str | None:
        chosen = []
        for spec in owned_parameters(self.role):
            decision = self.decide(spec)
            ctx.call_tool("set_parameter", decision)
            chosen.append(f"{spec.field}={decision['value']:g}")
        return f"{self.role} plan: " + ", ".join(chosen)


class OfflineDirector:
    """Delegates, waits for plans, flies when the plan is complete, and reports."""

    def __init__(self, playbook: Playbook | None) -> None:
        self.playbook = playbook

    def respond(self, message: Message, ctx: TurnContext) -> str | None:
        kind = message.data.get("kind")
        if kind == "briefing":
            for role in ROLES:
                owned = ", ".join(spec.name for spec in owned_parameters(role))
                ctx.send(
                    role,
                    f"Briefing: {json.dumps(message.data['context'])}. Decide {owned}.",
                    {"context": message.data["context"]},
                )
            return None
        if kind == "plans_in":
            missing = message.data.get("missing", [])
            go = not missing
            ctx.call_tool(
                "go_no_go",
                {
                    "parameter": "flight_director.go",
                    "value": "go" if go else "abort",
                    "rationale": "plan complete and inside the envelope"
                    if go
                    else f"missing decisions: {missing}",
                    "followed": [],
                },
            )
            return None
        if kind == "flight_result":
            return mission_report(message.data)
        return None


def mission_report(result: dict[str, Any]) -> str:
    """The director's one-paragraph report, written from the flight's metrics."""
    metrics = result["metrics"]
    verdict = "SUCCESS" if result.get("success") else "FAILURE"
    cause = metrics.get("failure_mode") or "none"
    return (
        f"Mission report ({verdict}): status {result.get('status')}, failure mode {cause}; "
        f"reward {metrics.get('reward')}, touchdown speed {metrics.get('touchdown_speed')}, "
        f"pad distance {metrics.get('pad_distance')}, fuel {metrics.get('fuel_used')}, steps {metrics.get('steps')}."
    )


def offline_agents(
    seed: int, context: dict[str, Any], playbook: Playbook | None, exploration: float
) -> dict[str, Any]:
    agents: dict[str, Any] = {DIRECTOR: OfflineDirector(playbook)}
    for role in ROLES:
        agents[role] = OfflineSpecialist(role, seed, context, playbook, exploration)
    return agents
