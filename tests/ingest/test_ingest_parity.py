"""Ingest stores exactly what it stored before the ingest speed work: same rows, same values, same order
keys, on every fixture and the planted-secret corpus (expected tables recorded by `parity.py --record`)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from parity import EXPECTED, TABLES, run_parity_ingest
from polars.testing import assert_frame_equal

from pipeline.ingest import engine


@pytest.mark.parametrize("workers", [1, 2])
def test_ingest_output_is_identical_to_the_recorded_output(
    tmp_path: Path, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if workers > 1:  # small batches and no size floor, so the parent and a spawned worker share the work
        monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(engine, "BATCH_BYTES", 64 * 1024)
    tables = run_parity_ingest(tmp_path, workers=workers)
    for name in TABLES:
        expected = pl.read_parquet(EXPECTED / f"{name}.parquet")
        assert expected.height, f"the recorded {name} table is empty"
        assert_frame_equal(tables[name], expected, check_exact=True)
