"""Turn the operations a model proposes into verified delta operations, or say why each one is dropped.

The model read session text (fenced as data, but it may still follow it) and bundles that carry statistics, so
nothing it returns is taken on trust:
- its text, role and rule values pass `lesson_checks` (plain, bounded, screened, inert);
- every session it cites exists in the window; for a coding lesson, the actions and the error it names occur
  in the cited sessions, and each cited session is in the lesson's scope and in the situation it is about;
- support, effect, q-value and cited sessions are recounted from the sessions that actually show the pattern
  (`recount`), and the lesson must pass the statistical dreamer's support, FDR and effect thresholds; the
  text of a coding lesson is written from that recount, never from the model's numbers;
- a retire must agree with the statistics (the pattern no longer separates success from failure);
- a lesson already in the playbook is updated, never added twice, and one tonight's statistics already
  re-estimate is dropped as a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import polars as pl

from pipeline.dreaming.coding_lessons import rule_scope
from pipeline.dreaming.coding_miners import CODING_KINDS
from pipeline.dreaming.curation import DeltaOp, entry_id_for, entry_key
from pipeline.dreaming.evidence import EvidenceBundle
from pipeline.dreaming.findings import Finding
from pipeline.dreaming.lesson_checks import (
    MAX_TEXT_CHARS,
    check_agent,
    check_evidence,
    check_rule,
    check_text,
    known_agents,
)
from pipeline.dreaming.provenance import source_spread
from pipeline.dreaming.recount import holds, recount, signed_diff, window_parts
from pipeline.dreaming.safety import describe, entry_hazard, finding_hazard
from pipeline.dreaming.settings import DreamSettings
from pipeline.dreaming.statistical import contradiction
from pipeline.dreaming.statistics import benjamini_hochberg
from pipeline.dreaming.verification import verify_operation
from pipeline.dreaming.window import DreamWindow
from pipeline.playbooks.model import Entry, EntryStatus, Playbook, Rule, Section
from pipeline.playbooks.safe_text import clean_value

_NAMED_ACTIONS = {
    "precondition": ("prerequisite", "action"),
    "recovery": ("action",),
    "substitution": ("action", "alternative"),
    "hazard": ("action",),
}


@dataclass
class ProposalContext:
    """What every proposed operation of one night is checked against."""

    window: DreamWindow
    previous: Playbook | None
    version: str
    settings: DreamSettings
    bundles: dict[str, EvidenceBundle]
    findings: list[Finding]
    tonight: list[DeltaOp] = field(default_factory=list)  # the statistical dreamer's operations
    claimed: dict[str, str] = field(default_factory=dict)  # pattern key -> entry id, of accepted proposals

    @cached_property
    def parts(self) -> pl.DataFrame:
        return window_parts(self.window)

    @cached_property
    def live(self) -> dict[str, Entry]:
        entries = self.previous.entries if self.previous else []
        return {e.id: e for e in entries if e.status != EntryStatus.RETIRED}

    @cached_property
    def tonight_keys(self) -> dict[str, str]:
        return {entry_key(op.entry): op.entry_id for op in self.tonight if op.entry is not None}

    @cached_property
    def family(self) -> list[float]:
        """P-values of tonight's tests (one per parameter, one per other pattern), as `mine_window` counts
        them; a proposal that is none of them joins the family before its q-value is computed."""
        tests = {
            (f.family if f.kind == "parameter" else f"{i}|{f.key}"): f.p_value
            for i, f in enumerate(self.findings)
        }
        return list(tests.values())

    def q_value(self, finding: Finding) -> float:
        """The q-value tonight's statistics gave this pattern, or its q among tonight's tests plus it."""
        for known in self.findings:
            if known.key == finding.key and known.n_with == finding.n_with and known.k_with == finding.k_with:
                return known.q_value
        self.family.append(finding.p_value)
        return benjamini_hochberg(self.family)[-1]


def to_delta(raw: dict[str, Any], ctx: ProposalContext) -> tuple[DeltaOp | None, str]:
    """The verified operation, or None and the reason it is dropped."""
    kind = raw.get("op")
    if kind == "retire":
        return _retire(raw, ctx)
    if kind == "merge":
        return _merge(raw, ctx)
    if kind not in ("add", "update"):
        return None, f"unknown op {clean_value(kind, 20)!r}"
    cited, problem = check_evidence(raw.get("evidence"))
    if problem:
        return None, problem
    try:
        rule = Rule.model_validate(raw["rule"]) if raw.get("rule") else None
        section = Section(raw.get("section") or "strategies")
    except (ValueError, TypeError) as error:
        return None, f"malformed rule or section: {clean_value(error, 200)}"
    text, problem = check_text(raw.get("text"))  # a text that follows injected data drops the whole op
    problem = (
        problem or check_rule(rule, ctx.window) or verify_operation(cited, rule, ctx.window, ctx.settings)
    )
    if problem:
        return None, problem
    if rule is not None and rule.kind == "avoid_sequence":
        return None, "a sequence of bare tool names is never a lesson (avoid_sequence is not proposed)"
    agent = raw.get("agent") or "*"
    if (problem := check_agent(agent, known_agents(ctx.window, ctx.previous))) is not None:
        return None, problem
    if rule is not None and rule.kind in CODING_KINDS:
        draft, problem = _lesson_entry(rule, cited, agent, ctx)
    elif rule is not None and rule.kind == "parameter":
        draft, problem = _parameter_entry(rule, cited, agent, section, text, ctx)
    else:
        draft, problem = _text_entry(raw, rule, cited, agent, section, text, ctx)
    if draft is None:
        return None, problem
    if (hazard := entry_hazard(draft)) is not None:
        return None, describe(hazard)
    return _place(kind, raw.get("entry_id"), draft, ctx)


def _place(kind: str, target_id: Any, draft: Entry, ctx: ProposalContext) -> tuple[DeltaOp | None, str]:
    """Add, or update the entry this lesson already is: never a second entry for one pattern."""
    key = entry_key(draft)
    if key in ctx.tonight_keys:
        return None, f"duplicate of {ctx.tonight_keys[key]}, which tonight's statistics already write"
    if key in ctx.claimed:
        return None, f"duplicate of {ctx.claimed[key]}, proposed earlier tonight"
    same = [e for e in ctx.live.values() if entry_key(e) == key]
    if kind == "update":
        target = ctx.live.get(target_id) if isinstance(target_id, str) else None
        if target is None:
            return None, f"update of unknown entry {clean_value(target_id, 40)}"
        if target.rule is not None and entry_key(target) != key:
            return None, f"update would change what {target.id} is about: propose an add, or retire it"
    else:
        target = same[0] if same else None
    if target is not None:
        entry = draft.model_copy(
            update={
                "id": target.id,
                "created_in": target.created_in,
                "helpful": target.helpful,
                "harmful": target.harmful,
                "status": target.status,
            }
        )
        reason = "claude curation" if kind == "update" else f"claude: re-proposed lesson, updates {target.id}"
        ctx.claimed[key] = target.id
        return DeltaOp(op="update", entry_id=target.id, entry=entry, reason=reason), ""
    entry_id = entry_id_for("claude|" + key, draft.rule.conditions if draft.rule else [], ctx.version)
    ctx.claimed[key] = entry_id
    return DeltaOp(op="add", entry_id=entry_id, entry=draft.model_copy(update={"id": entry_id})), ""


def _lesson_entry(rule: Rule, cited: list[str], agent: str, ctx: ProposalContext) -> tuple[Entry | None, str]:
    """A coding lesson, checked against its cited sessions and recounted on the window."""
    named = {name: getattr(rule, name) for name in _NAMED_ACTIONS[rule.kind]}
    if rule.kind == "recovery":
        named["error_signature"] = rule.error_signature
    if missing := [name for name, value in named.items() if not value]:
        return None, f"a {rule.kind} lesson names its {' and '.join(missing)}"
    scope = rule_scope(rule)
    sessions = ctx.window.learning_sessions.filter(pl.col("session_id").is_in(cited))
    if scope is not None and (
        outside := [s for s, p in sessions.select("session_id", "project").iter_rows() if p != scope]
    ):
        return None, f"cites sessions outside its scope {clean_value(scope, 40)!r}: {', '.join(outside[:3])}"
    in_scope = (
        ctx.window.learning_sessions
        if scope is None
        else ctx.window.learning_sessions.filter(pl.col("project") == scope)
    )
    scoped = ctx.parts.join(in_scope.select("session_id"), on="session_id", how="semi")
    shown = scoped.filter(pl.col("session_id").is_in(cited))
    for name in ("prerequisite", "action", "alternative"):
        value = getattr(rule, name)
        if value and scoped.filter(pl.col("action") == value).is_empty():
            return None, f"names the action {clean_value(value, 60)!r}, which no session in its scope ran"
    for name in _NAMED_ACTIONS[rule.kind]:  # what it tells the agent to do (or, for a hazard, not to)
        value = getattr(rule, name)
        if name != "alternative" and shown.filter(pl.col("action") == value).is_empty():
            return None, f"names the action {clean_value(value, 60)!r}, which no cited session ran"
    if rule.error_signature and shown.filter(pl.col("signature") == rule.error_signature).is_empty():
        return None, f"names the error {clean_value(rule.error_signature, 60)!r}, which no cited session hit"
    counted = recount(rule, ctx.window, ctx.parts, ctx.settings)
    if counted is None:
        return None, "no session in its scope shows the situation the lesson is about"
    finding = counted.finding
    if strays := [s for s in cited if s not in counted.population]:
        return None, f"cites sessions that are not in the situation it is about: {', '.join(strays[:3])}"
    finding.q_value = ctx.q_value(finding)
    if (problem := holds(finding, ctx.settings)) is not None:
        return None, problem
    if (hazard := finding_hazard(finding)) is not None:
        return None, describe(hazard)
    return _from_finding(finding, agent, finding.section, finding.text, ctx), ""


def _parameter_entry(
    rule: Rule, cited: list[str], agent: str, section: Section, text: str, ctx: ProposalContext
) -> tuple[Entry | None, str]:
    counted = recount(rule, ctx.window, ctx.parts, ctx.settings, agent=agent)
    if counted is None:
        return None, f"no session in the window set {clean_value(rule.parameter, 40)!r} under its conditions"
    finding = counted.finding
    finding.q_value = ctx.q_value(finding)
    if (problem := holds(finding, ctx.settings)) is not None:
        return None, problem
    return _from_finding(finding, agent, section, text, ctx), ""


def _text_entry(
    raw: dict[str, Any],
    rule: Rule | None,
    cited: list[str],
    agent: str,
    section: Section,
    text: str,
    ctx: ProposalContext,
) -> tuple[Entry | None, str]:
    """A lesson with no countable rule: it must come from a bundle, and its support is the sessions it
    cites (verified to exist), never the bundle's numbers; it has no effect to report."""
    bundle_id = raw.get("bundle")
    bundle = ctx.bundles.get(bundle_id) if isinstance(bundle_id, str) else None
    if bundle is None:
        return None, "a lesson without a checkable rule must come from a bundle"
    if rule is not None:
        return None, f"a {rule.kind} rule needs the fields the lake can check"
    support = sorted(set(cited))
    return Entry(
        id="draft",
        agent=agent,
        section=section,
        text=text,
        support=len(support),
        evidence=support,
        created_in=ctx.version,
        updated_in=ctx.version,
        source="claude",
        provenance=source_spread(ctx.window.origins, support),
    ), ""


def _from_finding(finding: Finding, agent: str, section: Section, text: str, ctx: ProposalContext) -> Entry:
    return Entry(
        id="draft",
        agent=agent,
        section=section,
        text=text,
        rule=finding.rule,
        support=finding.n_with,
        effect=finding.effect(),
        confidence=round(max(0.0, 1 - finding.q_value), 4),
        evidence=finding.evidence,
        created_in=ctx.version,
        updated_in=ctx.version,
        source="claude",
        provenance=source_spread(ctx.window.origins, finding.members),
    )


def _retire(raw: dict[str, Any], ctx: ProposalContext) -> tuple[DeltaOp | None, str]:
    target, reason = raw.get("entry_id"), raw.get("reason")
    if (
        not isinstance(target, str)
        or target not in ctx.live
        or not isinstance(reason, str)
        or not reason.strip()
    ):
        return None, f"retire of unknown entry or without reason: {clean_value(target, 40)}"
    agreed, problem = retire_agreement(ctx.live[target], ctx)
    if agreed is None:
        return None, problem
    said = clean_value(reason, MAX_TEXT_CHARS)
    return DeltaOp(op="retire", entry_id=target, reason=f"claude: {said} (data: {agreed})"), ""


def retire_agreement(entry: Entry, ctx: ProposalContext) -> tuple[str | None, str]:
    """(what the data says, "") when the statistics agree the entry no longer holds, else (None, why not)."""
    rule, settings = entry.rule, ctx.settings
    if rule is None or (rule.kind not in CODING_KINDS and rule.kind != "parameter"):
        return None, f"{entry.id} has no rule the data can judge: it retires when stale, not on request"
    if (why := contradiction(entry, ctx.window, settings)) is not None:
        return why, ""
    counted = recount(rule, ctx.window, ctx.parts, settings, agent=entry.agent)
    if counted is None:
        return None, f"no session in the window shows the situation of {entry.id}: it retires when stale"
    finding = counted.finding
    counts = f"{finding.k_with}/{finding.n_with} with vs {finding.k_without}/{finding.n_without} without"
    if finding.n_with < settings.min_support or finding.n_without < settings.min_support:
        return None, f"too few sessions to judge {entry.id}: {counts}"
    if signed_diff(finding) < settings.min_effect:
        return f"no longer separates success from failure: {counts} ({finding.diff:+.0%})", ""
    return None, f"retire contradicts the data: {entry.id} still holds, {counts} ({finding.diff:+.0%})"


def _merge(raw: dict[str, Any], ctx: ProposalContext) -> tuple[DeltaOp | None, str]:
    source, into = raw.get("entry_id"), raw.get("into")
    if (
        not isinstance(source, str)
        or not isinstance(into, str)
        or source not in ctx.live
        or into not in ctx.live
    ):
        return None, f"merge of unknown entries: {clean_value(source, 40)} -> {clean_value(into, 40)}"
    if source == into:
        return None, f"merge of an entry into itself: {source}"
    a, b = ctx.live[source].rule, ctx.live[into].rule
    if (a is None) != (b is None) or (
        a is not None
        and b is not None
        and (a.kind, rule_scope(a), a.action) != (b.kind, rule_scope(b), b.action)
    ):
        return None, f"merge of entries about different lessons: {source} -> {into}"
    return DeltaOp(op="merge", entry_id=source, into=into, reason="claude: near-duplicate"), ""
