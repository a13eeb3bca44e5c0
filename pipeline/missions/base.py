"""What every mission shares: the records a batch returns, and the contract the loop flies missions by.

A mission (lunar landings, coding tasks) is a world plus a crew. The nightly loop (fly a batch, ingest,
score, dream, evaluate, promote) only needs what `Mission` names, so both missions run through the same
Dagster assets and the same evaluation: nothing downstream is special-cased for either.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from pipeline.home import ReverieHome
    from pipeline.llm.client import LLMSettings
    from pipeline.playbooks.model import Playbook

Backend = Literal["offline", "claude"]
ProgressCallback = Callable[[int, int], None]
"""Called as `progress(done, total)` after each mission completes (in completion order)."""


class MissionRecord(BaseModel):
    """What one mission produced, for batch summaries and the Dagster asset's metadata.

    `seed` identifies the mission's draw (a lunar seed, a coding task id); `followed` lists the playbook
    entry ids the crew applied, which feeds the entries' helpful/harmful counters.
    """

    session_id: str
    index: int
    seed: int
    conditions: dict[str, Any]
    params: dict[str, Any]
    metrics: dict[str, Any]
    success: bool
    failure_mode: str | None
    status: str
    followed: list[str]
    explored: int
    path: str | None
    n_events: int
    tokens_in: int
    tokens_out: int


Spec = TypeVar("Spec")


def run_missions(
    run: Callable[[Spec], MissionRecord],
    specs: Sequence[Spec],
    workers: int,
    progress: ProgressCallback | None,
) -> list[MissionRecord]:
    """`run` over `specs` (one picklable spec per mission), in this process or over `workers` spawned
    processes; the records come back in mission-index order. Missions are independent and CPU-bound, so they
    fan out, and only the small records travel back."""
    total = len(specs)
    records: list[MissionRecord] = []
    if workers <= 1 or total <= 1:
        for spec in specs:
            records.append(run(spec))
            if progress:
                progress(len(records), total)
        return records
    import multiprocessing

    # spawn: safe under Dagster's and pytest's threads, and identical on every platform.
    context = multiprocessing.get_context("spawn")
    chunk = max(1, min(8, total // (workers * 4)))
    with context.Pool(processes=min(workers, total)) as pool:
        for record in pool.imap_unordered(run, specs, chunksize=chunk):
            records.append(record)
            if progress:
                progress(len(records), total)
    return sorted(records, key=lambda record: record.index)


class BatchReport(BaseModel):
    """A flown batch: per-mission records plus the figures a dashboard shows first."""

    day: date
    heldout: bool
    backend: str
    playbook_version: str | None
    exploration: float
    results: list[MissionRecord]  # one per mission, in mission-index order

    @property
    def n_missions(self) -> int:
        return len(self.results)

    @property
    def success_rate(self) -> float:
        return sum(m.success for m in self.results) / len(self.results) if self.results else 0.0

    @property
    def failure_modes(self) -> dict[str, int]:
        return dict(Counter(m.failure_mode for m in self.results if m.failure_mode).most_common())

    @property
    def paths(self) -> list[str]:
        return [m.path for m in self.results if m.path]

    @property
    def seeds(self) -> list[int]:
        return [m.seed for m in self.results]

    def summary(self) -> dict[str, Any]:
        """Flat figures for asset metadata and CLI tables."""
        rewards = [m.metrics["reward"] for m in self.results if "reward" in m.metrics]
        summary: dict[str, Any] = {
            "missions": self.n_missions,
            "success_rate": round(self.success_rate, 4),
            "failure_modes": self.failure_modes,
            "playbook_version": self.playbook_version,
            "backend": self.backend,
            "heldout": self.heldout,
            "exploration": self.exploration,
            "rules_followed": sum(len(m.followed) > 0 for m in self.results),
        }
        if rewards:
            summary["mean_reward"] = round(sum(rewards) / len(rewards), 2)
        return summary


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


class Mission(Protocol):
    """The contract between a mission and the loop (mission_batch, playbook_evaluation, demo, benchmarks)."""

    name: str
    """The mission's key in configs, partitions, session ids and reports: `lunar`, `coding`."""
    reference_name: str
    """What the reference arm is, for reports (`gymnasium heuristic`, `oracle crew`)."""

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
        """Fly `n_missions` for partition `day` (or exactly `seeds`) with `playbook`; write one session log
        per mission to `landing/<day>/` unless `write_logs` is false (evaluation arms)."""
        ...

    def heldout_seeds(self, n: int) -> list[int]:
        """The fixed held-out suite: the same `n` ids every night, disjoint from every training draw."""
        ...

    def fly_reference(self, seeds: Sequence[int]) -> ArmOutcomes:
        """The reference arm on `seeds` (its result never depends on a playbook, so it is cached)."""
        ...
