"""The lake on an S3 server (moto's, on 127.0.0.1): commits without rename, concurrent writers, SQL reads."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pytest

from pipeline import lake, storage
from pipeline.home import ReverieHome

pytestmark = pytest.mark.xdist_group("s3")

DAYS = [f"2026-03-{d:02d}" for d in range(1, 6)]


def _sessions(day: str, n: int, tag: str) -> pl.DataFrame:
    return pl.DataFrame({"session_id": [f"{tag}-{day}-{i}" for i in range(n)], "task": [tag] * n})


def test_a_partition_round_trips_and_a_rewrite_replaces_it(s3_home: ReverieHome) -> None:
    lake.write_partition(s3_home, "sessions", DAYS[0], _sessions(DAYS[0], 3, "first"))
    lake.write_partition(s3_home, "sessions", DAYS[1], _sessions(DAYS[1], 2, "first"))
    lake.write_partition(s3_home, "sessions", DAYS[0], _sessions(DAYS[0], 4, "second"))

    assert lake.partitions(s3_home, "sessions") == DAYS[:2]
    frame = lake.read_table(s3_home, "sessions")
    assert (
        frame.height == 6
        and frame.filter(pl.col("task") == "first")["session_id"].str.contains(DAYS[0]).sum() == 0
    )
    assert not s3_home.lake.exists()  # nothing went to the local lake folder
    store = lake.object_lake(s3_home)
    assert store is not None
    data_files = [k for k in store.keys("sessions") if k.endswith(".parquet")]
    assert len(data_files) == 3  # the superseded file stays (immutable), unreferenced


def test_sql_reads_the_remote_lake_through_duckdb(s3_home: ReverieHome) -> None:
    for day in DAYS[:3]:
        lake.write_partition(s3_home, "sessions", day, _sessions(day, 5, "sql"))
    con = lake.connect(s3_home)
    assert con.execute(
        "SELECT count(*), count(DISTINCT session_id), count(DISTINCT date) FROM sessions"
    ).fetchone() == (15, 15, 3)
    assert con.execute("SELECT count(*) FROM events").fetchone() == (0,)  # an absent table reads as empty
    catalog = lake.refresh_catalog(s3_home)
    assert catalog.exists()


_WRITER = """
import sys, polars as pl
from pipeline import lake
from pipeline.home import ReverieHome
home = ReverieHome.at(sys.argv[1], lake=sys.argv[2])
for rewrite in range(3):
    for day in sys.argv[4:]:
        n = 50 + rewrite
        lake.write_partition(home, "sessions", day, pl.DataFrame(
            {"session_id": [f"{sys.argv[3]}-{day}-{i}" for i in range(n)], "task": [str(rewrite)] * n}))
"""


def test_concurrent_writers_of_different_partitions_lose_and_duplicate_nothing(
    s3_home: ReverieHome, tmp_path: Path
) -> None:
    """Two processes rewrite their own partitions three times each, interleaved: every partition ends with
    exactly its writer's last rows."""
    mine = {"a": DAYS[:3], "b": DAYS[3:]}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path / f"home-{w}"), s3_home.lake_location, w, *days]
        )
        for w, days in mine.items()
    ]
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    con = lake.connect(s3_home)
    rows = con.execute(
        "SELECT date::VARCHAR, count(*), count(DISTINCT session_id), min(task), max(task) FROM sessions GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [(day, 52, 52, "2", "2") for day in DAYS]


def test_writers_racing_for_one_partition_are_ordered_and_one_wins_whole(s3_home: ReverieHome) -> None:
    def write(tag: str) -> None:
        lake.write_partition(s3_home, "sessions", DAYS[0], _sessions(DAYS[0], 7, tag))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, ["t0", "t1", "t2", "t3"]))
    store = lake.object_lake(s3_home)
    assert store is not None
    commits = sorted(k for k in store.keys("sessions") if "/_commits/" in k)
    assert commits == [f"sessions/date={DAYS[0]}/_commits/{i:010d}.json" for i in range(4)]
    frame = lake.read_table(s3_home, "sessions")
    assert frame.height == 7 and frame["task"].n_unique() == 1
    last = json.loads(store.read(commits[-1]))
    assert storage.committed_partitions(store, "sessions")[DAYS[0]].file == last["file"]


def test_a_local_reverie_lake_path_keeps_the_folder_layout(tmp_path: Path) -> None:
    home = ReverieHome.at(tmp_path / "home", lake=tmp_path / "elsewhere").ensure()
    path = lake.write_partition(home, "sessions", DAYS[0], _sessions(DAYS[0], 2, "local"))
    assert path == tmp_path / "elsewhere" / "sessions" / f"date={DAYS[0]}" / "part-0.parquet"
    assert lake.connect(home).execute("SELECT count(*) FROM sessions").fetchone() == (2,)
