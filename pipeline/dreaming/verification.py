"""Checks that an operation's cited sessions exist in the window and show what its rule claims.

This is what keeps a poisoned or hallucinated lesson out: the model may write any text, but the sessions it
cites are looked up in the lake, and a parameter rule's cited sessions must have chosen values inside the
recommended range in the stated conditions, a sequence's cited sessions must contain the sequence.
"""

from __future__ import annotations

import polars as pl

from pipeline.dreaming.settings import DreamSettings
from pipeline.dreaming.window import DreamWindow
from pipeline.playbooks.model import Rule

SEPARATOR = " -> "  # how a recovery's tool sequence reads when checked against a cited session


def verify_operation(
    evidence: list[str], rule: Rule | None, window: DreamWindow, settings: DreamSettings
) -> str | None:
    """None when the citations hold up; otherwise the reason the operation is dropped."""
    cited = sorted(set(evidence))
    if len(cited) < settings.min_support:
        return f"cites {len(cited)} sessions; at least {settings.min_support} distinct sessions are required"
    known = set(window.learning_sessions["session_id"].to_list())
    missing = [s for s in cited if s not in known]
    if missing:
        return f"cites sessions not in the window: {', '.join(missing[:5])}"
    if rule is None:
        return None
    if rule.kind == "parameter" and rule.recommend is not None:
        return _verify_parameter(cited, rule, window)
    if rule.sequence and not rule.action:  # a coding lesson's actions are checked by `proposals`
        return _verify_sequence(cited, rule, window)
    return None


def _verify_parameter(cited: list[str], rule: Rule, window: DreamWindow) -> str | None:
    rows = window.decisions.filter(
        pl.col("session_id").is_in(cited) & (pl.col("parameter") == rule.parameter)
    ).join(window.features, on="session_id", how="left")
    if rows.height < len(cited):
        return f"some cited sessions never set {rule.parameter}"
    rec = rule.recommend
    assert rec is not None
    for row in rows.iter_rows(named=True):
        context = {k: v for k, v in row.items() if k not in ("session_id", "parameter", "value")}
        if not rule.applies(context):
            return f"session {row['session_id']} does not meet the rule's conditions"
        value = row["value"]
        if rec.value is not None and value != rec.value:
            return f"session {row['session_id']} set {value}, not {rec.value}"
        if (rec.min is not None and value < rec.min) or (rec.max is not None and value > rec.max):
            return f"session {row['session_id']} set {value}, outside the claimed range"
    return None


def _verify_sequence(cited: list[str], rule: Rule, window: DreamWindow) -> str | None:
    wanted = SEPARATOR.join(rule.sequence or [])
    tools = (
        window.steps.filter(pl.col("session_id").is_in(cited))
        .sort("session_id", "step")
        .group_by("session_id")
        .agg(pl.col("tool").str.join(SEPARATOR).alias("tools"))
    )
    shown = {r["session_id"] for r in tools.iter_rows(named=True) if wanted in r["tools"]}
    lacking = [s for s in cited if s not in shown]
    return f"cited sessions do not show the sequence {wanted}: {', '.join(lacking[:5])}" if lacking else None
