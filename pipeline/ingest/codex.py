"""OpenAI Codex CLI rollouts: `~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`.

Every line is `{timestamp, type, payload}`. The model-facing history is in `response_item` lines (messages,
reasoning, function/custom/web-search calls and their outputs); `event_msg` lines are the UI's view of the
same turn and repeat each message, so they only contribute what the history lacks: messages missing from
it (sub-agent threads log only `event_msg`), exit codes (`exec_command_end`, `patch_apply_end`), per-call
token usage (`token_count`), errors and turn endings. The file is read whole so that an exit code logged
after its output still marks that output as failed; Codex Desktop writes no exit code anywhere but in the
output text ("Process exited with code 1"), which is read too.

Other line types: `turn_context` (model, cwd per turn) feeds the session context; `compacted` (the summary
that replaced the history) becomes an observation; `world_state` snapshots and inter-agent metadata are
bookkeeping. Every type not read is counted (known vs unknown) so a format change shows in the ingest report.
A line without a usable time takes its neighbours' time in file order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from pipeline.ingest.base import EventRow, RecordTally, Reject
from pipeline.ingest.codex_lines import (
    _EVENTS_IGNORED,
    _EVENTS_USED,
    _HISTORY_IGNORED,
    _LINE_KINDS_IGNORED,
    _META_CONTEXT,
    _ROLES,
    _arguments,
    _message_text,
    _neighbour_times,
    _tool_output,
)
from pipeline.ingest.derived import SyntheticClock, as_int, content_session_id, parse_time, safe_preview
from pipeline.ingest.jsonl import iter_json_lines, json_bytes
from pipeline.ingest.row_checks import time_problem


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

    def parse(
        self, path: Path, data: bytes | None = None, tally: RecordTally | None = None
    ) -> Iterator[EventRow | Reject]:
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
                or not isinstance(record.get("type"), str)
            ):
                yield Reject(
                    line,
                    "not a rollout line ({timestamp, type, payload})",
                    safe_preview(json_bytes(record)),
                )
                continue
            ts = parse_time(record.get("timestamp"))
            problem = time_problem(ts) if ts is not None else None
            if problem:  # before ids are numbered: the other lines keep the ids they have without it
                yield Reject(line, problem, safe_preview(json_bytes(record)))
                continue
            records.append((line, ts, record["type"], record["payload"]))
        if records:
            rollout = _Rollout(path, data, tally if tally is not None else RecordTally())
            yield from rollout.build(_neighbour_times(records))
            yield from rollout.rejects


class _Rollout:
    """Two passes over one rollout: first collect what later lines say about earlier ones, then emit."""

    def __init__(self, path: Path, data: bytes, tally: RecordTally) -> None:
        self.clock = SyntheticClock(path)
        self.tally = tally
        self.rejects: list[Reject] = []
        self.fallback_id = content_session_id("codex", data)
        self.rows: list[EventRow] = []
        self.ordinal = 0
        self.session_id = ""
        self.used_ids: set[str] = set()

    def build(self, records: list[tuple[int, datetime | None, str, dict[str, Any]]]) -> list[EventRow]:
        history_texts: set[str] = set()
        exit_codes: dict[str, int] = {}
        usable = []
        for record in records:
            try:
                self._remember(record, history_texts, exit_codes)
            except (TypeError, ValueError, AttributeError, KeyError) as error:
                self._reject(record, error)
            else:
                usable.append(record)
        records = usable
        if not records:
            return self.rows
        metas = [p for _, _, kind, p in records if kind == "session_meta"]
        meta = metas[0] if metas else {}
        meta_id = meta.get("id")
        self.session_id = meta_id if isinstance(meta_id, str) and meta_id else self.fallback_id
        context = {k: meta[k] for k in _META_CONTEXT if isinstance(meta.get(k), str | int | float | bool)}
        git = meta.get("git")
        if isinstance(git, dict) and isinstance(git.get("branch"), str):
            context["git_branch"] = git["branch"]
        model = next(
            (
                p.get("model")
                for _, _, kind, p in records
                if kind == "turn_context" and isinstance(p.get("model"), str)
            ),
            None,
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
        self.status, self.last_total = "unknown", None  # older rollouts have no turn markers
        for record in records:
            try:
                self._record(record, history_texts, exit_codes)
            except (TypeError, ValueError, AttributeError, KeyError) as error:
                self._reject(record, error)
        self._emit(
            records[-1][1],
            records[-1][0],
            event_id="end",
            type="session_end",
            input={"status": self.status},
            is_error=self.status == "aborted",
        )
        return self.rows

    def _reject(self, record: tuple[int, datetime | None, str, dict[str, Any]], error: Exception) -> None:
        line, _, kind, payload = record
        reason = f"unexpected shape for a {kind} line: {type(error).__name__}: {error}"
        self.rejects.append(Reject(line, reason[:300], safe_preview(json_bytes(payload))))

    @staticmethod
    def _remember(
        record: tuple[int, datetime | None, str, dict[str, Any]],
        history_texts: set[str],
        exit_codes: dict[str, int],
    ) -> None:
        """First pass: what later lines say about earlier ones (texts already in the history, exit codes)."""
        _, _, kind, payload = record
        ptype = payload.get("type")
        if kind == "response_item" and ptype == "message":
            history_texts.add(_message_text(payload.get("content")).strip())
        elif kind == "response_item" and ptype == "reasoning":
            history_texts.update(
                str(s.get("text", "")).strip() for s in payload.get("summary") or [] if isinstance(s, dict)
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

    def _record(
        self,
        record: tuple[int, datetime | None, str, dict[str, Any]],
        history_texts: set[str],
        exit_codes: dict[str, int],
    ) -> None:
        line, ts, kind, payload = record
        ptype = payload.get("type")
        if kind == "response_item":
            self._history_item(line, ts, ptype, payload, exit_codes)
        elif kind == "event_msg":
            self._event(line, ts, ptype, payload, history_texts)
        elif kind == "compacted":
            message = payload.get("message")
            self._emit(
                ts,
                line,
                type="observation",
                role="system",
                tool="compaction",
                content=message if isinstance(message, str) else None,
                input={"window_number": as_int(payload.get("window_number"))},
            )
        elif kind == "inter_agent_communication":
            text = payload.get("content", payload.get("message"))
            self._emit(
                ts,
                line,
                type="message",
                role="assistant",
                content=_message_text(text) if isinstance(text, str | list) else None,
                input={k: payload[k] for k in ("author", "recipient") if isinstance(payload.get(k), str)},
            )
        elif kind != "session_meta":
            self.tally.skip(kind, known=kind in _LINE_KINDS_IGNORED)

    def _event(
        self, line: int, ts: datetime | None, ptype: Any, payload: dict[str, Any], history_texts: set[str]
    ) -> None:
        if ptype in ("user_message", "agent_message"):
            if str(payload.get("message", "")).strip() not in history_texts:
                role = "user" if ptype == "user_message" else "assistant"
                self._emit(ts, line, type="message", role=role, content=str(payload.get("message", "")))
            else:
                self.tally.skip(f"event_msg:{ptype} (repeats the history)", known=True)
        elif ptype == "agent_reasoning":
            if str(payload.get("text", "")).strip() not in history_texts:
                self._emit(
                    ts,
                    line,
                    type="observation",
                    role="assistant",
                    input={"block": "reasoning"},
                    content=str(payload.get("text", "")),
                )
            else:
                self.tally.skip("event_msg:agent_reasoning (repeats the history)", known=True)
        elif ptype == "token_count":
            info = payload.get("info")
            if isinstance(info, dict):
                totals = info.get("total_token_usage")
                total = totals.get("total_tokens") if isinstance(totals, dict) else None
                if total is None or total != self.last_total:  # the CLI repeats a count after some calls
                    last = info.get("last_token_usage")
                    self._attach_usage(last if isinstance(last, dict) else {})
                self.last_total = total
        elif ptype in ("error", "stream_error"):
            self._emit(ts, line, type="error", is_error=True, content=str(payload.get("message", "")))
        elif ptype == "task_started":
            self.status = "unfinished"
        elif ptype == "task_complete":
            self.status = "completed"
        elif ptype == "turn_aborted":
            self.status = "aborted"
        elif ptype not in _EVENTS_USED:
            self.tally.skip(f"event_msg:{ptype}", known=ptype in _EVENTS_IGNORED)

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
            else:
                self.tally.skip("response_item:reasoning without summary", known=True)  # encrypted only
        elif ptype == "agent_message":  # a message between agents of one Codex thread
            self._emit(
                ts, line, type="message", role="assistant", content=_message_text(payload.get("content"))
            )
        elif ptype in ("function_call", "custom_tool_call", "local_shell_call", "tool_search_call"):
            arguments = (
                _arguments(payload.get("arguments"))
                if ptype in ("function_call", "tool_search_call")
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
        elif ptype in ("web_search_call", "image_generation_call"):
            tool = ptype.removesuffix("_call")
            detail = (
                payload.get("action") if ptype == "web_search_call" else {"status": payload.get("status")}
            )
            self._emit(ts, line, type="tool_call", role="assistant", tool=tool, input=detail)
        elif ptype in (
            "function_call_output",
            "custom_tool_call_output",
            "local_shell_call_output",
            "tool_search_output",
        ):
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
        else:
            self.tally.skip(f"response_item:{ptype}", known=ptype in _HISTORY_IGNORED)

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
