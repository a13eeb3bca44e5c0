"""OpenAI Codex CLI rollouts: `~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`.

Every line is `{timestamp, type, payload}`. The model-facing history is in `response_item` lines (messages,
reasoning, function/custom/web-search calls and their outputs); `event_msg` lines are the UI's view of the
same turn and repeat each message, so they only contribute what the history lacks: messages missing from
it (sub-agent threads log only `event_msg`), exit codes (`exec_command_end`, `patch_apply_end`), per-call
token usage (`token_count`), errors and turn endings. The file is read whole so that an exit code logged
after its output still marks that output as failed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson

from pipeline.ingest.base import EventRow, Reject
from pipeline.ingest.derived import SyntheticClock, as_int, content_session_id, parse_time, safe_preview
from pipeline.ingest.jsonl import iter_json_lines

_ROLES = {"developer": "system", "system": "system", "user": "user", "assistant": "assistant"}
_META_CONTEXT = ("cwd", "originator", "cli_version", "model_provider", "forked_from_id", "parent_thread_id")


def _message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = [str(p.get("text") or "") for p in content or [] if isinstance(p, dict) and "text" in p]
    return "\n".join(parts)


def _tool_output(output: Any) -> tuple[str, int | None]:
    """Older shell outputs are JSON text `{output, metadata: {exit_code}}`; newer ones are plain text."""
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
        return orjson.dumps(output).decode(), None
    return ("" if output is None else str(output)), None


def _arguments(arguments: Any) -> Any:
    if isinstance(arguments, str):
        try:
            return orjson.loads(arguments)
        except orjson.JSONDecodeError:
            return arguments
    return arguments


class CodexRolloutAdapter:
    name: ClassVar[str] = "codex"
    description: ClassVar[str] = (
        "OpenAI Codex CLI rollout JSONL (session_meta, response_item, event_msg lines)"
    )
    path_pattern: ClassVar[str] = "~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl"

    def sniff(self, path: Path, head: bytes) -> float:
        if re.search(rb'"type"\s*:\s*"session_meta"', head) and b'"payload"' in head:
            return 0.95
        if (
            re.search(rb'"type"\s*:\s*"(response_item|event_msg|turn_context)"', head)
            and b'"payload"' in head
        ):
            return 0.8
        return 0.3 if path.name.startswith("rollout-") and path.suffix == ".jsonl" else 0.0

    def parse(self, path: Path, data: bytes | None = None) -> Iterator[EventRow | Reject]:
        data = path.read_bytes() if data is None else data
        records: list[tuple[int, datetime | None, str, dict[str, Any]]] = []
        for item in iter_json_lines(path, data):
            if isinstance(item, Reject):
                yield item
                continue
            line, record = item
            if (
                not isinstance(record, dict)
                or not isinstance(record.get("payload"), dict)
                or "type" not in record
            ):
                yield Reject(
                    line,
                    "not a rollout line ({timestamp, type, payload})",
                    safe_preview(orjson.dumps(record)),
                )
                continue
            records.append(
                (line, parse_time(record.get("timestamp")), str(record["type"]), record["payload"])
            )
        if records:
            yield from _Rollout(path, data).build(records)


class _Rollout:
    """Two passes over one rollout: first collect what later lines say about earlier ones, then emit."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.clock = SyntheticClock(path)
        self.fallback_id = content_session_id("codex", data)
        self.rows: list[EventRow] = []
        self.ordinal = 0
        self.session_id = ""
        self.used_ids: set[str] = set()

    def build(self, records: list[tuple[int, datetime | None, str, dict[str, Any]]]) -> list[EventRow]:
        history_texts: set[str] = set()
        exit_codes: dict[str, int] = {}
        metas = [p for _, _, kind, p in records if kind == "session_meta"]
        for _, _, kind, payload in records:
            ptype = payload.get("type")
            if kind == "response_item" and ptype == "message":
                history_texts.add(_message_text(payload.get("content")).strip())
            elif kind == "response_item" and ptype == "reasoning":
                history_texts.update(
                    str(s.get("text", "")).strip()
                    for s in payload.get("summary") or []
                    if isinstance(s, dict)
                )
            elif (
                kind == "event_msg"
                and ptype in ("exec_command_end", "patch_apply_end")
                and payload.get("call_id")
            ):
                code = as_int(payload.get("exit_code"))
                if ptype == "patch_apply_end":
                    code = 0 if payload.get("success", True) else 1
                if code is not None:
                    exit_codes[str(payload["call_id"])] = code
        meta = metas[0] if metas else {}
        self.session_id = str(meta.get("id") or self.fallback_id)
        context = {k: meta[k] for k in _META_CONTEXT if isinstance(meta.get(k), str | int | float | bool)}
        if isinstance((meta.get("git") or {}).get("branch"), str):
            context["git_branch"] = meta["git"]["branch"]
        model = next(
            (p.get("model") for _, _, kind, p in records if kind == "turn_context" and p.get("model")), None
        )
        if model:
            context["model"] = model
        first_ts = records[0][1] or parse_time(meta.get("timestamp"))
        self._emit(
            first_ts,
            records[0][0],
            event_id="start",
            type="session_start",
            input={"task": "codex", "context": context, "playbook_version": None},
        )

        status, last_total = "unknown", None  # older rollouts have no turn markers
        for line, ts, kind, payload in records:
            ptype = payload.get("type")
            if kind == "response_item":
                self._history_item(line, ts, ptype, payload, exit_codes)
            elif kind == "event_msg":
                if (
                    ptype in ("user_message", "agent_message")
                    and str(payload.get("message", "")).strip() not in history_texts
                ):
                    role = "user" if ptype == "user_message" else "assistant"
                    self._emit(ts, line, type="message", role=role, content=str(payload.get("message", "")))
                elif ptype == "agent_reasoning" and str(payload.get("text", "")).strip() not in history_texts:
                    self._emit(
                        ts,
                        line,
                        type="observation",
                        role="assistant",
                        input={"block": "reasoning"},
                        content=str(payload.get("text", "")),
                    )
                elif ptype == "token_count" and isinstance(payload.get("info"), dict):
                    total = (payload["info"].get("total_token_usage") or {}).get("total_tokens")
                    if (
                        total is None or total != last_total
                    ):  # the CLI repeats the same count after some calls
                        self._attach_usage(payload["info"].get("last_token_usage") or {})
                    last_total = total
                elif ptype in ("error", "stream_error"):
                    self._emit(ts, line, type="error", is_error=True, content=str(payload.get("message", "")))
                elif ptype == "task_started":
                    status = "unfinished"
                elif ptype == "task_complete":
                    status = "completed"
                elif ptype == "turn_aborted":
                    status = "aborted"
        self._emit(
            records[-1][1],
            records[-1][0],
            event_id="end",
            type="session_end",
            input={"status": status},
            is_error=status == "aborted",
        )
        return self.rows

    def _history_item(
        self, line: int, ts: datetime | None, ptype: Any, payload: dict[str, Any], exit_codes: dict[str, int]
    ) -> None:
        if ptype == "message":
            role = _ROLES.get(str(payload.get("role")), str(payload.get("role")))
            self._emit(ts, line, type="message", role=role, content=_message_text(payload.get("content")))
        elif ptype == "reasoning":
            summary = "\n".join(
                str(s.get("text", "")) for s in payload.get("summary") or [] if isinstance(s, dict)
            )
            if summary.strip():
                self._emit(
                    ts,
                    line,
                    type="observation",
                    role="assistant",
                    input={"block": "reasoning"},
                    content=summary,
                )
        elif ptype in ("function_call", "custom_tool_call", "local_shell_call"):
            arguments = (
                _arguments(payload.get("arguments"))
                if ptype == "function_call"
                else payload.get("input", payload.get("action"))
            )
            call_id = str(payload.get("call_id") or payload.get("id") or "")
            self._emit(
                ts,
                line,
                event_id=call_id or None,
                type="tool_call",
                role="assistant",
                tool=str(payload.get("name") or ptype.removesuffix("_call")),
                input=arguments,
            )
        elif ptype == "web_search_call":
            self._emit(
                ts, line, type="tool_call", role="assistant", tool="web_search", input=payload.get("action")
            )
        elif ptype in ("function_call_output", "custom_tool_call_output", "local_shell_call_output"):
            call_id = str(payload.get("call_id") or "")
            text, exit_code = _tool_output(payload.get("output"))
            exit_code = exit_codes.get(call_id, exit_code)
            call = next(
                (r for r in reversed(self.rows) if r.event_id == call_id and r.type == "tool_call"), None
            )
            self._emit(
                ts,
                line,
                type="tool_result",
                role="tool",
                tool=call.tool if call else None,
                parent_event_id=call.event_id if call else None,
                content=text,
                is_error=exit_code not in (None, 0),
                input={"exit_code": exit_code} if exit_code is not None else None,
            )

    def _attach_usage(self, usage: dict[str, Any]) -> None:
        """`last_token_usage` is one model call: credit it to that call's latest output."""
        target = next((r for r in reversed(self.rows) if r.role == "assistant" and r.tokens_in is None), None)
        if target is not None:
            target.tokens_in, target.tokens_out = (
                as_int(usage.get("input_tokens")),
                as_int(usage.get("output_tokens")),
            )

    def _emit(self, ts: datetime | None, line: int, event_id: str | None = None, **fields: Any) -> EventRow:
        self.ordinal += 1
        if event_id is None or event_id in self.used_ids:
            event_id = f"{fields['type']}-{self.ordinal:05d}"
        self.used_ids.add(event_id)
        row = EventRow(
            session_id=self.session_id,
            event_id=event_id,
            ts=ts or self.clock.next(),
            source_line=line,
            **fields,
        )
        self.rows.append(row)
        return row


ADAPTER = CodexRolloutAdapter()
