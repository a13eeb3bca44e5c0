"""Assets materialized the Dagster way (`dg.materialize`) into a temporary REVERIE_HOME, one day at a time."""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.definitions import build_resources
from assets.ingest.assets import events, sessions, staged_logs
from assets.outcomes.assets import outcomes, session_outcomes
from pipeline import lake


def _check(result: dg.ExecuteInProcessResult, asset: str, name: str) -> dg.AssetCheckEvaluation:
    [evaluation] = [
        e
        for e in result.get_asset_check_evaluations()
        if (e.asset_key.to_user_string(), e.check_name) == (asset, name)
    ]
    return evaluation


def test_a_day_materializes_from_landing_to_session_outcomes(landed_home, yesterday):
    resources = build_resources(landed_home)
    staged = dg.materialize([staged_logs], resources=resources)
    assert staged.success
    [staging] = [
        m
        for m in staged.asset_materializations_for_node("staged_logs")
        if m.asset_key.path == ["staged_logs"]
    ]
    assert staging.metadata["session_dates"].value == [yesterday.isoformat()]

    day = yesterday.isoformat()
    built = dg.materialize(
        [events, sessions, outcomes, session_outcomes],
        partition_key=day,
        resources=resources,
    )
    assert built.success
    materialized = {m.asset_key.to_user_string(): m for m in built.get_asset_materialization_events()}
    assert set(materialized) == {"events", "sessions", "outcomes", "session_outcomes"}
    assert all(m.partition == day for m in materialized.values())

    assert lake.read_table(landed_home, "events", [day]).height == 5
    frame = lake.read_table(landed_home, "sessions", [day])
    assert frame["session_id"].to_list() == ["mission-0007"]
    # checks ran in the same step, on the same partition, and passed on good data
    for asset, name in (
        ("events", "ids_present_and_unique"),
        ("events", "timestamps_sane"),
        ("sessions", "sessions_valid"),
        ("outcomes", "every_session_scored"),
    ):
        evaluation = _check(built, asset, name)
        assert evaluation.passed, (asset, name)
        assert evaluation.partition == day, (asset, name)
    so = materialized["session_outcomes"].event_specific_data.materialization
    assert so.metadata["dagster/row_count"].value == 1


def test_rematerializing_a_day_is_idempotent(landed_home, yesterday):
    resources = build_resources(landed_home)
    assert dg.materialize([staged_logs], resources=resources).success
    day = yesterday.isoformat()
    for _ in range(2):
        assert dg.materialize([events, sessions], partition_key=day, resources=resources).success
    frame = lake.read_table(landed_home, "events", [day])
    assert frame.height == 5
    assert frame.select(pl.struct("session_id", "event_id").is_unique().all()).item()
