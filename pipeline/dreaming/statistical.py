"""The statistical dreamer: mine the window, keep what survives the tests, turn it into delta operations.

Entry texts come from templates and statistics only; the one piece of session text that can reach a playbook
is a masked, redacted error signature, quoted as such.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from pipeline.dreaming.coding_miners import CODING_KINDS, mine_coding_lessons, recent_contradiction
from pipeline.dreaming.curation import (
    DeltaOp,
    conditions_overlap,
    entry_from_finding,
    entry_id_for,
    entry_key,
)
from pipeline.dreaming.findings import Finding
from pipeline.dreaming.parameters import mine_parameters
from pipeline.dreaming.provenance import source_spread
from pipeline.dreaming.recount import parameter_counts
from pipeline.dreaming.safety import describe, entry_hazard
from pipeline.dreaming.settings import DreamSettings
from pipeline.dreaming.statistics import benjamini_hochberg, difference_interval
from pipeline.dreaming.window import DreamWindow
from pipeline.playbooks.model import Entry, EntryStatus, Playbook, Section


def mine_window(window: DreamWindow, settings: DreamSettings) -> list[Finding]:
    """Every tested pattern in the window, with BH q-values across all of them (one family per night)."""
    outcomes = window.learning_sessions.select("session_id", "success")
    findings = mine_parameters(window.decisions, outcomes, window.features, settings) + mine_coding_lessons(
        window.steps, window.learning_sessions, settings
    )
    # One test per parameter (its cells share it) and one per other pattern: a parameter split into three
    # context cells must not count as three discoveries.
    tests = {
        (f.family if f.kind == "parameter" else str(index)): f.p_value for index, f in enumerate(findings)
    }
    q_values = dict(zip(tests, benjamini_hochberg(list(tests.values())), strict=True))
    for index, finding in enumerate(findings):
        finding.q_value = q_values[finding.family if finding.kind == "parameter" else str(index)]
    return findings


def is_significant(finding: Finding, settings: DreamSettings) -> bool:
    """Support, FDR and effect size together keep noise out; direction depends on what the finding claims."""
    if "strategy" in finding.tags or finding.n_with < settings.min_support or finding.q_value > settings.fdr:
        return False
    if finding.kind == "hazard":
        return -finding.diff >= settings.min_effect
    return (finding.gate_diff if finding.gate_diff is not None else finding.diff) >= settings.min_effect


def _match_previous(
    finding: Finding, live: list[Entry], taken: set[str], settings: DreamSettings, loose: bool = False
) -> Entry | None:
    """The previous entry this finding continues: same pattern key and overlapping conditions; failing that,
    for a parameter, a live entry about the same parameter whose conditions were cut differently, so a
    rule re-estimated in other context cells is updated (ids, counters and history kept), not churned."""
    best, best_overlap = None, 0.0
    for entry in live:
        if entry.id in taken or entry_key(entry) != finding.key:
            continue
        overlap = conditions_overlap(entry.rule.conditions if entry.rule else [], finding.conditions)
        if overlap > best_overlap:
            best, best_overlap = entry, overlap
    if best is not None and (best_overlap >= settings.merge_overlap or not finding.conditions):
        return best
    if not loose or finding.kind != "parameter":
        return None
    same_parameter = [e for e in live if e.id not in taken and _family(entry_key(e)) == finding.family]
    return min(same_parameter, key=lambda e: (len(e.rule.conditions) if e.rule else 0, e.id), default=None)


def contradiction(entry: Entry, window: DreamWindow, settings: DreamSettings) -> str | None:
    """Why the window's data contradicts an entry: a coding lesson whose pattern no longer separates success
    from failure on the newest day, or a parameter rule whose in-range sessions do significantly worse."""
    rule = entry.rule
    if rule is not None and rule.kind in CODING_KINDS:
        return recent_contradiction(rule, window.steps, window.learning_sessions, settings)
    if rule is None or rule.kind != "parameter" or rule.recommend is None or rule.recommend.min is None:
        return None
    counted = parameter_counts(rule, window)
    if counted is None:
        return None
    k1, n1, k2, n2, _, _ = counted
    if n1 < settings.min_support or n2 < settings.min_support:
        return None
    diff, _, high = difference_interval(k1, n1, k2, n2)
    if high < 0:
        return f"contradicted: in range {k1}/{n1} succeeded vs {k2}/{n2} outside (diff {diff:+.0%})"
    return None


def _family(key: str) -> str:
    """Findings about the same decision parameter supersede each other whatever context they condition on."""
    parts = key.split("|")
    return "|".join(parts[:3]) if parts[0] == "parameter" else key


def _strategies_for_unruled(
    findings: list[Finding], significant: list[Finding], live: list[Entry]
) -> list[Finding]:
    """Strategy findings of parameters with no significant finding tonight and no live rule: a rule that
    merely failed to be re-found tonight stays in force (until contradicted or stale) rather than being
    replaced by the weaker evidence of a strategy."""
    ruled = {f.family for f in significant} | {
        _family(entry_key(e)) for e in live if e.rule is not None and e.section == Section.RULES
    }
    return [f for f in findings if "strategy" in f.tags and f.family not in ruled]


def propose_ops(
    previous: Playbook | None,
    findings: list[Finding],
    window: DreamWindow,
    day: date,
    version: str,
    settings: DreamSettings,
) -> list[DeltaOp]:
    """Significant findings become adds or updates of the entries they continue, each with the spread of
    its sessions' sources; live entries the safety screen flags, or the data supersedes, contradicts or has
    not supported for `stale_days`, are retired with the reason. `findings` must already be screened
    (`safety.screen_findings`)."""
    live = [e for e in (previous.entries if previous else []) if e.status != EntryStatus.RETIRED]
    significant = [
        f
        for f in findings
        if is_significant(f, settings)
        and not (
            f.kind in CODING_KINDS
            and f.rule
            and recent_contradiction(f.rule, window.steps, window.learning_sessions, settings)
        )
    ]
    kept = sorted(
        significant + _strategies_for_unruled(findings, significant, live),
        key=lambda f: (f.key, str(f.conditions)),
    )
    ops: list[DeltaOp] = []
    continued: set[str] = set()
    found_keys: dict[str, list[str]] = {}
    matches: dict[int, Entry] = {}
    for loose in (False, True):  # exact continuations first, so a loose match never steals one
        for index, finding in enumerate(kept):
            if index not in matches:
                match = _match_previous(finding, live, continued, settings, loose=loose)
                if match is not None:
                    matches[index] = match
                    continued.add(match.id)
    for index, finding in enumerate(kept):
        match = matches.get(index)
        if match is not None:
            spread = source_spread(window.origins, finding.members)
            entry = entry_from_finding(
                finding, match.id, match.created_in, version, previous=match, provenance=spread
            )
            ops.append(
                DeltaOp(op="update", entry_id=match.id, entry=entry, reason="re-estimated on new sessions")
            )
            found_keys.setdefault(_family(finding.key), []).append(match.id)
        else:
            entry_id = entry_id_for(finding.key, finding.conditions, version)
            entry = entry_from_finding(
                finding, entry_id, version, version, provenance=source_spread(window.origins, finding.members)
            )
            ops.append(DeltaOp(op="add", entry_id=entry_id, entry=entry))
            found_keys.setdefault(_family(finding.key), []).append(entry_id)
    stale_before = (day - timedelta(days=settings.stale_days)).isoformat()
    for entry in live:
        if entry.id in continued:
            continue
        key = _family(entry_key(entry))
        reason = None
        if (hazard := entry_hazard(entry)) is not None:  # written before the screen, or by a model
            reason = describe(hazard)
        elif key in found_keys:
            reason = f"superseded by {', '.join(found_keys[key])}"
        elif (why := contradiction(entry, window, settings)) is not None:
            reason = why
        elif entry.updated_in.removeprefix("pb-") < stale_before:
            reason = f"stale: no supporting sessions since {entry.updated_in}"
        if reason:
            ops.append(DeltaOp(op="retire", entry_id=entry.id, reason=reason))
    return ops


def cited_counters(window: DreamWindow, since: str | None) -> dict[str, tuple[int, int]]:
    """helpful/harmful per entry id from sessions newer than the parent version's partition: each session
    that cited an entry counts once, as helpful if it succeeded and harmful if not. Counting only new
    partitions lets counters carry across overlapping windows without double counting."""
    cites = window.decisions.select("session_id", "date", "followed")
    if window.citations is not None and not window.citations.is_empty():
        cites = pl.concat([cites, window.citations.select(cites.columns).cast(cites.schema)], how="vertical")
    cites = cites.explode("followed").drop_nulls("followed")
    if since is not None:
        cites = cites.filter(pl.col("date") > date.fromisoformat(since))
    counted = (
        cites.select("session_id", "followed")
        .unique()
        .join(window.learning_sessions.select("session_id", "success"), on="session_id")
        .group_by("followed")
        .agg(pl.col("success").sum().alias("helpful"), (~pl.col("success")).sum().alias("harmful"))
    )
    return {
        row["followed"]: (int(row["helpful"]), int(row["harmful"])) for row in counted.iter_rows(named=True)
    }
