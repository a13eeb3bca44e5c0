"""What a Codex rollout line holds, read field by field: the known line and event types, message text,
tool output with its exit code, and neighbour-filled times. The rollout itself is built in
`pipeline.ingest.codex`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from pipeline.ingest.derived import as_int
from pipeline.ingest.jsonl import json_bytes

_ROLES = {"developer": "system", "system": "system", "user": "user", "assistant": "assistant"}
_EXIT_IN_TEXT = re.compile(r"^(?:Process exited with code|Exit code:?)\s*(-?\d+)\s*$", re.MULTILINE)
_LINE_KINDS_IGNORED = {"world_state", "inter_agent_communication_metadata", "turn_context"}
_HISTORY_IGNORED = {"ghost_snapshot", "compaction", "compaction_summary"}
_EVENTS_USED = {
    "user_message",
    "agent_message",
    "agent_reasoning",
    "token_count",
    "error",
    "stream_error",
    "task_started",
    "task_complete",
    "turn_aborted",
    "exec_command_end",
    "patch_apply_end",
}
_EVENTS_IGNORED = {
    "agent_reasoning_raw_content",
    "agent_reasoning_section_break",
    "item_completed",
    "item_started",
    "mcp_tool_call_begin",
    "mcp_tool_call_end",
    "exec_command_begin",
    "exec_command_output_delta",
    "patch_apply_begin",
    "web_search_begin",
    "web_search_end",
    "entered_review_mode",
    "exited_review_mode",
    "context_compacted",
    "guardian_assessment",
    "image_generation_end",
    "thread_goal_updated",
    "thread_name_updated",
    "thread_settings_applied",
    "collab_agent_interaction_end",
    "collab_agent_spawn_end",
    "collab_waiting_end",
    "collab_close_end",
    "sub_agent_activity",
    "view_image_tool_call",
    "dynamic_tool_call_request",
    "dynamic_tool_call_response",
    "undo_completed",
    "turn_diff",
    "plan_update",
    "background_event",
    "session_configured",
}
"""UI notifications that repeat what the history already holds, or say nothing about the outcome."""
_META_CONTEXT = ("cwd", "originator", "cli_version", "model_provider", "forked_from_id", "parent_thread_id")


def _message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = [str(p.get("text") or "") for p in content or [] if isinstance(p, dict) and "text" in p]
    return "\n".join(parts)


def _tool_output(output: Any) -> tuple[str, int | None]:
    """Older shell outputs are JSON text `{output, metadata: {exit_code}}`; newer ones are plain text that
    states the exit code in a header line ("Process exited with code 1", "Exit code: 1")."""
    if isinstance(output, str) and output.startswith("{") and '"metadata"' in output:
        try:
            decoded = orjson.loads(output)
        except orjson.JSONDecodeError:
            return output, None
        if isinstance(decoded, dict):
            metadata = decoded.get("metadata") or {}
            return str(decoded.get("output", "")), as_int(metadata.get("exit_code")) if isinstance(
                metadata, dict
            ) else None
    if isinstance(output, dict | list):
        return json_bytes(output).decode(), None
    text = "" if output is None else str(output)
    header = _EXIT_IN_TEXT.search(text[:1_000])
    return text, int(header[1]) if header else None


def _arguments(arguments: Any) -> Any:
    if isinstance(arguments, str):
        try:
            return orjson.loads(arguments)
        except orjson.JSONDecodeError:
            return arguments
    return arguments


def _neighbour_times(
    records: list[tuple[int, datetime | None, str, dict[str, Any]]],
) -> list[tuple[int, datetime | None, str, dict[str, Any]]]:
    """A line without a usable time takes the previous line's (the first timed one's, before it)."""
    known = next((ts for _, ts, _, _ in records if ts is not None), None)
    filled = []
    for line, ts, kind, payload in records:
        known = ts or known
        filled.append((line, known, kind, payload))
    return filled
