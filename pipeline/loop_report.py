"""The typed reports of the nightly loop and its settings (the table and plot: `pipeline/loop_figures.py`).

Each step of a night (fly, dream, evaluate) returns one of these models, attached by its Dagster asset as
the `report` metadata entry and validated back by the loop (`assets/loop.py`): a renamed field fails there,
loudly, instead of turning into a silent `None` in the demo's table. This module stays light (pydantic
only): the Dagster code location imports it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.missions.base import Backend, BatchReport
from pipeline.missions.lunar.suite import EVALUATION_MISSIONS
from pipeline.missions.registry import DEFAULT_MISSION

if TYPE_CHECKING:
    from pipeline.dreaming.settings import DreamSettings

PromotionPolicy = Literal["auto", "manual"]
Decision = Literal["promoted", "kept", "awaiting_approval", "no_change"]
REPORT_METADATA = "report"  # the metadata entry every loop asset attaches its typed report under


class LoopSettings(BaseModel):
    """Every setting of a night, in one place: the demo, backfill, schedules and benchmarks build runs from it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mission: str = DEFAULT_MISSION
    missions: int = Field(default=200, ge=1, description="Training missions flown a night.")
    backend: Backend = Field(default="offline", description="How the crew thinks: offline policy or claude.")
    exploration: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Share of training decisions that explore (None: the runtime's).",
    )
    dream_backend: Backend = Field(default="offline", description="statistical dreamer, or plus Claude.")
    window_days: int = Field(default=7, ge=1, description="Days of sessions a dream reviews.")
    dream: dict[str, Any] = Field(
        default_factory=dict, description="DreamSettings fields that differ from the defaults (ablations)."
    )
    eval_missions: int = Field(default=EVALUATION_MISSIONS, ge=10, description="Held-out missions per arm.")
    policy: PromotionPolicy = "auto"
    alpha: float = Field(default=0.05, gt=0, lt=1, description="Significance a promotion needs.")
    margin: float = Field(default=0.02, ge=0, description="Loss a prune-only candidate may cost.")

    def dream_settings(self) -> DreamSettings:
        """The dreamer's settings (validated here: the dreaming package loads only when a night dreams)."""
        from pipeline.dreaming.settings import DreamSettings

        return DreamSettings(**self.dream)


class ArmResult(BaseModel):
    name: str
    version: str | None
    successes: int
    n: int
    rate: float
    ci_low: float
    ci_high: float


class EvaluationReport(BaseModel):
    """One night's held-out A/B of a mission's candidate, as recorded and as the loop's callers read it."""

    mission: str = DEFAULT_MISSION
    day: str
    candidate_version: str
    in_force_version: str | None
    seeds: list[int]
    candidate: ArmResult
    in_force: ArmResult
    reference: ArmResult
    discordant_better: int
    discordant_worse: int
    p_value: float
    prunes_only: bool
    policy: str
    decision: Decision
    reason: str
    failure_modes: dict[str, dict[str, int]] = Field(default_factory=dict)
    cached_arms: list[str] = Field(default_factory=list)  # arms read from the cache instead of flown

    @property
    def promoted(self) -> bool:
        return self.decision == "promoted"

    @property
    def version_in_force_after(self) -> str | None:
        """The version the mission's crew follows after this night's decision."""
        return self.candidate_version if self.promoted else self.in_force_version

    @property
    def heldout_success_after(self) -> float:
        """Held-out success of the playbook in force after the decision, on the night's seeds."""
        return self.candidate.rate if self.promoted else self.in_force.rate

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


class FlightReport(BaseModel):
    """A flown training batch, as `mission_batch` records it."""

    mission: str
    day: date
    missions: int
    success_rate: float
    failure_modes: dict[str, int]
    playbook_version: str | None
    backend: str
    heldout: bool
    exploration: float
    logs: str

    @classmethod
    def from_batch(cls, mission: str, batch: BatchReport, logs: Path) -> FlightReport:
        return cls(
            mission=mission, day=batch.day, missions=batch.n_missions, success_rate=batch.success_rate,
            failure_modes=batch.failure_modes, playbook_version=batch.playbook_version, backend=batch.backend,
            heldout=batch.heldout, exploration=batch.exploration, logs=str(logs),
        )  # fmt: skip


class DreamReport(BaseModel):
    """A dreamed candidate version, as `playbook` records it."""

    mission: str
    day: date
    version: str
    parent: str | None
    sessions_reviewed: int
    entries: int
    entries_retired: int
    ops: dict[str, int]
    dropped_by_safety_screen: int
    path: str
    # Claude backend only: operations Claude proposed that verification against the lake refused, each
    # {op, target, reason}; None when the statistical dreamer ran alone.
    dropped_ops: list[dict[str, str]] | None = None


class NightReport(BaseModel):
    """One night of one mission: its training flight (None in a backfill), its dream and its evaluation."""

    night: int
    mission: str
    flight: FlightReport | None
    dream: DreamReport
    evaluation: EvaluationReport

    @property
    def day(self) -> str:
        return self.evaluation.day


class LoopReport(BaseModel):
    """Nights of one mission in order, plus the reference name the table and plot label."""

    mission: str
    reference_name: str
    settings: LoopSettings
    nights: list[NightReport]

    @property
    def naive_heldout_success(self) -> float | None:
        """Held-out success with no playbook, when the first night still flew a naive crew in force."""
        first = self.nights[0].evaluation if self.nights else None
        return first.in_force.rate if first is not None and first.in_force_version is None else None

    def payload(self, final_playbook: Path | None) -> dict[str, Any]:
        """The JSON form (reports/loop.json): the figures of each night by name."""
        return {
            "mission": self.mission,
            "reference": self.reference_name,
            "nights": [
                {
                    "night": n.night,
                    "date": n.day,
                    "playbook_version": n.evaluation.version_in_force_after,
                    "candidate_version": n.evaluation.candidate_version,
                    "decision": n.evaluation.decision,
                    "entries": n.dream.entries,
                    "train_success": n.flight.success_rate if n.flight else None,
                    "heldout_success": n.evaluation.heldout_success_after,
                    "reference_success": n.evaluation.reference.rate,
                    "candidate_success": n.evaluation.candidate.rate,
                    "p_value": n.evaluation.p_value,
                    "cached_arms": n.evaluation.cached_arms,
                }
                for n in self.nights
            ],
            "naive_heldout_success": self.naive_heldout_success,
            "final_playbook": str(final_playbook) if final_playbook else None,
        }
