"""The build journal: which lake partitions staging changed and no build has caught up with yet.

Staging and the lake build are two steps (two Dagster runs from the CLI). Once the manifest lists a file,
later runs skip it, so the partitions it touched used to be known only to the process that staged it: a
SIGKILL or a failed lake job between the two steps lost those rows for good. Now staging writes the days
it touched to `staging/_pending.json` *before* it commits the manifest, and a partition build removes its
day only after the partition is written. Every `stage_files` reports all pending days, so the next run
(even one where every file is unchanged) rebuilds what an interrupted one left behind.

Each mark carries a fresh token and a build clears a day only if the token is still the one it saw when it
started: a day re-marked by a concurrent ingest while it was being built stays pending.

Tables: `events` (marked by staging), `sessions` (marked when `events` of that day is rebuilt, since
sessions are aggregated from it), `rejects` (marked by staging, by ingest date).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from filelock import FileLock

from pipeline.home import ReverieHome

JOURNAL_FILE = "_pending.json"
TABLES = ("events", "sessions", "rejects")
KILL_ENV = "REVERIE_KILL_AT"
"""Fault injection for the crash tests: a process whose `REVERIE_KILL_AT` names a checkpoint SIGKILLs
itself there, exactly as a power cut or the OOM killer would stop it."""

_thread_lock = threading.Lock()  # partitions of one run are built from several threads


def checkpoint(name: str) -> None:
    """Die here, uncatchably, if the crash tests asked for it (see `KILL_ENV`); otherwise do nothing."""
    if os.environ.get(KILL_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _path(home: ReverieHome) -> Path:
    return home.staging / JOURNAL_FILE


class _Journal:
    """Read-modify-write of the journal under a thread lock and a file lock (other processes)."""

    def __init__(self, home: ReverieHome) -> None:
        self.path = _path(home)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file_lock = FileLock(str(self.path) + ".lock")

    def __enter__(self) -> dict[str, dict[str, str]]:
        _thread_lock.acquire()
        try:
            self.file_lock.acquire()
        except BaseException:
            _thread_lock.release()
            raise
        self.data = _read(self.path)
        return self.data

    def save(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        with tmp.open("w") as handle:
            json.dump(self.data, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    def __exit__(self, *exc: object) -> None:
        self.file_lock.release()
        _thread_lock.release()


def _read(path: Path) -> dict[str, dict[str, str]]:
    try:
        raw = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        raw = {}
    if not isinstance(raw, dict):
        raw = {}
    return {table: dict(raw.get(table) or {}) for table in TABLES}


def mark(home: ReverieHome, table: str, days: Iterable[date]) -> None:
    """Record that `table`'s partitions for `days` must be rebuilt (durably, before the change commits)."""
    wanted = sorted({d.isoformat() for d in days})
    if not wanted:
        return
    journal = _Journal(home)
    with journal as data:
        for day in wanted:
            data[table][day] = uuid.uuid4().hex
        journal.save()


def pending(home: ReverieHome, table: str) -> dict[date, str]:
    """Days of `table` still to rebuild, with the token a build must see unchanged to clear them."""
    return {date.fromisoformat(d): token for d, token in _read(_path(home))[table].items()}


def token(home: ReverieHome, table: str, day: date) -> str | None:
    return _read(_path(home))[table].get(day.isoformat())


def clear(
    home: ReverieHome, table: str, day: date, seen: str | None, *, then_mark: str | None = None
) -> None:
    """A build of `table`/`day` that started when the day's token was `seen` has written its partition:
    drop the day unless it was re-marked since. `then_mark` names the table built from this one (marked
    in the same write, so no crash falls between the two)."""
    journal = _Journal(home)
    with journal as data:
        changed = False
        key = day.isoformat()
        if seen is not None and data[table].get(key) == seen:
            del data[table][key]
            changed = True
        if then_mark is not None:
            data[then_mark][key] = uuid.uuid4().hex
            changed = True
        if changed:
            journal.save()


def forget(home: ReverieHome, table: str, days: Iterable[date]) -> None:
    """Drop days that have nothing to build (no staged data and no partition to empty)."""
    keys = {d.isoformat() for d in days}
    if not keys:
        return
    journal = _Journal(home)
    with journal as data:
        for key in keys:
            data[table].pop(key, None)
        journal.save()
