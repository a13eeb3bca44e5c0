"""The code location is a contract: a wiring change must show up as a visible diff in these snapshots."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
import yaml

from assets.definitions import build_definitions
from assets.runs import CODE_LOCATION, DEFINITIONS_MODULE
from assets.shared.tables import arrow_schema

ROOT = Path(__file__).resolve().parents[2]
DAILY = "daily"

# asset -> (upstream assets, partitioning, checks)
ASSET_GRAPH = {
    "landing_logs": (set(), None, set()),
    "mission_batch": (set(), DAILY, set()),
    "staged_logs": ({"landing_logs", "mission_batch"}, None, set()),
    "rejects": ({"staged_logs"}, None, set()),
    "events": ({"staged_logs"}, DAILY, {"ids_present_and_unique", "timestamps_sane"}),
    "sessions": ({"events"}, DAILY, {"sessions_valid"}),
    "outcomes": ({"sessions"}, DAILY, {"every_session_scored"}),
    "session_outcomes": ({"sessions", "outcomes"}, DAILY, set()),
    "playbook": ({"sessions", "outcomes", "playbook"}, DAILY, set()),
    "playbook_entries": ({"playbook"}, DAILY, set()),
    "playbook_evaluation": ({"playbook", "playbook_evaluation"}, DAILY, set()),
    "evaluations": ({"playbook_evaluation"}, DAILY, set()),
}
LAKE_TABLES = (
    "events",
    "sessions",
    "rejects",
    "outcomes",
    "session_outcomes",
    "playbook_entries",
    "evaluations",
)
JOBS = {
    "ingest_job": {"staged_logs", "rejects"},
    "lake_job": {"events", "sessions", "outcomes", "session_outcomes"},
    "mission_batch_job": {"mission_batch"},
    "fly_job": {
        "mission_batch",
        "staged_logs",
        "rejects",
        "events",
        "sessions",
        "outcomes",
        "session_outcomes",
    },
    "nightly_dream_job": {"playbook", "playbook_evaluation"},
    "score_job": {"outcomes", "session_outcomes"},
    "dream_job": {"playbook"},
    "evaluate_job": {"playbook_evaluation"},
}
SCHEDULES = {
    "nightly_dream_schedule": ("nightly_dream_job", "0 2 * * *"),
    "daily_mission_schedule": ("mission_batch_job", "0 6 * * *"),
}
SENSORS = {"landing_sensor": "ingest_job", "staged_to_lake_sensor": "lake_job"}


@pytest.fixture
def defs(reverie_home) -> dg.Definitions:
    return build_definitions(reverie_home)


def test_asset_graph_snapshot(defs):
    graph = defs.resolve_asset_graph()
    found = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        partitions = (
            DAILY if isinstance(node.partitions_def, dg.DailyPartitionsDefinition) else node.partitions_def
        )
        checks = {c.name for c in graph.get_check_keys_for_assets({key})}
        found[key.to_user_string()] = ({p.to_user_string() for p in node.parent_keys}, partitions, checks)
    assert found == ASSET_GRAPH


def test_every_asset_has_owner_description_kinds_and_code_reference(defs):
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        assert node.owners == ["team:reverie"], name
        assert node.description, name
        if name != "landing_logs":  # an observable source: nothing of ours computes it
            assert node.kinds, name
            assert node.code_version and node.code_version != "1", name
        assert node.metadata.get("dagster/code_references") is not None, name


def test_every_lake_table_is_an_asset_named_as_its_table_with_described_columns(defs):
    graph = defs.resolve_asset_graph()
    for table in LAKE_TABLES:
        node = graph.get(dg.AssetKey(table))
        assert node.metadata["dagster/table_name"] == f"reverie.main.{table}"
        schema: dg.TableSchema = node.metadata["dagster/column_schema"]
        assert [c.name for c in schema.columns] == arrow_schema(table).names, table
        missing = [c.name for c in schema.columns if not c.description]
        assert not missing, (table, missing)
    events = graph.get(dg.AssetKey("events")).metadata["dagster/column_schema"]
    assert "n_redactions" in [c.name for c in events.columns]  # the Parquet has it, so the catalog says so


def test_checks_are_described_and_partitioned_like_their_asset(defs):
    graph = defs.resolve_asset_graph()
    specs = [
        spec for asset in defs.assets if isinstance(asset, dg.AssetsDefinition) for spec in asset.check_specs
    ]
    assert {s.name for s in specs} == {
        "ids_present_and_unique",
        "timestamps_sane",
        "sessions_valid",
        "every_session_scored",
    }
    for spec in specs:
        assert spec.description, spec.name
        assert spec.partitions_def == graph.get(spec.asset_key).partitions_def, spec.name


def test_jobs_schedules_and_sensors_snapshot(defs):
    for name, selection in JOBS.items():
        job = defs.resolve_job_def(name)
        assert job.description, name
        assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == selection, name
    assert {s.name: (s.job_name, s.cron_schedule) for s in defs.schedules} == SCHEDULES
    assert all(s.description for s in defs.schedules)
    found = {}
    for sensor in defs.sensors:
        assert sensor.description, sensor.name
        found[sensor.name] = sensor.job_name
    assert found == SENSORS


def test_partitions_end_today(defs):
    days = defs.resolve_asset_graph().get(dg.AssetKey("events")).partitions_def
    assert days.get_last_partition_key() == datetime.now(UTC).date().isoformat()


def test_workspace_and_dg_name_the_same_code_location():
    [entry] = yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
    assert entry["python_module"]["module_name"] == DEFINITIONS_MODULE
    assert entry["python_module"]["location_name"] == CODE_LOCATION
    import tomllib

    dg_project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dg"]["project"]
    assert dg_project["code_location_target_module"] == DEFINITIONS_MODULE
    assert dg_project["code_location_name"] == CODE_LOCATION


@pytest.mark.slow  # a fresh interpreter imports the code location
def test_dg_check_defs_loads_the_project(reverie_home):
    """What `dg dev` and `reverie ui` do first: load and validate the code location from [tool.dg]."""
    dg_cli = Path(sys.executable).with_name("dg")
    done = subprocess.run(
        [str(dg_cli), "check", "defs"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
