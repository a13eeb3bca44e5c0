"""Evidence bundles for the Claude dreamer: the top patterns with their statistics and, for a few of their
sessions, the project, the task and the actions in order with the error lines they hit, fenced as untrusted
data and bounded in tokens.

Every piece of session text in a bundle is redacted, made one bounded line (`clean_value`) and defanged so it
cannot close the fence. A bundle is cut to `BUNDLE_TOKEN_BUDGET` estimated tokens (lines are dropped from the
longest excerpt first, then tasks), so the cost of a Claude dream grows with the number of patterns, not with
the number of sessions or the length of their logs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace

import polars as pl

from pipeline.dreaming.findings import Finding
from pipeline.dreaming.window import DreamWindow
from pipeline.playbooks.safe_text import clean_value, one_line
from pipeline.redaction import Redactor

ACTION_CHARS = 120
TASK_CHARS = 200
SESSIONS_PER_BUNDLE = 3
STEPS_PER_SESSION = 12
# Claude's tokenizer is not available offline. English averages about four bytes a token and code about
# three; counting one token per three UTF-8 bytes over-estimates both, so a bundle under the budget by this
# count is under it for the model too (and for the local stub, which counts four characters a token).
BYTES_PER_TOKEN = 3
BUNDLE_TOKEN_BUDGET = 1500
UNTRUSTED_OPEN = "<untrusted_session_data>"
UNTRUSTED_CLOSE = "</untrusted_session_data>"


def estimated_tokens(text: str) -> int:
    """A pessimistic token count of `text` (see BYTES_PER_TOKEN)."""
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


@dataclass(frozen=True)
class SessionExcerpt:
    """What a bundle shows of one session: all of it already cleaned (redacted, one line, bounded)."""

    session_id: str
    project: str | None
    task: str | None
    success: bool
    steps: tuple[str, ...]  # "3: pytest FAILED ModuleNotFoundError: No module named <str>"


@dataclass(frozen=True)
class EvidenceBundle:
    bundle_id: str
    finding: Finding
    sessions: tuple[SessionExcerpt, ...] = field(default_factory=tuple)

    @property
    def cited(self) -> list[str]:
        return [s.session_id for s in self.sessions]

    def render(self) -> str:
        """The bundle header (ours), then everything else inside the untrusted fence: the statistics too,
        since the pattern, rule and cited ids in them name actions, errors and sessions the sessions chose."""
        f = self.finding
        stats = {
            "pattern": f.key,
            "agent": f.agent,
            "section": str(f.section),
            "rule": f.rule.model_dump(mode="json", exclude_none=True) if f.rule else None,
            "sessions_with": f.n_with,
            "success_with": round(f.rate_with, 3),
            "sessions_without": f.n_without,
            "success_without": round(f.rate_without, 3),
            "q_value": float(f"{f.q_value:.3g}"),
            "cited_sessions": self.cited,
        }
        body = ["Statistics (counted by Reverie; the names in them come from sessions):", fenced_json(stats)]
        for s in self.sessions:
            outcome = "succeeded" if s.success else "failed"
            body.append(f"session {defang(s.session_id)} ({outcome}; project {defang(s.project or '?')}):")
            if s.task is not None:
                body.append(f"  task: {defang(s.task)}")
            body += [f"  | {defang(line)}" for line in s.steps]
        return "\n".join([f"## Bundle {self.bundle_id}", UNTRUSTED_OPEN, *body, UNTRUSTED_CLOSE])

    @property
    def tokens(self) -> int:
        return estimated_tokens(self.render())


def defang(text: str) -> str:
    """Session text as one line that cannot close the fence or open a new one."""
    return one_line(text).replace("<", "\u2039").replace(">", "\u203a")


def fenced_json(data: object) -> str:
    """JSON on one line with `<` and `>` as \\u escapes: it cannot close the fence, and it parses back to
    exactly the same values."""
    return json.dumps(data, sort_keys=True).replace("<", "\\u003c").replace(">", "\\u003e")


def fence(lines: list[str]) -> str:
    """Untrusted lines (already one line each) wrapped in the fence, each defanged."""
    return "\n".join([UNTRUSTED_OPEN, *(defang(line) for line in lines), UNTRUSTED_CLOSE])


def top_findings(findings: list[Finding], k: int) -> list[Finding]:
    """The K strongest patterns (lowest q, then largest effect), deterministic on ties."""
    return sorted(findings, key=lambda f: (f.q_value, -abs(f.diff), f.key, str(f.conditions)))[:k]


def build_bundles(
    window: DreamWindow,
    findings: list[Finding],
    k: int = 8,
    redactor: Redactor | None = None,
    token_budget: int = BUNDLE_TOKEN_BUDGET,
) -> list[EvidenceBundle]:
    """Bundles for the K strongest patterns, each within `token_budget`; a pattern whose statistics alone
    would not fit is left out rather than sent over budget."""
    redactor = redactor or Redactor()
    bundles = []
    for finding in top_findings(findings, k):
        cited = finding.evidence[:SESSIONS_PER_BUNDLE]  # both sides of the comparison (`_tally`)
        sessions = tuple(_excerpt(window, session_id, finding, redactor) for session_id in cited)
        bundle = _within_budget(
            EvidenceBundle(bundle_id=f"B{len(bundles) + 1}", finding=finding, sessions=sessions), token_budget
        )
        if bundle is not None:
            bundles.append(bundle)
    return bundles


def _within_budget(bundle: EvidenceBundle, budget: int) -> EvidenceBundle | None:
    """Drop lines from the longest excerpt (the latest ones first), then tasks, until the bundle fits."""
    sessions = list(bundle.sessions)
    while estimated_tokens(replace(bundle, sessions=tuple(sessions)).render()) > budget:
        longest = max(range(len(sessions)), key=lambda i: (len(sessions[i].steps), i), default=None)
        if longest is not None and sessions[longest].steps:
            sessions[longest] = replace(sessions[longest], steps=sessions[longest].steps[:-1])
        elif any(s.task is not None for s in sessions):
            sessions = [replace(s, task=None) for s in sessions]
        else:
            return None
    return replace(bundle, sessions=tuple(sessions))


def _excerpt(window: DreamWindow, session_id: str, finding: Finding, redactor: Redactor) -> SessionExcerpt:
    """One session's project, task and steps: its decisions for parameter patterns, its actions (the whole
    command line) and the error lines they hit otherwise; steps naming the pattern's actions or failing come
    first when a session has more than STEPS_PER_SESSION."""
    row = window.sessions.filter(pl.col("session_id") == session_id)
    meta = row.row(0, named=True) if row.height else {}
    task = meta.get("task")
    project = meta.get("project")
    if finding.kind == "parameter":
        rows = window.decisions.filter(pl.col("session_id") == session_id).sort("parameter")
        steps = [
            f"{r['parameter']} = {r['value']:.4g}"
            for r in rows.iter_rows(named=True)
            if r["value"] is not None
        ]
    else:
        rule = finding.rule
        named = {a for a in (rule.action, rule.prerequisite, rule.alternative) if a} if rule else set()
        rows = window.steps.filter(pl.col("session_id") == session_id).sort("step")
        lines = []
        for r in rows.iter_rows(named=True):
            action = clean_value(r["action"] or r["tool"], ACTION_CHARS, redactor)
            failure = f" FAILED {r['signature'] or '(no error text)'}" if r["failed"] else ""
            relevant = r["failed"] or any(a in action for a in named)
            lines.append((not relevant, r["step"], f"{r['step']}: {action}{failure}"))
        kept = sorted(sorted(lines)[:STEPS_PER_SESSION], key=lambda line: line[1])
        steps = [text for _, _, text in kept]
    return SessionExcerpt(
        session_id=session_id,
        project=clean_value(project, 60, redactor) if project else None,
        task=clean_value(task, TASK_CHARS, redactor) if task else None,
        success=bool(meta.get("success", False)),
        steps=tuple(steps),
    )
