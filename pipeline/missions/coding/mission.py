"""The coding mission as the loop sees it (`pipeline.missions.base.Mission`): fly a day's tasks, the fixed
held-out suite, and the oracle crew as the reference arm."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from pipeline.home import ReverieHome
from pipeline.missions.base import ArmOutcomes, Backend, BatchReport, ProgressCallback, run_missions
from pipeline.missions.coding.runner import Crew, TaskSpec, run_task
from pipeline.missions.coding.world import evaluation_tasks, report_tasks, task, training_tasks
from pipeline.playbooks.model import Playbook

if TYPE_CHECKING:
    from pipeline.llm.client import LLMSettings

DEFAULT_EXPLORATION = 0.2
REFERENCE_DAY = date(1970, 1, 1)  # reference and evaluation arms write nothing; their day only names sessions


class CodingMission:
    """Coding tasks in simulated repositories (pipeline/missions/coding/world.py), flown by a four-role crew."""

    name = "coding"
    reference_name = "oracle crew"

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
        workers: int = 1,
        write_logs: bool = True,
        progress: ProgressCallback | None = None,
        seeds: Sequence[int] | None = None,
        llm_settings: LLMSettings | None = None,
        crew: Crew = "playbook",
    ) -> BatchReport:
        """Fly `n_missions` tasks for `day` (training draws, or the evaluation suite when `heldout`), or
        exactly the task ids in `seeds`. Training transcripts go to `landing/<day>/`; held-out ones are never
        written (see runner.py). An offline task costs milliseconds: one worker is the default."""
        if seeds is not None:
            ids = list(seeds)
            heldout = bool(ids) and all(task(i).heldout for i in ids)
        else:
            ids = evaluation_tasks(n_missions) if heldout else training_tasks(day, n_missions)
        epsilon = exploration if exploration is not None else (0.0 if heldout else DEFAULT_EXPLORATION)
        landing = home.landing / day.isoformat() if write_logs else None
        specs = [
            TaskSpec(
                day=day,
                index=i,
                seed=s,
                backend=backend,
                crew=crew,
                playbook=playbook,
                exploration=epsilon,
                landing_dir=landing,
                llm=llm_settings,
            )
            for i, s in enumerate(ids)
        ]
        records = run_missions(run_task, specs, workers, progress)
        return BatchReport(
            day=day,
            heldout=heldout,
            backend=backend,
            playbook_version=playbook.version if playbook else None,
            exploration=epsilon,
            results=records,
        )

    def heldout_seeds(self, n: int) -> list[int]:
        """The nightly evaluation suite (development repositories). The report suite is `report_seeds`."""
        return evaluation_tasks(n)

    def report_seeds(self, n: int) -> list[int]:
        """The final report's suite: held-out tasks in the report repositories, used for nothing else."""
        return report_tasks(n)

    def fly_arm(
        self, seeds: Sequence[int], playbook: Playbook | None, crew: Crew = "playbook"
    ) -> ArmOutcomes:
        """One evaluation arm on `seeds`: no exploration, nothing written."""
        specs = [
            TaskSpec(day=REFERENCE_DAY, index=i, seed=s, crew=crew, playbook=playbook, exploration=0.0)
            for i, s in enumerate(seeds)
        ]
        records = run_missions(run_task, specs, 1, None)
        return ArmOutcomes(
            tuple(seeds), tuple(r.success for r in records), tuple(r.failure_mode for r in records)
        )

    def fly_reference(self, seeds: Sequence[int]) -> ArmOutcomes:
        """The oracle crew (it knows every hidden rule of each repository) on `seeds`."""
        return self.fly_arm(seeds, None, crew="oracle")


CODING = CodingMission()
