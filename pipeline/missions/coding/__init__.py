"""The coding mission: simulated repositories with hidden rules, a four-role crew, coding-agent transcripts.

`CODING` is the module-level `Mission` (pipeline/missions/base.py) the loop flies. Imported lazily so that
`pipeline.missions.coding.transcripts` stays importable without the crew.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.missions.coding.mission import CodingMission  # noqa: F401  (the type of CODING)

__all__ = ["CODING"]


def __getattr__(name: str) -> Any:
    if name == "CODING":
        from pipeline.missions.coding.mission import CODING

        return CODING
    raise AttributeError(name)
