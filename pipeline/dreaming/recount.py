"""Recount a lesson on the window: the numbers behind every check of what a model proposes or retires.

A language model reads bundles that carry statistics; nothing it returns may carry them back. Support, effect,
p-value and cited sessions of a proposed lesson are recounted here from the sessions that actually show its
pattern, with the same code that mined tonight's candidates (`count_rule` for coding lessons, the in-range
comparison of `contradiction` for parameter rules), and the verdict uses the same support, FDR and effect
thresholds as the statistical dreamer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.dreaming.coding_lessons import action_parts, count_rule, rule_scope
from pipeline.dreaming.coding_miners import CODING_KINDS, lesson_finding, whole_calls
from pipeline.dreaming.findings import Finding
from pipeline.dreaming.settings import DreamSettings
from pipeline.dreaming.statistics import fisher_p_value
from pipeline.dreaming.window import DreamWindow
from pipeline.playbooks.model import Rule, Section


def window_parts(window: DreamWindow) -> pl.DataFrame:
    """The window's action parts (`action_parts`), as the coding miners count them."""
    steps = window.steps
    if steps.is_empty() or "action" not in steps.columns:
        return action_parts(steps)
    return action_parts(steps.filter(pl.col("action").is_not_null()))


def parameter_counts(
    rule: Rule, window: DreamWindow
) -> tuple[int, int, int, int, list[str], list[str]] | None:
    """Successes/sessions that set the rule's parameter inside vs outside its recommended range, among
    sessions whose context meets its conditions; plus the in-range successes (what such an entry cites) and
    every session counted."""
    if rule.kind != "parameter" or rule.recommend is None or rule.parameter is None:
        return None
    rows = (
        window.decisions.filter(pl.col("parameter") == rule.parameter)
        .join(window.learning_sessions.select("session_id", "success"), on="session_id")
        .join(window.features, on="session_id", how="left")
    )
    if rows.is_empty():
        return None
    holds = np.ones(rows.height, dtype=bool)
    for condition in rule.conditions:
        if condition.feature not in rows.columns:
            return None
        feature = rows[condition.feature].to_numpy()
        if condition.min is not None:
            holds &= feature >= condition.min
        if condition.max is not None:
            holds &= feature < condition.max
    rec = rule.recommend
    values, success = rows["value"].to_numpy(), rows["success"].to_numpy().astype(bool)
    if rec.min is not None or rec.max is not None:  # a range (its value is only the preferred centre)
        low = rec.min if rec.min is not None else -np.inf
        inside_range = (values >= low) & (values <= (rec.max if rec.max is not None else np.inf))
    elif isinstance(rec.value, int | float) and not isinstance(rec.value, bool):
        inside_range = values == float(rec.value)
    else:
        return None  # nothing numeric to compare with
    inside, outside = holds & inside_range, holds & ~inside_range
    ids = rows["session_id"].to_numpy()
    return (
        int(success[inside].sum()),
        int(inside.sum()),
        int(success[outside].sum()),
        int(outside.sum()),
        sorted(str(s) for s in ids[inside & success]),
        sorted(str(s) for s in ids[holds]),
    )


@dataclass(frozen=True)
class Recount:
    """The finding a rule makes on the window, and every session it counted (with or without the pattern)."""

    finding: Finding
    population: frozenset[str]


def recount(
    rule: Rule, window: DreamWindow, parts: pl.DataFrame, settings: DreamSettings, agent: str = "*"
) -> Recount | None:
    """The rule counted from scratch on the window; None when no session in its scope shows the situation
    it is about (or the rule is of a kind that cannot be counted)."""
    if rule.kind in CODING_KINDS:
        counts = count_rule(rule, parts, window.learning_sessions, settings.evidence_limit)
        if counts is None:
            return None
        finding = lesson_finding(rule, counts, rule_scope(rule), settings)
        finding.tags["calls"] = whole_calls(parts, rule)
        finding.members = counts.members or []
        return Recount(finding, frozenset(counts.population or []))
    counted = parameter_counts(rule, window)
    if counted is None:
        return None
    k1, n1, k2, n2, cited, population = counted
    return Recount(
        Finding(
            kind="parameter",
            agent=agent,
            section=Section.RULES,
            rule=rule,
            text="",
            k_with=k1,
            n_with=n1,
            k_without=k2,
            n_without=n2,
            p_value=fisher_p_value(k1, n1, k2, n2, alternative="greater"),
            evidence=cited[: settings.evidence_limit],
            key=f"parameter|{agent}|{rule.parameter}|" + ",".join(sorted(c.feature for c in rule.conditions)),
            members=cited,
        ),
        frozenset(population),
    )


def signed_diff(finding: Finding) -> float:
    """The effect in the direction the lesson claims (a hazard claims its sessions do worse)."""
    return -finding.diff if finding.kind == "hazard" else finding.diff


def holds(finding: Finding, settings: DreamSettings) -> str | None:
    """Why the recounted finding is not a lesson (support, effect, FDR), or None when it is one."""
    counts = (
        f"{finding.k_with}/{finding.n_with} with the pattern succeeded vs "
        f"{finding.k_without}/{finding.n_without} without"
    )
    if finding.n_with < settings.min_support or finding.n_without < 1:
        return f"recounted support too small: {counts}"
    if signed_diff(finding) < settings.min_effect:
        return f"recounted effect below {settings.min_effect:.0%}: {counts} ({finding.diff:+.0%})"
    if finding.q_value > settings.fdr:
        return f"recounted q = {finding.q_value:.3g} above the FDR {settings.fdr}: {counts}"
    return None
