"""Results of evaluation arms, kept so that an arm whose result cannot have changed is never flown again.

Why this is safe: a held-out flight is a pure function of its seed, the playbook the crew follows (with no
exploration, and the offline crew's draws seeded by the mission seed), and the mission code. The reference
heuristic on the fixed suite, and the playbook in force on nights when nothing was promoted, gave the same
successes every night, and evaluation spent most of the demo re-flying them. The key therefore holds exactly
those inputs:

- the arm's identity: `reference`, `naive` (no playbook in force), or the playbook's version id plus a hash
  of its full content as the crew sees it (entry statuses from the review log included, so a rejection or
  an approval changes the key);
- the seeds, in order;
- the mission code version: a hash of the source of the simulator, autopilot, crew and playbook model, the
  versions of gymnasium, Box2D and numpy, and `MISSION_CODE_VERSION` for changes elsewhere.

Entries live under REVERIE_HOME/cache/arms/<key>.json. `REVERIE_ARM_CACHE=0` flies every arm regardless
(to measure, or to check that cached and flown results agree).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipeline.home import ReverieHome
from pipeline.missions.lunar.suite import MISSION_CODE_VERSION
from pipeline.playbooks.model import Playbook

CACHE_FORMAT = 1
_PIPELINE = Path(__file__).resolve().parent
# What a held-out flight's outcome depends on besides the seed and the playbook.
_FLIGHT_SOURCES = ("missions", "agents", "playbooks")
_FLIGHT_LIBRARIES = ("gymnasium", "box2d", "numpy")


@dataclass(frozen=True)
class ArmOutcomes:
    """Per-seed outcomes of one arm, in seed order: all an evaluation report needs from its flights."""

    seeds: tuple[int, ...]
    success: tuple[bool, ...]
    failure_mode: tuple[str | None, ...]

    @property
    def failure_modes(self) -> dict[str, int]:
        """Counts by mode, most common first, as `BatchReport.failure_modes` orders them."""
        return dict(Counter(m for m in self.failure_mode if m).most_common())


def playbook_identity(playbook: Playbook | None) -> str:
    """`naive` without a playbook, else `<version>+<content hash>` (the content the crew reads)."""
    if playbook is None:
        return "naive"
    digest = hashlib.sha256(playbook.model_dump_json().encode()).hexdigest()[:20]
    return f"{playbook.version}+{digest}"


@cache
def mission_code_version() -> str:
    """A hash of everything besides seed and playbook that decides a flight's outcome."""
    digest = hashlib.sha256(f"{MISSION_CODE_VERSION}|{CACHE_FORMAT}".encode())
    for folder in _FLIGHT_SOURCES:
        # Recursive: each mission lives in its own package (missions/lunar/, missions/coding/).
        for source in sorted((_PIPELINE / folder).rglob("*.py")):
            digest.update(f"{source.relative_to(_PIPELINE).as_posix()}\0".encode())
            digest.update(source.read_bytes())
    for library in _FLIGHT_LIBRARIES:
        try:
            version = importlib.metadata.version(library)
        except importlib.metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{library}=={version}\0".encode())
    return digest.hexdigest()[:20]


def enabled() -> bool:
    return os.environ.get("REVERIE_ARM_CACHE", "1").strip().lower() not in {"0", "false", "no", "off"}


class ArmCache:
    """Arm outcomes on disk, keyed by (arm identity, seeds, mission code version)."""

    def __init__(self, home: ReverieHome) -> None:
        self.root = home.cache / "arms"

    def key(self, identity: str, seeds: Sequence[int]) -> str:
        material = json.dumps(
            {"arm": identity, "seeds": list(seeds), "code": mission_code_version(), "format": CACHE_FORMAT}
        )
        return hashlib.sha256(material.encode()).hexdigest()[:32]

    def _file(self, identity: str, seeds: Sequence[int]) -> Path:
        return self.root / f"{self.key(identity, seeds)}.json"

    def get(self, identity: str, seeds: Sequence[int]) -> ArmOutcomes | None:
        """The stored outcomes, or None when absent or unreadable (an unreadable entry is flown again)."""
        path = self._file(identity, seeds)
        try:
            stored = json.loads(path.read_text())
            outcomes = ArmOutcomes(
                seeds=tuple(int(s) for s in stored["seeds"]),
                success=tuple(bool(s) for s in stored["success"]),
                failure_mode=tuple(stored["failure_mode"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if list(outcomes.seeds) != list(seeds) or stored.get("arm") != identity:
            return None
        if not len(outcomes.seeds) == len(outcomes.success) == len(outcomes.failure_mode):
            return None
        return outcomes

    def put(self, identity: str, outcomes: ArmOutcomes) -> None:
        """Write atomically, so a crash mid-write leaves either the old entry or none."""
        path = self._file(identity, outcomes.seeds)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "arm": identity,
            "code": mission_code_version(),
            "seeds": list(outcomes.seeds),
            "success": list(outcomes.success),
            "failure_mode": list(outcomes.failure_mode),
        }
        temporary = path.with_suffix(f".tmp-{os.getpid()}")
        temporary.write_text(json.dumps(payload))
        os.replace(temporary, path)


def cached_arm(
    home: ReverieHome, identity: str, seeds: Sequence[int], fly: Callable[[], ArmOutcomes]
) -> tuple[ArmOutcomes, bool]:
    """The arm's outcomes from the cache, or flown by `fly()` and stored; the flag says whether it was cached."""
    cache_store = ArmCache(home)
    if enabled() and (found := cache_store.get(identity, seeds)) is not None:
        return found, True
    outcomes = fly()
    cache_store.put(identity, outcomes)
    return outcomes, False
