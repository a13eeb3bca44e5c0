"""The asset graph is a contract: a wiring change must show up as a visible diff in this test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg

from assets.definitions import build_definitions

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_DEPS = {
    "landing_logs": set(),
    "mission_batch": set(),
    "staged_logs": {"landing_logs", "mission_batch"},
    "session_events": {"staged_logs"},
    "sessions": {"session_events"},
    "outcome_scores": {"sessions"},
    "playbook": {"sessions", "outcome_scores", "playbook"},
    "playbook_evaluation": {"playbook", "playbook_evaluation"},
}


def test_asset_graph_snapshot(reverie_home):
    defs = build_definitions(reverie_home)
    graph = defs.resolve_asset_graph()
    deps = {
        key.to_user_string(): {p.to_user_string() for p in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }
    assert deps == EXPECTED_DEPS


def test_dreams_and_evaluations_chain_day_by_day(reverie_home):
    """A night's dream builds on the previous version, and the version in force depends on earlier promotions:
    both assets depend on their own previous day, so a backfill launched from the UI runs them day after day
    (measured: a UI backfill of four nights reproduced the nightly playbooks and promotions exactly)."""
    graph = build_definitions(reverie_home).resolve_asset_graph()
    for name in ("playbook", "playbook_evaluation"):
        key = dg.AssetKey(name)
        days = graph.get(key).partitions_def
        upstream = graph.get_partition_mapping(key, key).get_upstream_mapped_partitions_result_for_partitions(
            days.subset_with_partition_keys(["2026-11-21"]), days, days
        )
        assert upstream.partitions_subset.get_partition_keys() == ["2026-11-20"], name


def test_jobs_schedules_sensors_are_defined(reverie_home):
    defs = build_definitions(reverie_home)
    for job in ("ingest_job", "lake_job", "mission_batch_job", "nightly_dream_job", "score_job", "dream_job", "evaluate_job"):
        assert defs.resolve_job_def(job).name == job
    assert {s.name for s in defs.schedules} == {"nightly_dream_schedule", "daily_mission_schedule"}
    assert {s.name for s in defs.sensors} == {"landing_sensor", "staged_to_lake_sensor"}


def test_nightly_schedule_targets_the_day_that_just_ended(reverie_home):
    from datetime import UTC, datetime

    import dagster as dg

    from assets.automation import nightly_dream_schedule

    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 10, 2, 0, tzinfo=UTC))
    assert nightly_dream_schedule(context).partition_key == "2026-03-09"


def test_workspace_loads_with_dagster_cli(reverie_home):
    """What `dagster dev -w workspace.yaml` does first: load and validate the code location."""
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
