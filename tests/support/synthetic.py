"""Synthetic corpora with planted patterns, written straight into lake tables.

They let the dreamer be tested (and benchmarked at a million sessions) on data whose truth is known:
a mission-like task where success depends on decision parameters with a context-conditional optimum, and a
coding-agent task where a tool sequence and an error signature predict failure and a recovery rescues it.
Generation is vectorized (numpy + polars) so the benchmark spends its time dreaming, not generating.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from pipeline.home import ReverieHome
from pipeline.lake import conform, partition_files, read_table, write_partition
from pipeline.playbooks.model import Playbook

MISSION_TASK = "synthetic_landing"


@dataclass(frozen=True)
class PlantedParameter:
    """A decision whose best value is `base + slope * context[feature]`; success falls off with distance."""

    agent: str
    name: str
    base: float
    slope: float = 0.0
    feature: str | None = None
    tolerance: float = 0.15
    floor: float = 0.45  # success factor far from the optimum; 1.0 means the parameter does not matter

    @property
    def parameter(self) -> str:
        return f"{self.agent}.{self.name}"

    def optimum(self, context: dict[str, np.ndarray]) -> np.ndarray:
        if self.feature is None:
            return np.full(len(next(iter(context.values()))), self.base)
        return self.base + self.slope * context[self.feature]


PLANTED_MISSION: tuple[PlantedParameter, ...] = (
    PlantedParameter("guidance", "approach_gain", base=0.2, slope=0.03, feature="wind_power"),
    PlantedParameter("propulsion", "throttle_margin", base=0.7),
    PlantedParameter("touchdown", "flare_altitude", base=0.25, slope=0.04, feature="gravity_abs"),
    PlantedParameter("flight_director", "abort_threshold", base=0.5, floor=1.0),
)
CONTEXT_RANGES = {"wind_power": (0.0, 20.0), "gravity_abs": (4.0, 12.0), "turbulence_power": (0.0, 2.0)}


def mission_success_probability(context: dict[str, np.ndarray], values: dict[str, np.ndarray]) -> np.ndarray:
    probability = np.full(len(context["wind_power"]), 0.97)
    for planted in PLANTED_MISSION:
        distance = (values[planted.parameter] - planted.optimum(context)) / planted.tolerance
        probability *= planted.floor + (1 - planted.floor) * np.exp(-0.5 * distance**2)
    return probability


def choose_values(
    context: dict[str, np.ndarray], playbook: Playbook | None, rng: np.random.Generator, exploration: float
) -> tuple[dict[str, np.ndarray], dict[str, list[list[str]]]]:
    """Each parameter follows the first approved rule whose conditions hold (uniform inside its range), except
    with probability `exploration`, when it samples the broad prior [0, 1] to keep evidence flowing."""
    n = len(context["wind_power"])
    values, followed = {}, {}
    entries = playbook.active_entries() if playbook else []
    for planted in PLANTED_MISSION:
        chosen = rng.uniform(0.0, 1.0, n)
        cited: list[list[str]] = [[] for _ in range(n)]
        assigned = np.zeros(n, dtype=bool)
        explore = rng.uniform(size=n) < exploration
        for entry in entries:
            rule = entry.rule
            if rule is None or rule.kind != "parameter" or rule.parameter != planted.parameter:
                continue
            if rule.recommend is None or rule.recommend.min is None or rule.recommend.max is None:
                continue
            holds = np.ones(n, dtype=bool)
            for condition in rule.conditions:
                feature = context[condition.feature]
                if condition.min is not None:
                    holds &= feature >= condition.min
                if condition.max is not None:
                    holds &= feature < condition.max
            use = holds & ~assigned & ~explore
            chosen[use] = rng.uniform(rule.recommend.min, rule.recommend.max, int(use.sum()))
            for index in np.flatnonzero(use):
                cited[index] = [entry.id]
            assigned |= holds
        values[planted.parameter] = chosen
        followed[planted.parameter] = cited
    return values, followed


def fly_missions(
    home: ReverieHome,
    day: date,
    n: int,
    *,
    seed: int,
    playbook: Playbook | None = None,
    exploration: float = 0.2,
    heldout: bool = False,
    write: bool = True,
) -> pl.DataFrame:
    """Fly `n` synthetic missions on `day` and write their sessions/events/outcomes partitions.

    Returns one row per mission (session_id, success, context and chosen values) for evaluation.
    Held-out missions fly without exploration and are marked `heldout` so the dreamer never learns from them.
    """
    rng = np.random.default_rng(seed)
    context = {name: rng.uniform(low, high, n) for name, (low, high) in CONTEXT_RANGES.items()}
    values, followed = choose_values(context, playbook, rng, 0.0 if heldout else exploration)
    success = rng.uniform(size=n) < mission_success_probability(context, values)
    prefix = "heldout" if heldout else "train"
    session_ids = [f"{prefix}-{day.isoformat()}-{seed}-{i:07d}" for i in range(n)]
    missions = pl.DataFrame({"session_id": session_ids, "success": success, **context, **values})
    if write:
        version = playbook.version if playbook else None
        write_lake_day(home, day, missions, followed, heldout=heldout, playbook_version=version)
    return missions


def write_lake_day(
    home: ReverieHome,
    day: date,
    missions: pl.DataFrame,
    followed: dict[str, list[list[str]]],
    *,
    heldout: bool,
    playbook_version: str | None,
    merge_existing: bool = True,
) -> None:
    """Append the missions to the day's partitions (sessions, events, outcomes) in the lake's schemas."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    n = missions.height
    ts = pl.Series([start + timedelta(seconds=i) for i in range(n)], dtype=pl.Datetime("us", "UTC"))
    context_names = list(CONTEXT_RANGES)
    context_json = pl.concat_str(
        [pl.lit("{")]
        + [pl.format(f'"{name}": {{}}, ', pl.col(name)) for name in context_names]
        + [pl.lit(f'"heldout": {json.dumps(heldout)}}}')]
    )
    base = missions.with_columns(ts.alias("ts"), pl.lit(day).alias("date"))
    sessions = base.select(
        "session_id",
        pl.lit(MISSION_TASK).alias("task"),
        pl.lit("reverie").alias("source_format"),
        pl.col("ts").alias("started_at"),
        pl.col("ts").alias("ended_at"),
        pl.lit(1.0).alias("duration_s"),
        pl.lit(len(PLANTED_MISSION) + 2).cast(pl.Int64).alias("n_events"),
        context_json.alias("context"),
        pl.when(pl.col("success")).then(pl.lit("landed")).otherwise(pl.lit("crashed")).alias("final_status"),
        pl.lit(playbook_version, dtype=pl.String).alias("playbook_version"),
        "date",
    )
    decision_frames = []
    for order, planted in enumerate(PLANTED_MISSION, start=1):
        cites = pl.Series([json.dumps(c) for c in followed[planted.parameter]], dtype=pl.String)
        decision_frames.append(
            base.select(
                "session_id",
                pl.lit(f"d{order}").alias("event_id"),
                pl.lit(order, dtype=pl.Int64).alias("seq"),
                "ts",
                pl.lit(planted.agent).alias("agent"),
                pl.lit("decision").alias("type"),
                pl.lit("set_parameter").alias("tool"),
                pl.format(
                    '{{"parameter": "{}", "value": {}, "rationale": "sampled", "followed": {}}}',
                    pl.lit(planted.parameter),
                    pl.col(planted.parameter),
                    cites,
                ).alias("input"),
                "date",
            )
        )
    bookends = [
        base.select(
            "session_id",
            pl.lit("start").alias("event_id"),
            pl.lit(0, dtype=pl.Int64).alias("seq"),
            "ts",
            pl.lit("flight_director").alias("agent"),
            pl.lit("session_start").alias("type"),
            pl.lit(None, dtype=pl.String).alias("tool"),
            pl.format('{{"task": "{}", "context": {}}}', pl.lit(MISSION_TASK), context_json).alias("input"),
            "date",
        ),
        base.select(
            "session_id",
            pl.lit("end").alias("event_id"),
            pl.lit(len(PLANTED_MISSION) + 1, dtype=pl.Int64).alias("seq"),
            "ts",
            pl.lit("flight_director").alias("agent"),
            pl.lit("session_end").alias("type"),
            pl.lit(None, dtype=pl.String).alias("tool"),
            pl.format('{{"status": "{}"}}', sessions["final_status"]).alias("input"),
            "date",
        ),
    ]
    events = pl.concat([bookends[0], *decision_frames, bookends[1]])
    outcomes = base.select(
        "session_id",
        pl.lit("landed_with_reward_200").alias("criterion"),
        pl.col("success").alias("passed"),
        pl.col("success").cast(pl.Float64).alias("score"),
        pl.lit(1.0).alias("weight"),
        pl.lit(True).alias("required"),
        pl.lit("expectation").alias("grader"),
        "date",
    )
    for table, frame in (("sessions", sessions), ("events", events), ("outcomes", outcomes)):
        append_partition(home, table, day, frame, merge_existing)


def append_partition(home: ReverieHome, table: str, day: date, frame: pl.DataFrame, merge: bool) -> None:
    """Write a partition, keeping rows already there (training and held-out flights share a day)."""
    new = pl.from_arrow(conform(table, frame))
    if merge and partition_files(home, table, [day]):
        existing = read_table(home, table, [day])
        if not existing.is_empty():
            new = pl.concat([existing, new], how="vertical_relaxed")
    write_partition(home, table, day, new)
