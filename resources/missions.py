"""How mission batches run: worker processes and the default agent backend."""

from __future__ import annotations

from dagster import ConfigurableResource


class MissionRuntimeResource(ConfigurableResource):
    workers: int = 2
    backend: str = "offline"
    exploration: float = 0.2
