"""Several processes opening a fresh REVERIE_HOME at once leave one consistent Dagster storage."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.home import ReverieHome

OPENER = """
import sys, time
from pathlib import Path
from pipeline.home import ReverieHome
from assets.definitions import open_instance
home, go = ReverieHome.at(sys.argv[1]), Path(sys.argv[2])
Path(sys.argv[3]).touch()
while not go.exists():
    time.sleep(0.001)
with open_instance(home) as instance:
    instance.get_runs(limit=1)
"""
PROCESSES = 3


def _alembic_heads(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        return [row[0] for row in con.execute("select version_num from alembic_version")]


@pytest.mark.slow  # three processes each importing the code location
def test_concurrent_first_opens_stamp_each_storage_once(tmp_path: Path) -> None:
    home = ReverieHome.at(tmp_path / "home")
    go = tmp_path / "go"
    env = {k: v for k, v in os.environ.items() if k not in ("REVERIE_HOME", "DAGSTER_HOME")}
    ready = [tmp_path / f"ready-{i}" for i in range(PROCESSES)]
    procs = [
        subprocess.Popen([sys.executable, "-c", OPENER, str(home.root), str(go), str(flag)], env=env)
        for flag in ready
    ]
    deadline = time.monotonic() + 300
    while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
        time.sleep(0.05)
    go.touch()  # every process has imported Dagster: they now open the instance as close together as can be
    assert [p.wait(timeout=300) for p in procs] == [0] * PROCESSES
    root = home.dagster_home
    for db in (root / "history/runs.db", root / "history/runs/index.db", root / "schedules/schedules.db"):
        heads = _alembic_heads(db)
        assert len(heads) == 1, (db.name, heads)
