"""Dagster resources: where the lake lives, how to reach Claude, how missions run."""

from resources.lakehouse import LakehouseResource
from resources.llm import LLMResource
from resources.missions import MissionRuntimeResource

__all__ = ["LakehouseResource", "LLMResource", "MissionRuntimeResource"]
