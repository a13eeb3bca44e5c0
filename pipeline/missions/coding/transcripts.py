"""Coding sessions written as the transcripts real coding agents write: Claude Code JSONL and Codex rollouts.

A coding crew's sessions go through the same format adapters as a user's logs, so nothing downstream
(ingest, outcomes, dreaming) can tell a mission's session from a user's, and nothing is special-cased for
the mission. The line shapes follow what Claude Code 2.1.x and the Codex CLI write (see the fixtures in
tests/fixtures/claude-code and tests/fixtures/codex): one assistant line per content block sharing the API
response's `message.id`, tool results as user lines, shell exit codes in Codex `exec_command_end` events.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

CLAUDE_CODE_VERSION = "2.1.30"
CODEX_CLI_VERSION = "0.125.0"
MODEL = "claude-sonnet-4-5"


@dataclass(frozen=True)
class ToolCall:
    """One call: a shell command, or a file tool (`Read`, `Edit`, `Write`) on `path`."""

    kind: Literal["shell", "read", "edit", "write"]
    output: str
    exit_code: int = 0
    command: str | None = None
    path: str | None = None
    old: str = ""
    new: str = ""
    note: str | None = None  # what the agent said before the call (e.g. the lessons it follows)
    rejected: bool = False  # the user refused the call: the result is the agent's refusal text, verbatim

    @property
    def failed(self) -> bool:
        return self.exit_code != 0 or self.rejected


@dataclass
class CodingTranscript:
    session_id: str
    cwd: str
    branch: str
    started_at: datetime
    task: str
    calls: list[ToolCall] = field(default_factory=list)
    summary: str = "Done."
    agent_notes: list[str] = field(default_factory=list)  # assistant text before the first call

    def times(self) -> list[datetime]:
        n = 3 * len(self.calls) + len(self.agent_notes) + 4  # a note, a call and its result per call
        return [self.started_at + timedelta(seconds=7 * i) for i in range(n)]


def _uuid(session: CodingTranscript, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{session.session_id}/{n}"))


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _claude_tool(call: ToolCall, cwd: str) -> tuple[str, dict[str, Any]]:
    path = f"{cwd}/{call.path}" if call.path else None
    if call.kind == "shell":
        return "Bash", {"command": call.command, "description": "Run " + (call.command or "")[:40]}
    if call.kind == "read":
        return "Read", {"file_path": path}
    if call.kind == "write":
        return "Write", {"file_path": path, "content": call.new}
    return "Edit", {"file_path": path, "old_string": call.old, "new_string": call.new}


def claude_code_lines(session: CodingTranscript) -> list[dict[str, Any]]:
    """The session as Claude Code's `~/.claude/projects/<project>/<session>.jsonl` lines."""
    times = iter(session.times())
    base = {
        "isSidechain": False,
        "userType": "external",
        "cwd": session.cwd,
        "sessionId": session.session_id,
        "version": CLAUDE_CODE_VERSION,
        "gitBranch": session.branch,
    }
    lines: list[dict[str, Any]] = []
    parent: str | None = None
    counter = 0

    def add(kind: str, message: dict[str, Any], **extra: Any) -> None:
        nonlocal parent, counter
        counter += 1
        uid = _uuid(session, counter)
        lines.append(
            {
                "parentUuid": parent,
                **base,
                "type": kind,
                "message": message,
                "uuid": uid,
                "timestamp": _iso(next(times)),
                **extra,
            }
        )
        parent = uid

    def assistant(block: dict[str, Any], n: int) -> None:
        add(
            "assistant",
            {
                "model": MODEL,
                "id": f"msg_{_uuid(session, 1000 + n).replace('-', '')[:24]}",
                "type": "message",
                "role": "assistant",
                "content": [block],
                "stop_reason": None,
                "usage": {
                    "input_tokens": 120 + 10 * n,
                    "output_tokens": 40,
                    "cache_read_input_tokens": 0,
                    "cache_creation_input_tokens": 0,
                },
            },
            requestId=f"req_{n:04d}",
        )

    add("user", {"role": "user", "content": session.task})
    for note in session.agent_notes:
        assistant({"type": "text", "text": note}, 0)
    for n, call in enumerate(session.calls, start=1):
        if call.note:
            assistant({"type": "text", "text": call.note}, 500 + n)
        name, tool_input = _claude_tool(call, session.cwd)
        tool_id = f"toolu_{_uuid(session, 2000 + n).replace('-', '')[:24]}"
        assistant({"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}, n)
        content = (
            f"Exit code {call.exit_code}\n{call.output}"
            if call.failed and call.kind == "shell" and not call.rejected
            else call.output
        )
        add(
            "user",
            {
                "role": "user",
                "content": [
                    {
                        "tool_use_id": tool_id,
                        "type": "tool_result",
                        "content": content,
                        "is_error": call.failed,
                    }
                ],
            },
        )
    assistant({"type": "text", "text": session.summary}, len(session.calls) + 1)
    return lines


def _codex_item(ts: datetime, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": _iso(ts), "type": kind, "payload": payload}


def codex_rollout_lines(session: CodingTranscript) -> list[dict[str, Any]]:
    """The session as a Codex CLI rollout (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`)."""
    times = iter(session.times())
    start = next(times)
    lines = [
        _codex_item(
            start,
            "session_meta",
            {
                "id": session.session_id,
                "timestamp": _iso(start),
                "cwd": session.cwd,
                "originator": "codex_cli_rs",
                "cli_version": CODEX_CLI_VERSION,
                "source": "cli",
                "model_provider": "openai",
                "git": {"branch": session.branch},
            },
        ),
        _codex_item(
            start,
            "turn_context",
            {
                "cwd": session.cwd,
                "model": "gpt-5-codex",
                "approval_policy": "never",
                "sandbox_policy": {"mode": "workspace-write"},
            },
        ),
        _codex_item(
            start,
            "response_item",
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": session.task}]},
        ),
        _codex_item(start, "event_msg", {"type": "user_message", "message": session.task, "images": []}),
    ]
    aborted = False
    for n, call in enumerate(session.calls, start=1):
        ts, done = next(times), next(times)
        if call.note:
            lines.append(_codex_item(ts, "response_item", _assistant_message(call.note)))
        call_id = f"call_{_uuid(session, 3000 + n).replace('-', '')[:22]}"
        if call.kind == "shell":
            lines.append(
                _codex_item(
                    ts,
                    "response_item",
                    {
                        "type": "function_call",
                        "name": "exec_command",
                        "call_id": call_id,
                        "arguments": json.dumps({"cmd": call.command, "workdir": session.cwd}),
                    },
                )
            )
            lines.append(
                _codex_item(
                    done,
                    "event_msg",
                    {
                        "type": "exec_command_end",
                        "call_id": call_id,
                        "command": ["/bin/bash", "-lc", call.command],
                        "cwd": session.cwd,
                        "exit_code": call.exit_code,
                        "stdout": call.output,
                        "stderr": "",
                    },
                )
            )
            output = (
                f"Chunk ID: {n:06x}\nWall time: 1.2 seconds\nProcess exited with code {call.exit_code}\n"
                f"Original token count: {len(call.output.split())}\nOutput:\n{call.output}"
            )
            lines.append(
                _codex_item(
                    done,
                    "response_item",
                    {"type": "function_call_output", "call_id": call_id, "output": output},
                )
            )
            if call.rejected:  # the user stopped the turn: Codex records it as an aborted turn
                lines.append(
                    _codex_item(done, "event_msg", {"type": "turn_aborted", "reason": "interrupted"})
                )
                aborted = True
                break
        else:
            patch = (
                f"*** Begin Patch\n*** Update File: {call.path}\n@@\n-{call.old}\n+{call.new}\n*** End Patch"
                if call.kind in ("edit", "write")
                else None
            )
            name, arguments = (
                ("apply_patch", patch) if patch else ("read_file", json.dumps({"path": call.path}))
            )
            kind = "custom_tool_call" if patch else "function_call"
            key = "input" if patch else "arguments"
            lines.append(
                _codex_item(
                    ts, "response_item", {"type": kind, "name": name, "call_id": call_id, key: arguments}
                )
            )
            lines.append(
                _codex_item(
                    done,
                    "response_item",
                    {"type": f"{kind}_output", "call_id": call_id, "output": call.output},
                )
            )
    if not aborted:
        lines.append(_codex_item(next(times), "response_item", _assistant_message(session.summary)))
    return lines


def _assistant_message(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}


def write_transcript(session: CodingTranscript, root: Path, style: Literal["claude_code", "codex"]) -> Path:
    """Write the session where the agent itself would, under `root` (a landing folder); returns the file."""
    if style == "claude_code":
        project = session.cwd.replace("/", "-")
        path = root / ".claude" / "projects" / project / f"{session.session_id}.jsonl"
        lines = claude_code_lines(session)
    else:
        day = session.started_at
        stamp = day.strftime("%Y-%m-%dT%H-%M-%S")
        path = (
            root
            / ".codex"
            / "sessions"
            / day.strftime("%Y/%m/%d")
            / f"rollout-{stamp}-{session.session_id}.jsonl"
        )
        lines = codex_rollout_lines(session)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return path
