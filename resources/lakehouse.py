"""The lakehouse resource: one `REVERIE_HOME`, its Parquet lake and DuckDB views."""

from __future__ import annotations

import duckdb
from dagster import ConfigurableResource

from pipeline import lake
from pipeline.home import ReverieHome


class LakehouseResource(ConfigurableResource):
    """One lake for the CLI and the UI: `home` when given (tests, a second home), else `REVERIE_HOME` as it
    is when the run starts, so the one code location serves whichever home the CLI activated."""

    home: str | None = None

    @property
    def reverie_home(self) -> ReverieHome:
        return (ReverieHome.at(self.home) if self.home else ReverieHome.from_env()).ensure()

    def connect(self) -> duckdb.DuckDBPyConnection:
        """In-memory DuckDB with the lake's views: readers never contend for a file lock."""
        return lake.connect(self.reverie_home)

    def refresh_catalog(self) -> None:
        lake.refresh_catalog(self.reverie_home)
