"""The lakehouse resource: one `REVERIE_HOME`, its Parquet lake (local or on an object store) and DuckDB views."""

from __future__ import annotations

import duckdb
from dagster import ConfigurableResource

from pipeline import lake
from pipeline.home import ReverieHome


class LakehouseResource(ConfigurableResource):
    """One lake for the CLI and the UI: `home` when given (tests, a second home), else `REVERIE_HOME` (and
    `REVERIE_LAKE`) as they are when the run starts, so the one code location serves whichever home the CLI
    activated.

    `lake` is where tables, playbook versions and the decision log live: None keeps them under `home`; an
    object-store URL (`s3://bucket/prefix`) puts them where workers on other machines reach them. Store
    credentials are not settings: botocore reads them from the environment or the machine's role (bind
    them with `EnvVar` in the deployment, docs/operations.md).
    """

    home: str | None = None
    lake: str | None = None

    @property
    def reverie_home(self) -> ReverieHome:
        if self.home:
            return ReverieHome.at(self.home, lake=self.lake).ensure()
        return ReverieHome.from_env().ensure()

    def connect(self) -> duckdb.DuckDBPyConnection:
        """In-memory DuckDB with the lake's views: readers never contend for a file lock."""
        return lake.connect(self.reverie_home)

    def refresh_catalog(self) -> None:
        lake.refresh_catalog(self.reverie_home)
