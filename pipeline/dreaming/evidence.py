"""Compact evidence bundles for the Claude dreamer: the top patterns with their statistics and short, redacted
excerpts of a few cited sessions, fenced as untrusted data.

Bundles are bounded by construction (K patterns x a few sessions x short excerpts), so the cost of a Claude
dream grows with the number of patterns, not with the number of sessions in the window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from pipeline.dreaming.findings import Finding
from pipeline.dreaming.window import DreamWindow
from pipeline.playbooks.safe_text import one_line
from pipeline.redaction import Redactor

EXCERPT_CHARS = 160
SESSIONS_PER_BUNDLE = 3
UNTRUSTED_OPEN = "<untrusted_session_data>"
UNTRUSTED_CLOSE = "</untrusted_session_data>"


@dataclass(frozen=True)
class EvidenceBundle:
    bundle_id: str
    finding: Finding
    excerpts: dict[str, list[str]]  # session id -> short redacted lines

    def render(self) -> str:
        """The bundle header (ours), then everything else inside the untrusted fence: the statistics too,
        since the pattern, rule and cited ids in them name tools, errors and sessions the sessions chose."""
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
            "cited_sessions": f.evidence[:SESSIONS_PER_BUNDLE],
        }
        body = ["Statistics (counted by Reverie; the names in them come from sessions):", fenced_json(stats)]
        for session_id, excerpt in self.excerpts.items():
            body.append(f"session {defang(session_id)}:")
            body += [f"  | {defang(line)}" for line in excerpt]
        return "\n".join([f"## Bundle {self.bundle_id}", UNTRUSTED_OPEN, *body, UNTRUSTED_CLOSE])


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
    window: DreamWindow, findings: list[Finding], k: int = 8, redactor: Redactor | None = None
) -> list[EvidenceBundle]:
    redactor = redactor or Redactor()
    bundles = []
    for index, finding in enumerate(top_findings(findings, k), start=1):
        cited = finding.evidence[:SESSIONS_PER_BUNDLE]
        excerpts = {}
        for session_id in cited:
            excerpts[session_id] = _excerpt(window, session_id, finding, redactor)
        bundles.append(EvidenceBundle(bundle_id=f"B{index}", finding=finding, excerpts=excerpts))
    return bundles


def _excerpt(window: DreamWindow, session_id: str, finding: Finding, redactor: Redactor) -> list[str]:
    """A few lines per session: its decisions for parameter patterns, its tool calls and errors otherwise."""
    if finding.kind == "parameter":
        rows = window.decisions.filter(pl.col("session_id") == session_id).sort("parameter")
        return [f"{r['parameter']} = {r['value']:.4g}" for r in rows.iter_rows(named=True)][:6]
    steps = window.steps.filter(pl.col("session_id") == session_id).sort("step")
    lines = []
    for row in steps.iter_rows(named=True):
        line = f"{row['step']}: {row['tool']}" + (f" FAILED {row['signature']}" if row["failed"] else "")
        lines.append(redactor.redact(line[:EXCERPT_CHARS]).text)
    return lines[:8]
