"""The lunar mission as the loop flies it: `LUNAR` implements the `Mission` contract (pipeline/missions/base.py).

It only names what the loop needs; the flying lives in `batch`, the seeds in `flight` and `suite`. Heavy
modules (gymnasium, Box2D) load on the first flight, not when the registry is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from pipeline.missions.base import ArmOutcomes, Backend, BatchReport, ProgressCallback
from pipeline.missions.lunar.suite import tuning_seeds

if TYPE_CHECKING:
    from pipeline.home import ReverieHome
    from pipeline.llm.client import LLMSettings
    from pipeline.playbooks.model import Playbook


class LunarMission:
    """Lunar landings in gymnasium's LunarLander-v3 with wind, flown by a director and three specialists."""

    name = "lunar"
    reference_name = "gymnasium heuristic"

    def fly_batch(
        self,
        home: ReverieHome,
        day: date,
        n_missions: int,
        *,
        backend: Backend = "offline",
        heldout: bool = False,
        playbook: Playbook | None = None,
        exploration: float | None = None,
        workers: int = 2,
        write_logs: bool = True,
        progress: ProgressCallback | None = None,
        seeds: Sequence[int] | None = None,
        llm_settings: LLMSettings | None = None,
    ) -> BatchReport:
        from pipeline.missions.lunar.batch import fly_batch

        return fly_batch(
            home, day, n_missions, backend=backend, heldout=heldout, playbook=playbook,
            exploration=exploration, workers=workers, write_logs=write_logs, progress=progress,
            seeds=seeds, llm_settings=llm_settings,
        )  # fmt: skip

    def heldout_seeds(self, n: int) -> list[int]:
        """The fixed held-out suite the nightly gate flies: the tuning suite (suite.py), identical every night
        and disjoint from every training seed; never the locked report suite, which only the report
        benchmark flies."""
        return tuning_seeds(n)

    def fly_reference(self, seeds: Sequence[int]) -> ArmOutcomes:
        """gymnasium's reference heuristic on `seeds` (it reads no playbook, so its arm is cached)."""
        from pipeline.missions.lunar.flight import fly_reference, success

        flights = fly_reference(list(seeds))
        return ArmOutcomes(
            tuple(seeds),
            tuple(success(f.metrics) for f in flights),
            tuple(f.metrics.get("failure_mode") for f in flights),
        )


LUNAR = LunarMission()
