"""Where everything lives: one `REVERIE_HOME` folder holds landing logs, the lake, playbooks and Dagster's state.

A single root makes a Reverie installation easy to move, back up or throw away, and lets the CLI and the
Dagster UI share one instance.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

DEFAULT_HOME = Path(".reverie")
INSTANCE_LOCK = ".instance.lock"


@dataclass(frozen=True)
class ReverieHome:
    root: Path

    @classmethod
    def from_env(cls) -> ReverieHome:
        return cls(Path(os.environ.get("REVERIE_HOME", str(DEFAULT_HOME))).expanduser().resolve())

    @classmethod
    def at(cls, root: str | os.PathLike[str]) -> ReverieHome:
        return cls(Path(root).expanduser().resolve())

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def staging(self) -> Path:
        """Per-source-file normalized events, before they are grouped into session-date partitions."""
        return self.root / "staging"

    @property
    def playbooks(self) -> Path:
        return self.root / "playbooks"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def catalog(self) -> Path:
        return self.root / "reverie.duckdb"

    @property
    def cache(self) -> Path:
        """Content-addressed caches (LLM gradings, ...) so re-materializing costs nothing new."""
        return self.root / "cache"

    def table_dir(self, table: str) -> Path:
        return self.lake / table

    def ensure(self) -> ReverieHome:
        for folder in (self.landing, self.lake, self.staging, self.playbooks, self.reports, self.dagster_home, self.cache):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def activate(home: ReverieHome) -> ReverieHome:
    """Point this process (and Dagster's instance, `REVERIE_HOME/dagster`) at `home`.

    The CLI calls this before any run, so its runs are recorded where `reverie ui` looks.
    """
    home.ensure()
    os.environ["REVERIE_HOME"] = str(home.root)
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    config = home.dagster_home / "dagster.yaml"
    if not config.exists():  # temp name then rename: a concurrent first run never reads half a file
        tmp = config.with_name(f".{config.name}.{os.getpid()}.tmp")
        tmp.write_text("telemetry:\n  enabled: false\n")
        os.replace(tmp, config)
    return home


def instance_lock(home: ReverieHome) -> FileLock:
    """The lock held while Dagster's instance under `home` is opened.

    Opening the instance creates its SQLite storages and stamps their alembic revision the first time;
    two processes doing that at once on a fresh home left two `alembic_version` heads and a home no
    command could open again. Holding this lock around the open makes the first one create, the others
    find the finished storage. It is held only while opening, never while a run executes.
    """
    home.dagster_home.mkdir(parents=True, exist_ok=True)
    return FileLock(str(home.dagster_home / INSTANCE_LOCK))
