"""Delta operations (add, update, merge, retire) and their deterministic application to a playbook.

Dreamers never rewrite a playbook: they propose small operations against the previous version, and this module
applies them in a fixed order. Rewrites lose entries ("context collapse"); deltas keep ids, counters and
history, and make every change reviewable.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict

from pipeline.dreaming.coding_lessons import lesson_key
from pipeline.dreaming.findings import Finding
from pipeline.playbooks.model import Condition, Entry, EntryStatus, Playbook, Rule, SourceSpread

OpKind = Literal["add", "update", "merge", "retire"]


class DeltaOp(BaseModel):
    """One change. `add`/`update` carry the full new entry; `merge` folds `entry_id` into `into`;
    `retire` keeps the entry with its reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    op: OpKind
    entry_id: str
    entry: Entry | None = None
    into: str | None = None
    reason: str | None = None


def rule_key(agent: str, rule: Rule | None, fallback: str) -> str:
    """What makes two entries the same pattern across nights (ranges and stats may move; the key does not)."""
    if rule is None:
        return fallback
    if rule.kind in ("precondition", "substitution", "hazard") or (rule.kind == "recovery" and rule.action):
        return lesson_key(rule)
    if rule.kind == "parameter":
        features = ",".join(sorted(c.feature for c in rule.conditions))
        return f"parameter|{agent}|{rule.parameter}|{features}"
    if rule.kind == "recovery":
        return f"recovery|{rule.error_signature}|{' -> '.join(rule.sequence or [])}"
    if rule.error_signature:
        return f"error|{rule.error_signature}"
    return f"sequence|{' -> '.join(rule.sequence or [])}"


def entry_key(entry: Entry) -> str:
    return rule_key(entry.agent, entry.rule, f"text|{entry.agent}|{entry.section}|{entry.text}")


def entry_id_for(finding_key: str, conditions: list[Condition], created_in: str) -> str:
    """Deterministic ids: the same finding on the same night always gets the same id."""
    spec = finding_key + "|" + "|".join(c.model_dump_json() for c in conditions) + "|" + created_in
    digest = hashlib.sha1(spec.encode()).hexdigest()[:8]
    kind = finding_key.split("|", 1)[0]
    return f"{kind[:4]}-{digest}"


def interval_overlap(a: Condition, b: Condition) -> float:
    """Overlap of two condition intervals as a fraction of the smaller one (open ends count as infinite)."""
    low = max(a.min if a.min is not None else float("-inf"), b.min if b.min is not None else float("-inf"))
    high = min(a.max if a.max is not None else float("inf"), b.max if b.max is not None else float("inf"))
    if high <= low:
        return 0.0
    widths = [
        (c.max if c.max is not None else float("inf")) - (c.min if c.min is not None else float("-inf"))
        for c in (a, b)
    ]
    smaller = min(widths)
    return 1.0 if smaller == float("inf") else min(1.0, (high - low) / smaller)


def conditions_overlap(a: list[Condition], b: list[Condition]) -> float:
    """Smallest per-feature overlap; rules on different feature sets are different patterns."""
    if sorted(c.feature for c in a) != sorted(c.feature for c in b):
        return 0.0
    if not a:
        return 1.0
    by_feature = {c.feature: c for c in b}
    return min(interval_overlap(c, by_feature[c.feature]) for c in a)


def entry_from_finding(
    finding: Finding,
    entry_id: str,
    created_in: str,
    updated_in: str,
    previous: Entry | None = None,
    source: str = "statistical",
    provenance: list[SourceSpread] | None = None,
) -> Entry:
    return Entry(
        id=entry_id,
        agent=finding.agent,
        section=finding.section,
        text=finding.text,
        rule=finding.rule,
        support=finding.n_with,
        effect=finding.effect(),
        confidence=round(max(0.0, 1.0 - finding.q_value), 4),
        evidence=finding.evidence,
        helpful=previous.helpful if previous else 0,
        harmful=previous.harmful if previous else 0,
        status=EntryStatus.CANDIDATE,
        created_in=created_in,
        updated_in=updated_in,
        source=source,
        provenance=provenance,
    )


def apply_ops(previous: Playbook | None, ops: list[DeltaOp], template: Playbook) -> Playbook:
    """Apply ops in order to the previous version's entries; `template` carries the new version's metadata.

    Entries not touched by any op are carried unchanged (with their counters); retired entries are kept."""
    entries: dict[str, Entry] = {e.id: e for e in (previous.entries if previous else [])}
    for op in ops:
        if op.op in ("add", "update"):
            if op.entry is None:
                raise ValueError(f"{op.op} needs an entry")
            entries[op.entry_id] = op.entry
        elif op.op == "retire":
            if op.entry_id in entries:
                entries[op.entry_id] = entries[op.entry_id].model_copy(
                    update={
                        "status": EntryStatus.RETIRED,
                        "retired_reason": op.reason,
                        "updated_in": template.version,
                    }
                )
        elif op.op == "merge":
            source, target = entries.get(op.entry_id), entries.get(op.into or "")
            if source is None or target is None:
                continue
            entries[target.id] = target.model_copy(
                update={
                    "evidence": sorted(set(target.evidence) | set(source.evidence)),
                    "support": max(target.support, source.support),
                    "helpful": target.helpful + source.helpful,
                    "harmful": target.harmful + source.harmful,
                    "updated_in": template.version,
                }
            )
            entries[source.id] = source.model_copy(
                update={
                    "status": EntryStatus.RETIRED,
                    "retired_reason": op.reason or f"merged into {target.id}",
                    "updated_in": template.version,
                    "helpful": 0,
                    "harmful": 0,
                }
            )
    ordered = sorted(entries.values(), key=lambda e: (e.agent, e.section, e.id))
    return template.model_copy(update={"entries": ordered})
