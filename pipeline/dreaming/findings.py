"""What the miners report: statistically tested patterns, before they become playbook entries.

Findings are plain data with their counts, so curation, the Claude dreamer's evidence bundles and the
benchmarks all read the same numbers, and entry texts can be built from templates and statistics alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline.dreaming.statistics import difference_interval
from pipeline.playbooks.model import Condition, Effect, Rule, Section
from pipeline.playbooks.safe_text import quote_value


@dataclass
class Finding:
    """One tested pattern. `k_with/n_with` are successes/sessions matching it, `*_without` the rest of the
    population it was compared against (the same context cell for conditional rules)."""

    kind: str  # parameter | context_risk | failing_sequence | error_signature | recovery
    agent: str
    section: Section
    rule: Rule | None
    text: str
    k_with: int
    n_with: int
    k_without: int
    n_without: int
    p_value: float
    evidence: list[str]
    key: str  # what makes two findings "the same pattern" across nights (e.g. parameter + condition features)
    q_value: float = 1.0
    # The effect the significance gate reads when it differs from this finding's own counts: a conditional
    # parameter rule is kept or dropped as a whole plan, so no cell of a parameter that matters is left bare.
    gate_diff: float | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # Every session behind `n_with` (evidence cites only the first few): where they come from decides
    # whether the entry may be approved (`provenance.source_spread`).
    # (a numpy array of ids for parameter cells: at a million sessions a list per cell would cost gigabytes)
    members: Sequence[str] | np.ndarray = field(default_factory=list)

    @property
    def rate_with(self) -> float:
        return self.k_with / self.n_with if self.n_with else 0.0

    @property
    def rate_without(self) -> float:
        return self.k_without / self.n_without if self.n_without else 0.0

    @property
    def diff(self) -> float:
        return self.rate_with - self.rate_without

    @property
    def family(self) -> str:
        """Findings about one decision parameter share one test, whatever context cells they cover."""
        parts = self.key.split("|")
        return "|".join(parts[:3]) if parts[0] == "parameter" else self.key

    def effect(self) -> Effect:
        diff, low, high = difference_interval(self.k_with, self.n_with, self.k_without, self.n_without)
        return Effect(
            rate_with=round(self.rate_with, 4),
            rate_without=round(self.rate_without, 4),
            n_with=self.n_with,
            n_without=self.n_without,
            diff=round(diff, 4),
            ci_low=round(low, 4),
            ci_high=round(high, 4),
            p_value=float(f"{self.q_value:.3g}"),
        )

    @property
    def conditions(self) -> list[Condition]:
        return list(self.rule.conditions) if self.rule else []


def format_number(value: float | None) -> str:
    """Short, stable number formatting for entry texts (stable so identical data gives identical text)."""
    if value is None:
        return "-"
    return f"{value:.4g}"


def describe_conditions(conditions: list[Condition]) -> str:
    """Conditions as entry text. Feature names are session context keys, so they are quoted values."""
    parts = []
    for c in conditions:
        feature = quote_value(c.feature, 40)
        if c.in_set is not None:
            parts.append(f"{feature} in {', '.join(quote_value(v, 40) for v in c.in_set)}")
        elif c.min is not None and c.max is not None:
            parts.append(f"{format_number(c.min)} <= {feature} < {format_number(c.max)}")
        elif c.min is not None:
            parts.append(f"{feature} >= {format_number(c.min)}")
        elif c.max is not None:
            parts.append(f"{feature} < {format_number(c.max)}")
    return " and ".join(parts)
