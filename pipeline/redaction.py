"""Secret redaction applied to every text before it reaches the lake or a playbook.

Interface (stable): `Redactor().redact(text) -> Redacted(text, counts)` where `counts` maps a secret kind
(e.g. "aws_access_key") to how many were replaced by `[REDACTED:<kind>]` markers.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Redacted:
    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return sum(self.counts.values())


class Redactor:
    def redact(self, text: str) -> Redacted:  # replaced by the detector implementation
        return Redacted(text)
