"""The reference mission as a partitioned agent batch: the team flies, its logs land for ingest."""


from datetime import date

import dagster as dg

from assets.partitions import daily_partitions
from pipeline.lazy import deferred
from pipeline.playbooks.store import PlaybookStore
from resources.lakehouse import LakehouseResource
from resources.llm import LLMResource
from resources.missions import MissionRuntimeResource

fly_batch = deferred("pipeline.missions.lunar.batch", "fly_batch")  # gymnasium loads when a batch flies


class MissionBatchConfig(dg.Config):
    missions: int = 200
    backend: str = "offline"  # offline | claude
    heldout: bool = False
    exploration: float | None = None  # None: the runtime default for training, 0 for held-out


@dg.asset(
    partitions_def=daily_partitions,
    group_name="missions",
    kinds={"python", "gymnasium"},
    description="Lunar landings (gymnasium LunarLander-v3 with wind) flown by a flight director and three "
    "specialists with the playbook in force on the day. Writes one reverie.event/v1 log per mission to "
    "REVERIE_HOME/landing/<date>/.",
    code_version="1",
)
def mission_batch(
    context: dg.AssetExecutionContext,
    config: MissionBatchConfig,
    lakehouse: LakehouseResource,
    runtime: MissionRuntimeResource,
    llm: LLMResource,
):
    home = lakehouse.reverie_home
    day = date.fromisoformat(context.partition_key)
    playbook = PlaybookStore(home).in_force(day)
    exploration = config.exploration
    if exploration is None:
        exploration = 0.0 if config.heldout else runtime.exploration
    report = fly_batch(
        home, day, config.missions,
        backend=config.backend or runtime.backend,
        heldout=config.heldout,
        playbook=playbook,
        exploration=exploration,
        workers=runtime.workers,
        llm_settings=llm.settings(),
    )
    context.log.info(f"{report.success_rate:.0%} success over {len(report.results)} missions")
    return dg.MaterializeResult(
        metadata={
            "missions": len(report.results),
            "success_rate": report.success_rate,
            "failure_modes": dg.MetadataValue.json(report.failure_modes),
            "playbook_version": report.playbook_version or "none (naive team)",
            "backend": config.backend,
            "heldout": config.heldout,
            "logs": dg.MetadataValue.path(str(home.landing / day.isoformat())),
        }
    )
