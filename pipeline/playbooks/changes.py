"""What changed between two playbook versions, value by value, for people reviewing them.

`PlaybookStore.diff` says which fields differ; a reviewer needs the values (old -> new) and needs retirements
told apart from edits, with the reason the dreamer gave. The CLI's `playbook diff` and the review page both
read this, so the terminal and the browser never disagree about what a dream changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pipeline.playbooks.model import Entry, EntryStatus
from pipeline.playbooks.store import PlaybookDiff

# Fields a reviewer reads first; the rest follow in name order.
FIELD_ORDER = ["status", "text", "rule", "support", "effect", "confidence", "helpful", "harmful", "evidence"]


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class EntryChange:
    old: Entry
    new: Entry
    fields: list[FieldChange]


@dataclass(frozen=True)
class VersionChanges:
    """A diff sorted the way a reviewer asks about it: new lessons, edited ones, retired ones (with why)."""

    old: str
    new: str
    added: list[Entry]
    updated: list[EntryChange]
    retired: list[EntryChange]
    removed: list[Entry]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.updated or self.retired or self.removed)


def _effect(value: dict[str, Any] | None) -> str:
    if not value:
        return "none"
    p = value.get("p_value")
    return (
        f"{value['rate_with']:.0%} with (n={value['n_with']}) vs {value['rate_without']:.0%} without "
        f"(n={value['n_without']}); diff {value['diff']:+.0%}, CI {value['ci_low']:+.0%}..{value['ci_high']:+.0%}"
        + (f", q={p:.3g}" if p is not None else "")
    )


def _rule(value: dict[str, Any] | None) -> str:
    if not value:
        return "none"
    return json.dumps({k: v for k, v in value.items() if v not in (None, [])}, sort_keys=True)


def describe(field: str, value: Any) -> str:
    """One field's value as a short, exact string (sets of sessions by count: the lists can be long)."""
    if field == "effect":
        return _effect(value)
    if field == "rule":
        return _rule(value)
    if field == "evidence":
        return f"{len(value or [])} sessions"
    if field == "confidence" and isinstance(value, float):
        return f"{value:.3g}"
    return "none" if value is None else str(value)


def _evidence_change(old: list[str], new: list[str]) -> FieldChange:
    gained, lost = len(set(new) - set(old)), len(set(old) - set(new))
    return FieldChange("evidence", f"{len(old)} sessions", f"{len(new)} sessions (+{gained}, -{lost})")


def field_changes(old: Entry, new: Entry, fields: list[str]) -> list[FieldChange]:
    """Old -> new values of `fields`, in reading order."""
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    ordered = sorted(
        fields, key=lambda f: (FIELD_ORDER.index(f) if f in FIELD_ORDER else len(FIELD_ORDER), f)
    )
    changes = []
    for name in ordered:
        if name == "evidence":
            changes.append(_evidence_change(old.evidence, new.evidence))
        else:
            changes.append(
                FieldChange(name, describe(name, before.get(name)), describe(name, after.get(name)))
            )
    return changes


def version_changes(diff: PlaybookDiff) -> VersionChanges:
    updated, retired = [], []
    for old, new, fields in diff.changed:
        change = EntryChange(old, new, field_changes(old, new, fields))
        newly_retired = new.status == EntryStatus.RETIRED and old.status != EntryStatus.RETIRED
        (retired if newly_retired else updated).append(change)
    return VersionChanges(diff.old, diff.new, diff.added, updated, retired, diff.removed)
