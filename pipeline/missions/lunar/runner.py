"""One lunar mission end to end: brief the crew, collect the plan, fly, report, and log it all.

This is the unit a worker process runs. Everything it needs arrives in a picklable `MissionSpec`, and
everything it produces comes back as a `MissionRecord`, so batches can fan out across processes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from pipeline.agents.session_log import SessionRecorder
from pipeline.agents.team import Message, TeamSession
from pipeline.events import EventType
from pipeline.missions.base import Backend, MissionRecord
from pipeline.missions.lunar.autopilot import PARAMETERS, REFERENCE_PARAMS, ROLES, AutopilotParams
from pipeline.missions.lunar.flight import FlightResult, MissionConditions, draw_conditions, fly, success
from pipeline.missions.lunar.team import (
    DIRECTOR,
    FLIGHT_COMPUTER,
    LUNAR_TOOLS,
    MISSION_CONTROL,
    TASK,
    build_roles,
    offline_agents,
    playbook_digest,
)
from pipeline.playbooks.model import Playbook

if TYPE_CHECKING:  # the anthropic SDK is a slow import; offline workers never need it
    from pipeline.llm.client import LLMSettings

TELEMETRY_EVERY = 20  # steps between telemetry samples: ~12 samples per flight keeps logs small
SIM_STEP = timedelta(milliseconds=20)  # gymnasium's LunarLander runs at 50 FPS
MISSION_SLOT = timedelta(minutes=1)  # each mission of a partition starts on its own minute
DEFAULT_EXPLORATION = 0.2


class MissionSpec(BaseModel):
    """Everything a worker needs to fly one mission."""

    day: date
    index: int
    seed: int
    backend: Backend = "offline"
    playbook: Playbook | None = None
    exploration: float = 0.0
    landing_dir: Path | None = None  # None: do not write the session log
    session_prefix: str = "lunar"
    llm: Any = None  # LLMSettings for the claude backend; None reads the environment
    max_turns: int = 24


def session_id_for(day: date, index: int, heldout: bool, prefix: str = "lunar") -> str:
    """Stable ids: re-flying a partition overwrites the same files instead of duplicating sessions."""
    return f"{prefix}-{day.isoformat()}-{'heldout' if heldout else 'training'}-{index:04d}"


def _agents_for(spec: MissionSpec, conditions: MissionConditions) -> dict[str, Any]:
    if spec.backend == "offline":
        return offline_agents(spec.seed, conditions.context(), spec.playbook, spec.exploration)
    if spec.backend == "claude":
        from pipeline.agents.claude_agent import ClaudeAgent
        from pipeline.llm.client import LLMSettings, make_client

        settings: LLMSettings = spec.llm or LLMSettings.from_env()
        client = make_client(settings)
        roles = (DIRECTOR, *ROLES)
        return {
            role: ClaudeAgent(
                client,
                settings.model,
                max_tokens=settings.max_tokens,
                playbook_text=playbook_digest(spec.playbook, [role]),
            )
            for role in roles
        }
    raise ValueError(f"unknown backend {spec.backend!r}; use 'offline' or 'claude'")


def _aborted_metrics() -> dict[str, Any]:
    return {
        "landed": False,
        "crashed": False,
        "touchdown_speed": None,
        "pad_distance": None,
        "fuel_used": 0.0,
        "steps": 0,
        "reward": 0.0,
        "failure_mode": "aborted",
    }


def _log_flight(recorder: SessionRecorder, flight: FlightResult) -> None:
    """Telemetry and key moments interleaved in simulated time, so the transcript reads as the flight did."""
    launch = recorder.now()
    samples = [
        (sample["step"], 0, "telemetry", sample, f"telemetry step {sample['step']}")
        for sample in flight.telemetry
    ]
    moments = [
        (
            moment["step"],
            1,
            "key_moment",
            moment,
            f"{moment['moment']}: {moment.get('phase') or moment['moment']}",
        )
        for moment in flight.key_moments
    ]
    for step, _, kind, payload, text in sorted(samples + moments, key=lambda item: item[:2]):
        recorder.record(
            EventType.OBSERVATION,
            agent=FLIGHT_COMPUTER,
            at=launch + step * SIM_STEP,
            tool=kind,
            input=payload,
            content=text,
        )


def _abort_if_backend_down(agents: dict[str, Any], session_id: str) -> None:
    """Stop the mission, before anything is landed, when a Claude agent could not reach the API.

    A crew that never answered would otherwise be logged as an aborted flight, and dreaming would learn
    from an outage as if it were a bad plan; raising also fails the batch, so `reverie fly` exits non-zero.
    """
    reason = next((a.unavailable for a in agents.values() if getattr(a, "unavailable", None)), None)
    if reason:
        from pipeline.llm.client import LLMUnavailableError

        raise LLMUnavailableError(
            f"mission {session_id} stopped and not landed: the Claude API cannot be used ({reason})"
        )


def run_mission(spec: MissionSpec) -> MissionRecord:
    """Fly one mission with its crew; writes `<landing_dir>/<session_id>.jsonl` when a landing dir is given."""
    conditions = draw_conditions(spec.seed)
    session_id = session_id_for(spec.day, spec.index, conditions.heldout, spec.session_prefix)
    started = datetime.combine(spec.day, time(), tzinfo=UTC) + spec.index * MISSION_SLOT
    recorder = SessionRecorder(session_id, started)
    version = spec.playbook.version if spec.playbook else None
    recorder.start(TASK, conditions.context(), version, agent=DIRECTOR)

    agents = _agents_for(spec, conditions)
    team = TeamSession(
        build_roles(agents),
        LUNAR_TOOLS,
        recorder=recorder,
        max_turns=spec.max_turns,
        external=(MISSION_CONTROL, FLIGHT_COMPUTER),
    )
    context = conditions.context()
    team.deliver(
        Message(
            MISSION_CONTROL,
            DIRECTOR,
            f"Mission briefing for {session_id}.",
            {"kind": "briefing", "context": context, "mission_seed": spec.seed, "playbook_version": version},
        )
    )

    _abort_if_backend_down(agents, session_id)
    plan: dict[str, float] = dict(team.state.get("plan", {}))
    missing = [p.name for p in PARAMETERS if p.name not in plan]
    team.deliver(
        Message(
            FLIGHT_COMPUTER,
            DIRECTOR,
            "All specialist plans are in; decide go or abort.",
            {"kind": "plans_in", "plan": plan, "missing": missing},
        )
    )
    go = bool(team.state.get("go", False))
    for name in missing:  # a role that never decided flies the reference value, and the log says so
        plan[name] = REFERENCE_PARAMS.as_decisions()[name]
        recorder.record(
            EventType.DECISION,
            agent=DIRECTOR,
            tool="set_parameter",
            input={
                "parameter": name,
                "value": plan[name],
                "followed": [],
                "rationale": "not decided by its owner; reference value",
            },
        )
    params = AutopilotParams.from_decisions(plan)

    if go:
        flight = fly(conditions, params, telemetry_every=TELEMETRY_EVERY)
        _log_flight(recorder, flight)
        metrics, status = flight.metrics, flight.status
    else:
        metrics, status = _aborted_metrics(), "aborted"
    succeeded = success(metrics)
    team.deliver(
        Message(
            MISSION_CONTROL,
            DIRECTOR,
            f"Flight ended: {status}. Write the mission report.",
            {"kind": "flight_result", "metrics": metrics, "status": status, "success": succeeded},
        )
    )
    recorder.end(status, metrics, agent=DIRECTOR)

    _abort_if_backend_down(agents, session_id)
    path = None
    if spec.landing_dir is not None:
        path = str(recorder.write(spec.landing_dir / f"{session_id}.jsonl"))
    followed_by_param: dict[str, list[str]] = team.state.get("followed", {})
    decisions = [e for e in recorder.events if e.type == EventType.DECISION and e.tool == "set_parameter"]
    return MissionRecord(
        session_id=session_id,
        index=spec.index,
        seed=spec.seed,
        conditions=context,
        params=params.as_decisions(),
        metrics=metrics,
        success=succeeded,
        failure_mode=metrics.get("failure_mode"),
        status=status,
        followed=sorted({i for ids in followed_by_param.values() for i in ids}),
        explored=sum(1 for e in decisions if str(e.input.get("rationale", "")).startswith("exploring")),
        path=path,
        n_events=len(recorder.events),
        tokens_in=sum(e.tokens_in or 0 for e in recorder.events),
        tokens_out=sum(e.tokens_out or 0 for e in recorder.events),
    )
