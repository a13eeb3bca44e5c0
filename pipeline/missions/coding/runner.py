"""One coding task end to end: read the instructions, brief the crew, review, wrap up, write the transcript.

The unit a worker runs: everything it needs arrives in a picklable `TaskSpec`, and a `MissionRecord` comes
back. The session is written as the transcript a coding agent writes (Claude Code JSONL, every fifth as a
Codex rollout reading AGENTS.md instead of CLAUDE.md) so it reaches the lake through the same adapters as a
user's logs. Held-out tasks are never written: a transcript cannot mark itself held out, and the dreamer must
never learn from them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from pipeline.agents.session_log import SessionRecorder
from pipeline.agents.team import Message, TeamSession
from pipeline.missions.base import Backend, MissionRecord
from pipeline.missions.coding.catalog import oracle_lessons
from pipeline.missions.coding.crew import CODING_TOOLS, LEAD, SPECIALISTS, USER, WORKSPACE, build_roles
from pipeline.missions.coding.lessons import Lesson, lessons_for, render_instructions
from pipeline.missions.coding.policy import MAX_REVIEW_ROUNDS, offline_agents
from pipeline.missions.coding.transcripts import CodingTranscript, write_transcript
from pipeline.missions.coding.workspace import Workspace
from pipeline.missions.coding.world import Task, task
from pipeline.playbooks.model import Playbook

CODEX_EVERY = 5
TASK_SLOT = timedelta(minutes=3)
Crew = Literal["playbook", "oracle"]


class TaskSpec(BaseModel):
    day: date
    index: int
    seed: int  # the task id
    backend: Backend = "offline"
    crew: Crew = "playbook"
    playbook: Playbook | None = None
    exploration: float = 0.0
    landing_dir: Path | None = None
    llm: Any = None
    max_turns: int = 40


def session_id_for(day: date, index: int, split: str) -> str:
    """A UUID like a coding agent's, stable per (day, split, index): re-flying overwrites, never duplicates."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"reverie-coding/{day.isoformat()}/{split}/{index:04d}"))


def transcript_style(index: int) -> Literal["claude_code", "codex"]:
    return "codex" if index % CODEX_EVERY == CODEX_EVERY - 1 else "claude_code"


def _claude_agents(spec: TaskSpec, instructions: str) -> dict[str, Any]:
    from pipeline.agents.claude_agent import ClaudeAgent
    from pipeline.llm.client import LLMSettings, make_client

    settings: LLMSettings = spec.llm or LLMSettings.from_env()
    client = make_client(settings)
    return {
        role: ClaudeAgent(client, settings.model, max_tokens=settings.max_tokens, playbook_text=instructions)
        for role in (LEAD, *SPECIALISTS)
    }


def _stop_if_backend_down(agents: dict[str, Any], session_id: str) -> None:
    """A Claude crew that could not reach the API is an outage, not a failed task: nothing is written."""
    reason = next((a.unavailable for a in agents.values() if getattr(a, "unavailable", None)), None)
    if reason:
        from pipeline.llm.client import LLMUnavailableError

        raise LLMUnavailableError(
            f"task {session_id} stopped and not landed: the Claude API cannot be used ({reason})"
        )


def _lessons(spec: TaskSpec, the_task: Task, filename: str) -> list[Lesson]:
    if spec.crew == "oracle":
        return oracle_lessons(the_task.repo)
    return lessons_for(spec.playbook, the_task.repo.name, filename)


def run_task(spec: TaskSpec) -> MissionRecord:
    """Fly one task with its crew; writes the transcript under `landing_dir` for training tasks."""
    the_task = task(spec.seed)
    repo = the_task.repo
    style = transcript_style(spec.index)
    filename = "AGENTS.md" if style == "codex" else "CLAUDE.md"
    session_id = session_id_for(spec.day, spec.index, the_task.split)
    lessons = _lessons(spec, the_task, filename)
    workspace = Workspace(the_task)
    policy = None
    if spec.backend == "offline":
        agents, policy = offline_agents(the_task, lessons, spec.exploration)
    elif spec.backend == "claude":
        agents = _claude_agents(spec, render_instructions(spec.playbook, repo.name, filename))
    else:
        raise ValueError(f"unknown backend {spec.backend!r}; use 'offline' or 'claude'")
    started = datetime.combine(spec.day, time(8), tzinfo=UTC) + spec.index * TASK_SLOT
    # The team's own log (messages, tool calls, token usage) stays in memory: the transcript is what lands.
    recorder = SessionRecorder(session_id, started)
    team = TeamSession(
        build_roles(agents),
        CODING_TOOLS,
        recorder=recorder,
        max_turns=spec.max_turns,
        external=(USER, WORKSPACE),
    )
    team.state.update(workspace=workspace, calls=[], followed=set(), notes=[])

    version = spec.playbook.version if spec.playbook else None
    team.deliver(Message(USER, LEAD, the_task.prompt(), {"kind": "task", "repository": repo.name}))
    for round_ in range(MAX_REVIEW_ROUNDS):
        if workspace.refused or workspace.tests_green:
            break
        report = next((r.output for r in reversed(workspace.history) if r.test_run), "no test run yet")
        team.deliver(
            Message(
                WORKSPACE,
                LEAD,
                "The tests are red.",
                {"kind": "review", "round": round_, "report": report[-2000:]},
            )
        )
    wrap = None
    if not workspace.refused:
        run = team.deliver(
            Message(USER, LEAD, "Wrap up.", {"kind": "wrap_up", "commit_asked": the_task.commit_asked})
        )
        wrap = next((m.content for m in run.outbox if m.sender == LEAD), None)
    _stop_if_backend_down(agents, session_id)

    read_note = (
        f"Read {filename}: {len(lessons)} lesson(s) apply to {repo.name}."
        if lessons
        else f"No {filename} lessons apply to {repo.name}."
    )
    summary = " ".join([wrap or ("Stopped." if workspace.refused else "Done."), *team.state["notes"]])
    transcript = CodingTranscript(
        session_id=session_id,
        cwd=repo.cwd,
        branch="main",
        started_at=started,
        task=the_task.prompt(),
        calls=team.state["calls"],
        summary=summary,
        agent_notes=[read_note],
    )
    path = None
    if spec.landing_dir is not None and not the_task.heldout:
        path = str(write_transcript(transcript, spec.landing_dir, style))
    runs = [r for r in workspace.history if r.test_run]
    metrics = {
        "tests_green": workspace.tests_green,
        "test_runs": len(runs),
        "tool_calls": len(team.state["calls"]),
        "refused": workspace.refused,
        "committed": workspace.committed,
        "commit_asked": the_task.commit_asked,
        "failure_mode": workspace.failure_mode(),
    }
    return MissionRecord(
        session_id=session_id,
        index=spec.index,
        seed=spec.seed,
        conditions={
            "repository": repo.name,
            "stack": repo.stack,
            "kind": the_task.kind,
            "split": the_task.split,
            "heldout": the_task.heldout,
        },
        params={
            "test_command": policy.test_command if policy else None,
            "lessons_read": len(lessons),
            "playbook_version": version,
            "crew": spec.crew,
            "transcript": style,
        },
        metrics=metrics,
        success=workspace.succeeded,
        failure_mode=workspace.failure_mode(),
        status="refused" if workspace.refused else "completed",
        followed=sorted(team.state["followed"]),
        explored=policy.explored if policy else 0,
        path=path,
        n_events=len(recorder.events),
        tokens_in=sum(e.tokens_in or 0 for e in recorder.events),
        tokens_out=sum(e.tokens_out or 0 for e in recorder.events),
    )
