"""The record types Claude Code writes, as the adapter knows them, and the subagent sidecar reader.

Kept apart from the line-by-line parsing in `pipeline.ingest.claude_code` so that a new Claude Code release's
record types are one list to update.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from pipeline.ingest.base import EventRow

_LINE_TYPES = {
    "user",
    "assistant",
    "system",
    "progress",
    "summary",
    "file-history-snapshot",
    "queue-operation",
    "attachment",
    "custom-title",
    "ai-title",
    "last-prompt",
    "mode",
    "permission-mode",
    "agent-name",
}
_BOOKKEEPING = {
    "file-history-snapshot",
    "queue-operation",
    "attachment",
    "last-prompt",
    "mode",
    "agent-name",
}
"""Record types Claude Code writes for its own UI (undo snapshots, queued prompts, attached file bodies, the
prompt to restore, the mode toggles): known, and deliberately not session events."""
_CONTEXT_RECORDS = {
    "custom-title": ("customTitle", "title"),
    "ai-title": ("aiTitle", "ai_title"),
    "permission-mode": ("permissionMode", "permission_mode"),
}
"""Record types that say something about the whole session: (field, context key) for `session_start`."""
_KNOWN_PROGRESS = {"agent_progress", "hook_progress", "bash_progress", "waiting_for_task", "mcp_progress"}
_KNOWN_SYSTEM = {
    "compact_boundary",
    "microcompact_boundary",
    "api_error",
    "away_summary",
    "informational",
    "local_command",
    "stop_hook_summary",
    "turn_duration",
    "system",
}
META_SIDECAR_MAX_BYTES = 64 * 1024


def subagent_meta(path: Path, rows: list[EventRow]) -> Iterator[EventRow]:
    """A subagent transcript's `agent-<id>.meta.json` sidecar (agent type, task, spawning tool call,
    depth) as one event, linked to the tool call that spawned it so nested subagents form a tree."""
    if not path.name.startswith("agent-"):
        return
    sidecar = path.with_name(f"{path.stem}.meta.json")
    sidechain = [row for row in rows if row.agent != "main"]
    if not sidechain:
        return
    try:
        if not sidecar.is_file() or sidecar.stat().st_size > META_SIDECAR_MAX_BYTES:
            return
        meta = orjson.loads(sidecar.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return
    if not isinstance(meta, dict):
        return
    kept = {
        key: meta[key]
        for key in ("agentType", "description", "toolUseId", "spawnDepth", "parentAgentId")
        if isinstance(meta.get(key), str | int) and not isinstance(meta.get(key), bool)
    }
    first = min(sidechain, key=lambda row: row.ts)
    tool_use = kept.get("toolUseId")
    yield EventRow(
        session_id=first.session_id,
        event_id=f"agent_meta:{first.agent}",
        ts=first.ts,
        type="observation",
        agent=first.agent,
        parent_event_id=tool_use if isinstance(tool_use, str) else None,
        role="system",
        tool="subagent",
        input=kept,
    )
