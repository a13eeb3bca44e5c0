"""Staged batches hold one row group per staged day, and a partition build reads only the row groups of the
days it needs: a session whose files start on different days is still whole on its own day, and batches
staged before the layout are rewritten once and give the same tables."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from parity import EXPECTED, TABLES, normalized_tables, write_parity_corpus
from polars.testing import assert_frame_equal

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.ingest import engine
from pipeline.ingest.staged_frames import STAGED_DAY

NATIVE = "reverie.event/v1"


def _event(session: str, event_id: str, ts: str, kind: str = "decision", **fields: object) -> str:
    return json.dumps({"schema": NATIVE, "session_id": session, "event_id": event_id, "ts": ts, "type": kind,
                       "agent": "guidance", **fields})  # fmt: skip


def _staged_batches(home: ReverieHome) -> list[Path]:
    return [
        path
        for path in sorted(home.staging.glob("*.parquet"))
        if not path.name.startswith("_") and not path.name.endswith(".rejects.parquet")
    ]


def test_a_session_whose_second_file_starts_a_day_later_is_whole_on_its_start_day(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.part1.jsonl").write_text(
        _event("s-1", "start", "2026-03-03T23:50:00Z", "session_start", input={"task": "t"}) + "\n"
    )
    # The session's second file holds only events after midnight: its rows sit in the March 4 row group.
    (logs / "a.part2.jsonl").write_text(
        _event("s-1", "d1", "2026-03-04T00:05:00Z", tool="set_parameter") + "\n"
        + _event("s-1", "end", "2026-03-04T00:10:00Z", "session_end", input={"status": "landed"}) + "\n"
    )  # fmt: skip
    (logs / "b.jsonl").write_text(  # another session, starting March 4, in the same batch
        _event("s-2", "start", "2026-03-04T08:00:00Z", "session_start", input={"task": "t"}) + "\n"
    )
    home = ReverieHome.at(tmp_path / "home").ensure()
    engine.ingest(home, [logs], ingest_date=date(2026, 3, 5))

    [batch] = _staged_batches(home)
    days = [
        pq.read_metadata(batch).row_group(i).column(pq.read_schema(batch).get_field_index(STAGED_DAY))
        for i in range(pq.read_metadata(batch).num_row_groups)
    ]
    assert [(d.statistics.min, d.statistics.max) for d in days] == [
        (date(2026, 3, 3), date(2026, 3, 3)),
        (date(2026, 3, 4), date(2026, 3, 4)),
    ]
    first = lake.read_table(home, "events", ["2026-03-03"])
    assert first.sort("seq")["event_id"].to_list() == ["start", "d1", "end"]
    assert set(first["session_id"]) == {"s-1"}
    assert lake.read_table(home, "events", ["2026-03-04"])["session_id"].to_list() == ["s-2"]
    sessions = lake.read_table(home, "sessions", ["2026-03-03"]).row(0, named=True)
    assert sessions["n_events"] == 3 and sessions["final_status"] == "landed"


def test_batches_staged_before_the_day_row_groups_are_rewritten_and_build_the_same_tables(
    tmp_path: Path,
) -> None:
    corpus = write_parity_corpus(tmp_path / "corpus")
    home = ReverieHome.at(tmp_path / "home").ensure()
    report = engine.ingest(home, [corpus], ingest_date=date(2026, 2, 1), workers=1)
    batches = _staged_batches(home)
    for batch in batches:  # as an earlier version staged them: polars, one row group, no day column
        pl.read_parquet(batch).drop(STAGED_DAY).write_parquet(batch, compression="lz4", statistics=False)
    for table in TABLES:
        for folder in home.table_dir(table).glob("date=*"):
            for file in folder.glob("*.parquet"):
                file.unlink()

    engine.build_partitions(home, engine.staged_dates(home), report.reject_dates, workers=2)

    assert all(STAGED_DAY in pq.read_schema(batch).names for batch in batches)
    tables = normalized_tables(home.root, corpus)
    for name in TABLES:
        assert_frame_equal(tables[name], pl.read_parquet(EXPECTED / f"{name}.parquet"), check_exact=True)
