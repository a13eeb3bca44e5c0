"""Fly a partition's worth of missions in parallel and summarize them.

`fly_batch` is what the `mission_batch` Dagster asset and `reverie fly` call. Missions are independent and
CPU-bound (Box2D), so they fan out over worker processes; each worker writes its own session file, and only
the small `MissionRecord`s travel back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from pipeline.home import ReverieHome
from pipeline.missions.base import Backend, BatchReport, ProgressCallback, run_missions
from pipeline.missions.lunar.flight import draw_conditions, fly_reference
from pipeline.missions.lunar.runner import DEFAULT_EXPLORATION, MissionSpec, run_mission
from pipeline.missions.lunar.suite import mission_seed
from pipeline.playbooks.model import Playbook
from pipeline.progress import progress_for

if TYPE_CHECKING:
    from pipeline.llm.client import LLMSettings

__all__ = ["BatchReport", "ProgressCallback", "batch_seeds", "fly_batch", "reference_success_rate"]


def batch_seeds(day: date, n_missions: int, *, heldout: bool) -> list[int]:
    return [mission_seed(day, index, heldout) for index in range(n_missions)]


def fly_batch(
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
    session_prefix: str = "lunar",
) -> BatchReport:
    """Fly `n_missions` for partition `day` and write one native session per mission to `landing/<day>/`.

    exploration: probability that a specialist ignores an applicable playbook rule for a parameter. Defaults
    to 0.2 for training flights and 0 for held-out evaluation, so evaluation measures the playbook itself.
    seeds: fly these seeds instead of the partition's own (e.g. to A/B two playbooks on identical missions);
    their held-out status follows from the seed. workers<=1 runs in this process: an offline mission costs
    ~15 ms while each spawned worker costs ~1 s to start, so below a few hundred offline missions one worker
    is as fast; the claude backend, which waits on the network, gains from workers at any size.
    session_prefix: distinguishes several batches flown on the same day and split (e.g. an A/B), since
    session ids are `<prefix>-<day>-<split>-<index>`.
    """
    seed_list = list(seeds) if seeds is not None else batch_seeds(day, n_missions, heldout=heldout)
    if seeds is not None:
        n_missions = len(seed_list)
        heldout = all(draw_conditions(s).heldout for s in seed_list) if seed_list else heldout
    epsilon = exploration if exploration is not None else (0.0 if heldout else DEFAULT_EXPLORATION)
    landing_dir = home.landing / day.isoformat() if write_logs else None
    specs = [
        MissionSpec(
            day=day,
            index=index,
            seed=seed,
            backend=backend,
            playbook=playbook,
            exploration=epsilon,
            landing_dir=landing_dir,
            session_prefix=session_prefix,
            llm=llm_settings,
        )
        for index, seed in enumerate(seed_list)
    ]
    records = run_missions(run_mission, specs, workers, progress_for("fly", progress))
    return BatchReport(
        day=day,
        heldout=heldout,
        backend=backend,
        playbook_version=playbook.version if playbook else None,
        exploration=epsilon,
        results=records,
    )


def reference_success_rate(seeds: Sequence[int]) -> float:
    """gymnasium's heuristic on the same seeds: the anchor to print next to any batch's success rate."""
    flights = fly_reference(list(seeds))
    return sum(f.success for f in flights) / len(flights) if flights else 0.0
