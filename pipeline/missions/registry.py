"""Missions by name: what `--mission`, the Dagster configs and the loop resolve.

The coding mission is imported on first use only, so the loop and the lunar mission work whether or not it
is installed, and a name nobody registered fails with one line that lists the known ones.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

    from pipeline.missions.base import Mission

DEFAULT_MISSION = "lunar"
# name -> (module, attribute): where each mission's `Mission` object lives.
MISSIONS: dict[str, tuple[str, str]] = {
    "lunar": ("pipeline.missions.lunar.mission", "LUNAR"),
    "coding": ("pipeline.missions.coding", "CODING"),
}


class UnknownMission(LookupError):
    """A mission name nobody registered, or one whose code is not available here; the message says which."""


def mission_names() -> list[str]:
    return list(MISSIONS)


def mission(name: str) -> Mission:
    """The mission called `name`, e.g. `mission("lunar").fly_batch(...)`."""
    if name not in MISSIONS:
        raise UnknownMission(f"unknown mission {name!r}; known missions: {', '.join(MISSIONS)}")
    module_name, attribute = MISSIONS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise UnknownMission(f"the {name} mission is not available here ({error})") from error
    found = getattr(module, attribute, None)
    if found is None:
        raise UnknownMission(f"the {name} mission is not available yet: {module_name} defines no {attribute}")
    return found


def available_missions() -> list[str]:
    """The registered missions whose code is present, in registry order (what `--mission all` flies)."""
    names = []
    for name in MISSIONS:
        try:
            mission(name)
        except UnknownMission:
            continue
        names.append(name)
    return names


def session_scope(name: str) -> pl.Expr:
    """Which sessions of the lake a mission's playbook line learns from, as a filter on the `sessions` table.

    Lunar sessions carry the lunar task; every other session is coding-agent work (the coding crew's
    transcripts and a user's own Claude Code or Codex logs alike, which the same adapters ingest), so the
    two lines split the lake between them and neither mission's sessions dream into the other's playbook.
    """
    import polars as pl

    from pipeline.missions.lunar.suite import TASK

    if name not in MISSIONS:
        raise UnknownMission(f"unknown mission {name!r}; known missions: {', '.join(MISSIONS)}")
    lunar = pl.col("task").eq_missing(TASK)
    return lunar if name == "lunar" else ~lunar
