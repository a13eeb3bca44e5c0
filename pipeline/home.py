"""Where everything lives: one `REVERIE_HOME` folder holds landing logs, the lake, playbooks and Dagster's state.

A single root makes a Reverie installation easy to move, back up or throw away, and lets the CLI and the
Dagster UI share one instance.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path(".reverie")


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
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return home
