"""The lunar seed suites: training draws, the tuning suite and the locked report suite never share a seed,
and only the report benchmark flies the locked suite."""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from pipeline.evaluation import heldout_seeds
from pipeline.missions.lunar.suite import (
    LOCKED_REPORT_MISSIONS,
    TUNING_FINAL_DAY,
    is_heldout_seed,
    locked_report_seeds,
    mission_seed,
    tuning_seeds,
)

ROOT = Path(__file__).resolve().parents[2]
# Every day a loop history, demo or benchmark flew from (2025-01-01 through the tuning histories' last start
# in Feb 2028 plus its nights and its nightly held-out day), 200 training draws each: what the dream saw.
DAYS = [date(2025, 1, 1) + timedelta(days=k) for k in range((date(2028, 4, 1) - date(2025, 1, 1)).days)]


@cache
def _training_draws() -> frozenset[int]:
    return frozenset(mission_seed(day, i, heldout=False) for day in DAYS for i in range(200))


def _tuning_heldout_draws() -> set[int]:
    """Every held-out seed a setting was chosen on: the evaluation suite's first 2,000 (the autopilot search
    used its first 300-600, the loop comparisons its first 1,000), the 1,000 of the tuning day, and the 200
    nightly held-out seeds of every date partition in range (the loop benchmark's per-night figures)."""
    seeds = set(tuning_seeds(2000)) | {mission_seed(TUNING_FINAL_DAY, i, heldout=True) for i in range(1000)}
    return seeds | {mission_seed(day, i, heldout=True) for day in DAYS for i in range(200)}


def test_locked_report_suite_is_disjoint_from_tuning_and_training():
    locked = locked_report_seeds(LOCKED_REPORT_MISSIONS * 2)
    assert len(set(locked)) == len(locked)
    assert all(is_heldout_seed(seed) for seed in locked)
    assert set(locked).isdisjoint(_tuning_heldout_draws())
    assert set(locked).isdisjoint(_training_draws())


def test_tuning_suite_is_the_nightly_evaluation_suite_and_disjoint_from_training():
    assert heldout_seeds(400) == tuning_seeds(400)
    assert set(tuning_seeds(2000)).isdisjoint(_training_draws())


def test_suites_are_fixed_and_prefixes_of_themselves():
    assert locked_report_seeds(10) == locked_report_seeds(1000)[:10]
    assert locked_report_seeds(5) == [mission_seed("locked-report/1", i, heldout=True) for i in range(5)]
    assert locked_report_seeds(5) != tuning_seeds(5)


def test_only_the_report_benchmark_flies_the_locked_suite():
    """A setting chosen on the locked suite would spend it: the engine, the Dagster layer, the CLI and every
    other benchmark stay on tuning seeds."""
    pattern = re.compile(r"locked_report_seeds|LOCKED_REPORT_SUITE")
    users = {
        path.relative_to(ROOT).as_posix()
        for folder in ("pipeline", "assets", "resources", "cli", "benchmarks")
        for path in (ROOT / folder).rglob("*.py")
        if pattern.search(path.read_text())
    }
    assert users == {"pipeline/missions/lunar/suite.py", "benchmarks/lunar_dream_loop.py"}
