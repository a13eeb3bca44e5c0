"""Asset checks backed by Great Expectations: the lake's tables guard their own contracts."""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl

from pipeline.quality import CheckOutcome, insane_timestamps, validate_frame


def gx_check(
    asset_key: str, check_name: str, frame: pl.DataFrame, expectations: list[tuple[str, dict[str, Any]]]
) -> dg.AssetCheckResult:
    """Run a GE suite over `frame` and fold it into one Dagster check result with per-expectation detail."""
    outcomes: list[CheckOutcome] = validate_frame(frame, expectations, name=asset_key) if frame.height else []
    failed = [o for o in outcomes if not o.success]
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows_checked": frame.height,
            "expectations": len(outcomes),
            "failed": dg.MetadataValue.json(
                [
                    {
                        "expectation": o.expectation,
                        "kwargs": o.kwargs,
                        "unexpected": o.unexpected_count,
                        "sample": o.sample,
                    }
                    for o in failed
                ]
            ),
        },
    )


def timestamp_check(asset_key: str, frame: pl.DataFrame, column: str) -> dg.AssetCheckResult:
    bad = insane_timestamps(frame, column) if frame.height else frame
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name="timestamps_sane",
        passed=bad.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rows_checked": frame.height, "out_of_range": bad.height},
    )
