"""Mission batches as a partitioned asset: a mission's crew flies the day's batch, its logs land for ingest.

Which mission is run config (`mission: lunar | coding`), not a partition dimension: see docs/ARCHITECTURE.md,
"One loop for every mission".
"""

from datetime import date

import dagster as dg

from assets.shared.code_version import engine_code_version
from assets.shared.partitions import daily_partitions
from assets.shared.tables import OWNERS
from pipeline.lazy import deferred
from pipeline.loop_report import REPORT_METADATA, FlightReport
from pipeline.missions.registry import DEFAULT_MISSION
from pipeline.playbooks.store import PlaybookStore
from resources.lakehouse import LakehouseResource
from resources.llm import LLMResource
from resources.missions import MissionRuntimeResource

mission_named = deferred("pipeline.missions.registry", "mission")  # a mission's simulator loads when it flies


class MissionBatchConfig(dg.Config):
    mission: str = DEFAULT_MISSION  # lunar | coding (pipeline/missions/registry.py)
    missions: int = 200
    backend: str = "offline"  # offline | claude
    heldout: bool = False
    exploration: float | None = None  # None: the runtime default for training, 0 for held-out


@dg.asset(
    partitions_def=daily_partitions,
    group_name="missions",
    kinds={"python", "gymnasium"},
    owners=OWNERS,
    tags={"layer": "source"},
    description="A day's batch of a mission (config `mission`): lunar landings in gymnasium LunarLander-v3 "
    "with wind flown by a flight director and three specialists, or coding tasks worked by a coding crew, "
    "each with its mission's playbook in force on the day. Writes one session log per mission to "
    "`REVERIE_HOME/landing/<date>/`.",
    code_version=engine_code_version("pipeline.missions", "pipeline.agents"),
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
    mission = mission_named(config.mission)
    playbook = PlaybookStore(home, mission=mission.name).in_force(day)
    exploration = config.exploration
    if exploration is None:
        exploration = 0.0 if config.heldout else runtime.exploration
    batch = mission.fly_batch(
        home, day, config.missions,
        backend=config.backend or runtime.backend,
        heldout=config.heldout,
        playbook=playbook,
        exploration=exploration,
        workers=runtime.workers,
        llm_settings=llm.settings(),
    )  # fmt: skip
    report = FlightReport.from_batch(mission.name, batch, home.landing / day.isoformat())
    context.log.info(f"{mission.name}: {report.success_rate:.0%} success over {report.missions} missions")
    return dg.MaterializeResult(
        metadata={
            "mission": mission.name,
            "missions": report.missions,
            "success_rate": report.success_rate,
            "failure_modes": dg.MetadataValue.json(report.failure_modes),
            "playbook_version": report.playbook_version or "none (naive team)",
            "backend": config.backend,
            "heldout": config.heldout,
            "logs": dg.MetadataValue.path(report.logs),
            REPORT_METADATA: dg.MetadataValue.json(report.model_dump(mode="json")),
        }
    )
