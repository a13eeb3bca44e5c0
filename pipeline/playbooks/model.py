"""Playbook entries and versions: what dreamers write and agents read.

A version is immutable once written. Entries carry their evidence (session ids) and statistics so a person
can audit every line, and a machine-applicable `rule` so agents can follow them without parsing prose.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Section(StrEnum):
    STRATEGIES = "strategies"
    RULES = "rules"
    MISTAKES = "mistakes"
    PROCEDURES = "procedures"


class EntryStatus(StrEnum):
    CANDIDATE = "candidate"
    APPROVED = "approved"
    RETIRED = "retired"


class Condition(BaseModel):
    """A context feature range: applies when `min <= context[feature] < max` (either bound optional),
    or when the feature equals one of `in_set`."""

    model_config = ConfigDict(extra="forbid")
    feature: str
    min: float | None = None
    max: float | None = None
    in_set: list[Any] | None = None

    def holds(self, context: dict[str, Any]) -> bool:
        value = context.get(self.feature)
        if value is None:
            return False
        if self.in_set is not None:
            return value in self.in_set
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        if self.min is not None and number < self.min:
            return False
        return not (self.max is not None and number >= self.max)


class Recommendation(BaseModel):
    """What to do with a decision parameter: a value, or a range to stay within."""

    model_config = ConfigDict(extra="forbid")
    value: Any | None = None
    min: float | None = None
    max: float | None = None


class Rule(BaseModel):
    """Machine-applicable form of an entry.

    kind="parameter": when all `conditions` hold on the session context, set decision `parameter` as
    recommended. Coding lessons, where `conditions` hold the scope (`project in [...]`, none: anywhere):
    kind="precondition": run `prerequisite` before `action`; kind="recovery": after `error_signature`, run
    `action` (older versions: the tool names in `sequence`); kind="substitution": use `action`, not
    `alternative`; kind="hazard": avoid `action`. kind="avoid_sequence" is kept so older versions load.
    """

    model_config = ConfigDict(extra="forbid")
    kind: Literal["parameter", "avoid_sequence", "recovery", "precondition", "substitution", "hazard"] = (
        "parameter"
    )
    parameter: str | None = None
    conditions: list[Condition] = Field(default_factory=list)
    recommend: Recommendation | None = None
    sequence: list[str] | None = None
    error_signature: str | None = None
    action: str | None = None
    prerequisite: str | None = None
    alternative: str | None = None

    def applies(self, context: dict[str, Any]) -> bool:
        return all(c.holds(context) for c in self.conditions)


class Effect(BaseModel):
    """Success rate of sessions that match the entry vs those that do not, with a CI on the difference."""

    model_config = ConfigDict(extra="forbid")
    rate_with: float
    rate_without: float
    n_with: int
    n_without: int
    diff: float
    ci_low: float
    ci_high: float
    p_value: float | None = None


class SourceSpread(BaseModel):
    """How many distinct origins, on one axis, the sessions behind an entry come from, and how many the
    window it was mined from held (unknown values not counted). An axis applies when the window held at
    least two and the supporting sessions name one: a lake of one user's sessions cannot tell users apart,
    but in a lake of many, a lesson seen from one user is one voice. Axes: `days` (session start dates) and
    `source_files` (ingested log files), known for every ingested session; `projects` (repository or working
    directory) and `users`, where the log names them."""

    model_config = ConfigDict(extra="forbid")
    axis: Literal["days", "source_files", "projects", "users"]
    distinct: int = Field(ge=0)
    in_window: int = Field(ge=0)

    @property
    def applies(self) -> bool:
        return self.in_window >= 2 and self.distinct >= 1


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    agent: str = Field(description="Role the entry is for ('*' for all agents).")
    section: Section
    text: str
    rule: Rule | None = None
    support: int = Field(ge=0, description="Distinct sessions behind the entry.")
    effect: Effect | None = None
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    evidence: list[str] = Field(default_factory=list, description="Session ids.")
    helpful: int = 0
    harmful: int = 0
    status: EntryStatus = EntryStatus.CANDIDATE
    created_in: str
    updated_in: str
    retired_reason: str | None = None
    source: str = Field(default="statistical", description="Which dreamer produced it.")
    provenance: list[SourceSpread] | None = Field(
        default=None, description="Distinct origins of the supporting sessions per axis (None: not recorded)."
    )


class Playbook(BaseModel):
    """One immutable version. `parent` is the version it was derived from."""

    model_config = ConfigDict(extra="forbid")
    version: str
    parent: str | None = None
    created_at: datetime
    partition: str | None = Field(default=None, description="The dream partition (date) that wrote it.")
    dreamer: str = "statistical"
    status: Literal["candidate", "approved", "rejected"] = "candidate"
    window: list[str] = Field(default_factory=list, description="Session partitions reviewed.")
    n_sessions_reviewed: int = 0
    entries: list[Entry] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def active_entries(self, agent: str | None = None) -> list[Entry]:
        """Entries an agent should follow: approved ones, for that role or for everyone."""
        return [
            e
            for e in self.entries
            if e.status == EntryStatus.APPROVED and (agent is None or e.agent in (agent, "*"))
        ]


def playbook_identity(playbook: Playbook | None) -> str:
    """`naive` without a playbook, else `<version>+<content hash>` (the content the crew reads)."""
    if playbook is None:
        return "naive"
    digest = hashlib.sha256(playbook.model_dump_json().encode()).hexdigest()[:20]
    return f"{playbook.version}+{digest}"
