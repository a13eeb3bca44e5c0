"""Held-out evaluation of the night's candidate playbook, and the promotion decision."""


from datetime import date

import dagster as dg

from assets.partitions import daily_partitions
from pipeline.lazy import deferred
from pipeline.missions.lunar.suite import EVALUATION_MISSIONS
from resources.lakehouse import LakehouseResource
from resources.missions import MissionRuntimeResource

# the simulator and scipy load when a night is evaluated, not when the code location is
evaluate_candidate = deferred("pipeline.evaluation", "evaluate_candidate")


class EvaluationConfig(dg.Config):
    missions: int = EVALUATION_MISSIONS
    policy: str = "auto"  # auto | manual
    alpha: float = 0.05
    margin: float = 0.02


@dg.asset(
    partitions_def=daily_partitions,
    # Its own previous day too: which version is in force depends on earlier promotions, so a backfill
    # launched from the UI must evaluate day by day, as the nightly runs did, not all days at once.
    deps=[
        "playbook",
        dg.AssetDep(
            "playbook_evaluation",
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True
            ),
        ),
    ],
    group_name="dreaming",
    kinds={"python", "gymnasium"},
    description="The candidate playbook and the one in force fly the same held-out seeds (no exploration) "
    "next to gymnasium's reference heuristic; a paired test decides promotion under the configured policy.",
    code_version="1",
)
def playbook_evaluation(
    context: dg.AssetExecutionContext,
    config: EvaluationConfig,
    lakehouse: LakehouseResource,
    runtime: MissionRuntimeResource,
):
    home = lakehouse.reverie_home
    day = date.fromisoformat(context.partition_key)
    report = evaluate_candidate(
        home, day, n_missions=config.missions, policy=config.policy,  # type: ignore[arg-type]
        alpha=config.alpha, margin=config.margin, workers=runtime.workers,
    )
    lakehouse.refresh_catalog()
    context.log.info(f"{report.decision}: {report.reason}")
    return dg.MaterializeResult(
        metadata={
            "decision": report.decision,
            "reason": report.reason,
            "candidate": report.candidate_version,
            "in_force": report.in_force_version or "none (naive team)",
            "candidate_success": report.candidate.rate,
            "in_force_success": report.in_force.rate,
            "reference_success": report.reference.rate,
            "candidate_ci": dg.MetadataValue.json([report.candidate.ci_low, report.candidate.ci_high]),
            "p_value": report.p_value,
            "heldout_missions": len(report.seeds),
        }
    )
