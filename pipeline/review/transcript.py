"""A session's transcript from the lake, with the lines that back a playbook entry marked.

The lake holds sessions redacted as ingested, and the page shows them as stored: nothing here re-reads the
raw logs. A line supports an entry when it is what the entry's rule talks about: the decision that set the
rule's parameter (and whether its value fell in the recommended range), the session start whose context the
rule's conditions test, the error whose masked signature is the rule's, and the tool calls of the rule's
sequence. The session's end is marked as its outcome, so a reviewer sees both halves of the claim.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pipeline.actions import action_parts
from pipeline.dreaming.coding_lessons import ACTION_CHARS
from pipeline.dreaming.window import SIGNATURE_CHARS, error_signature
from pipeline.home import ReverieHome
from pipeline.lake import connect
from pipeline.playbooks.model import Entry, Rule
from pipeline.playbooks.safe_text import clean_value

FOLD_CHARS = 600
FOLD_LINES = 12


@dataclass
class Line:
    """One event as the page shows it."""

    seq: int
    ts: str
    agent: str
    type: str
    role: str | None
    tool: str | None
    action: str | None
    input: str | None  # pretty JSON (or the raw text when it is not JSON)
    content: str | None
    is_error: bool
    parent_seq: int | None = None
    stored_signature: str | None = None  # the lake's `error_signature` column, where the lake has one
    support: str | None = None  # why this line backs the entry
    outcome: bool = False

    @property
    def fold_content(self) -> bool:
        return _long(self.content)

    @property
    def fold_input(self) -> bool:
        return _long(self.input)


@dataclass
class Transcript:
    session_id: str
    lines: list[Line] = field(default_factory=list)

    @property
    def supporting(self) -> list[Line]:
        return [line for line in self.lines if line.support]


def _long(text: str | None) -> bool:
    return bool(text) and (len(text) > FOLD_CHARS or text.count("\n") >= FOLD_LINES)


def _pretty(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return raw


def _parsed(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def load_transcript(home: ReverieHome, session_id: str) -> Transcript | None:
    """Every event of the session in order, or None when the lake has no such session."""
    con = connect(home)  # DuckDB reads partitions written by different versions of the schema alike
    try:
        cursor = con.execute("SELECT * FROM events WHERE session_id = ? ORDER BY seq, event_id", [session_id])
        names = [d[0] for d in cursor.description]
        rows, seen = [], set()
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            if row["event_id"] not in seen:  # a re-ingested file must not show its events twice
                seen.add(row["event_id"])
                rows.append(row)
    finally:
        con.close()
    if not rows:
        return None
    seq_of = {row["event_id"]: row["seq"] for row in rows}
    lines = [
        Line(
            seq=row["seq"],
            ts=row["ts"].isoformat() if row["ts"] is not None else "",
            agent=row["agent"] or "",
            type=row["type"],
            role=row["role"],
            tool=row["tool"],
            action=row.get("action"),
            input=_pretty(row["input"]),
            content=row["content"],
            is_error=bool(row["is_error"]),
            parent_seq=seq_of.get(row["parent_event_id"]) if row["parent_event_id"] else None,
            stored_signature=row.get("error_signature"),
        )
        for row in rows
    ]
    return Transcript(session_id, lines)


def _in_range(value: Any, rule: Rule) -> str:
    rec = rule.recommend
    if rec is None:
        return ""
    if rec.min is None and rec.max is None:
        return f" (recommended {rec.value})" if rec.value is not None else ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    low = rec.min if rec.min is not None else float("-inf")
    high = rec.max if rec.max is not None else float("inf")
    where = "inside" if low <= number <= high else "outside"
    return f": {where} the recommended {rec.min if rec.min is not None else '-inf'}..{rec.max if rec.max is not None else 'inf'}"


def _mark_parameter(lines: list[Line], raw: dict[int, dict[str, Any]], rule: Rule) -> None:
    for line in lines:
        data = raw.get(line.seq, {})
        if line.type == "decision" and data.get("parameter") == rule.parameter:
            line.support = f"sets {rule.parameter} = {data.get('value')}{_in_range(data.get('value'), rule)}"
        elif line.type == "session_start" and rule.conditions:
            context = data.get("context") or {}
            tested = ", ".join(f"{c.feature}={context.get(c.feature)}" for c in rule.conditions)
            held = "all hold" if rule.applies(context) else "not all hold"
            line.support = f"context the rule's conditions test: {tested} ({held})"


def _error_text(line: Line) -> str | None:
    if line.type == "error" or (line.type == "tool_result" and line.is_error):
        return line.content
    return None


def _signature_forms(line: Line, text: str) -> set[str | None]:
    """The error as the lake stored it and as the dream window cleaned it (entries quote the clean form)."""
    raw = {line.stored_signature, error_signature(text)}
    return raw | {clean_value(v, SIGNATURE_CHARS) for v in raw if v}


def _action_forms(line: Line) -> list[str]:
    """A call's action, whole and by part, as the dream window cleans them."""
    action = line.action or line.tool or ""
    parts = [p.strip() for p in action_parts(action) if p.strip()]
    return [clean_value(p, ACTION_CHARS) for p in [action, *parts]]


def _mark_errors_and_sequence(lines: list[Line], rule: Rule) -> None:
    first_error: int | None = None
    if rule.error_signature:
        for index, line in enumerate(lines):
            text = _error_text(line)
            if text is not None and rule.error_signature in _signature_forms(line, text):
                line.support = f"error «{rule.error_signature}»"
                first_error = index if first_error is None else first_error
                if line.parent_seq is not None:
                    call = next((c for c in lines if c.seq == line.parent_seq), None)
                    if call is not None and not call.support:
                        call.support = "the tool call that failed with the rule's error"
    named = {
        a: label
        for a, label in (
            (rule.prerequisite, "the prerequisite the lesson names"),
            (rule.action, "the action the lesson names"),
            (rule.alternative, "the alternative the lesson warns about"),
        )
        if a
    }
    if named and rule.kind != "recovery":
        for line in lines:
            if line.type == "tool_call" and not line.support:
                label = next((named[a] for a in _action_forms(line) if a in named), None)
                if label:
                    line.support = label
        return
    sequence = rule.sequence or []
    if not sequence:
        return
    calls = [line for line in lines[(first_error or 0) :] if line.type == "tool_call"]
    names = [c.tool for c in calls]
    if rule.action:  # coding recoveries name the action (a command), not the tool
        names = [next((a for a in _action_forms(c) if a in sequence), c.tool) for c in calls]
    for start in range(len(names) - len(sequence) + 1):
        if names[start : start + len(sequence)] == sequence:
            label = "after the error, " if rule.kind == "recovery" else ""
            for step, call in enumerate(calls[start : start + len(sequence)], start=1):
                call.support = f"{label}step {step} of {' -> '.join(sequence)}"
            return


def mark_support(transcript: Transcript, entry: Entry) -> None:
    """Mark the lines of `transcript` that back `entry` (see the module docstring)."""
    lines = transcript.lines
    raw = {line.seq: _parsed(line.input) for line in lines}
    rule = entry.rule
    if rule is not None and rule.kind == "parameter" and rule.parameter:
        _mark_parameter(lines, raw, rule)
    elif rule is not None:
        _mark_errors_and_sequence(lines, rule)
    if not transcript.supporting:  # an entry without a checkable rule: its sessions' errors are the lead
        for line in lines:
            if _error_text(line) is not None:
                line.support = "error in a cited session"
    for line in lines:
        if line.type == "session_end":
            line.outcome = True
