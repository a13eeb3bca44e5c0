"""The lakehouse resource: one `REVERIE_HOME`, its Parquet lake and DuckDB views."""

from __future__ import annotations

import duckdb
from dagster import ConfigurableResource

from pipeline import lake
from pipeline.home import ReverieHome


class LakehouseResource(ConfigurableResource):
    """Bound to `REVERIE_HOME` in definitions so the CLI and the UI share one lake."""

    home: str

    @property
    def reverie_home(self) -> ReverieHome:
        return ReverieHome.at(self.home).ensure()

    def connect(self) -> duckdb.DuckDBPyConnection:
        """In-memory DuckDB with the lake's views: readers never contend for a file lock."""
        return lake.connect(self.reverie_home)

    def refresh_catalog(self) -> None:
        lake.refresh_catalog(self.reverie_home)
