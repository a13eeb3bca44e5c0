"""Where everything lives: one `REVERIE_HOME` folder holds landing logs, the lake, playbooks and Dagster's state.

A single root makes a Reverie installation easy to move, back up or throw away, and lets the CLI and the
Dagster UI share one instance. Past one machine the lake (tables, playbook versions, decision log) moves to
where every worker and SQL client can reach it: `REVERIE_LAKE` names an object-store URL (`s3://bucket/prefix`,
see `pipeline.storage`) or another local folder; unset, it is `REVERIE_HOME/lake` as always.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a lock is taken: `reverie sql` and other readers take none
    from filelock import FileLock

DEFAULT_HOME = Path(".reverie")
INSTANCE_LOCK = ".instance.lock"
LAKE_ENV = "REVERIE_LAKE"


def is_object_url(location: str) -> bool:
    """`s3://...` (any `scheme://` but `file://`) names an object store; anything else is a local path."""
    scheme, sep, _ = location.partition("://")
    return bool(sep) and scheme.isalnum() and scheme != "file"


def _lake_setting(lake: str | os.PathLike[str] | None) -> str | None:
    """An object-store URL as given (trailing slash dropped), a local folder resolved, or None for the default."""
    if lake is None or str(lake) == "":
        return None
    text = os.fspath(lake)
    if is_object_url(text):
        return text.rstrip("/")
    return str(Path(text.removeprefix("file://")).expanduser().resolve())


@dataclass(frozen=True)
class ReverieHome:
    root: Path
    lake_location: str | None = None  # REVERIE_LAKE: object-store URL or local folder; None = root/lake

    @classmethod
    def from_env(cls) -> ReverieHome:
        root = Path(os.environ.get("REVERIE_HOME", str(DEFAULT_HOME))).expanduser().resolve()
        return cls(root, _lake_setting(os.environ.get(LAKE_ENV)))

    @classmethod
    def at(cls, root: str | os.PathLike[str], lake: str | os.PathLike[str] | None = None) -> ReverieHome:
        """A home at `root`; `lake` as REVERIE_LAKE takes it (None: `root/lake`)."""
        return cls(Path(root).expanduser().resolve(), _lake_setting(lake))

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def object_lake(self) -> str | None:
        """The lake's object-store URL, or None when the lake is a local folder."""
        loc = self.lake_location
        return loc if loc is not None and is_object_url(loc) else None

    @property
    def lake(self) -> Path:
        """The local lake folder (with an object-store lake: unused, reads are cached under `cache/lake`)."""
        if self.lake_location is not None and self.object_lake is None:
            return Path(self.lake_location)
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
        for folder in (
            self.landing,
            self.staging,
            self.reports,
            self.dagster_home,
            self.cache,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        if self.object_lake is None:  # an object-store lake holds the tables and the playbooks
            self.lake.mkdir(parents=True, exist_ok=True)
            self.playbooks.mkdir(parents=True, exist_ok=True)
        return self


def activate(home: ReverieHome) -> ReverieHome:
    """Point this process (and Dagster's instance, `REVERIE_HOME/dagster`) at `home`.

    The CLI calls this before any run, so its runs are recorded where `reverie ui` looks.
    """
    home.ensure()
    os.environ["REVERIE_HOME"] = str(home.root)
    if (
        home.lake_location is not None
    ):  # run workers (Celery, k8s pods) build their homes from the environment
        os.environ[LAKE_ENV] = home.lake_location
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
    from filelock import FileLock

    home.dagster_home.mkdir(parents=True, exist_ok=True)
    return FileLock(str(home.dagster_home / INSTANCE_LOCK))
