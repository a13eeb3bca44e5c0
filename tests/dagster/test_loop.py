"""The loop API's contract with the Dagster layer: the run configs it submits are valid for the jobs, and a
step whose report is missing or renamed fails loudly instead of yielding blanks."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from assets.definitions import build_definitions
from assets.loop import (
    LoopStepFailed,
    batch_run_config,
    dream_op_config,
    evaluation_op_config,
    fly_run_config,
    nightly_run_config,
    report_of,
)
from pipeline.loop_report import REPORT_METADATA, DreamReport, LoopSettings


@pytest.mark.parametrize("mission", ["lunar", "coding"])
def test_every_run_config_the_loop_submits_is_valid_for_its_job(reverie_home, mission):
    defs = build_definitions(reverie_home)
    settings = LoopSettings(mission=mission, dream={"fdr": 0.1}, exploration=0.1)
    configs = {
        "mission_batch_job": batch_run_config(settings, heldout=True),
        "fly_job": fly_run_config(reverie_home, date(2026, 11, 1), settings, heldout=True),
        "dream_job": {"ops": {"playbook": dream_op_config(settings)}},
        "evaluate_job": {"ops": {"playbook_evaluation": evaluation_op_config(settings)}},
        "nightly_dream_job": nightly_run_config(settings),
    }
    for job, run_config in configs.items():
        validation = dg.validate_run_config(defs.resolve_job_def(job), run_config)
        assert validation["ops"], job
    assert nightly_run_config(settings)["ops"]["playbook"]["config"]["settings"] == {"fdr": 0.1}


def _report_asset(report: dict | None):
    @dg.asset(name="playbook")
    def playbook() -> dg.MaterializeResult:
        metadata = {"version": "pb-2026-01-01"}
        if report is not None:
            metadata[REPORT_METADATA] = dg.MetadataValue.json(report)
        return dg.MaterializeResult(metadata=metadata)

    return playbook


def _dream_report() -> dict:
    report = DreamReport(
        mission="lunar", day=date(2026, 1, 1), version="pb-2026-01-01", parent=None, sessions_reviewed=3,
        entries=1, entries_retired=0, ops={"added": 1}, dropped_by_safety_screen=0, path="/tmp/pb",
    )  # fmt: skip
    return report.model_dump(mode="json")


def test_a_report_reads_back_as_its_model():
    result = dg.materialize([_report_asset(_dream_report())])
    assert report_of(result, "playbook", DreamReport).version == "pb-2026-01-01"


def test_a_missing_or_renamed_report_fails_loudly():
    with pytest.raises(LoopStepFailed, match="recorded no `report`"):
        report_of(dg.materialize([_report_asset(None)]), "playbook", DreamReport)
    renamed = _dream_report()
    renamed["n_entries"] = renamed.pop("entries")
    with pytest.raises(LoopStepFailed, match="does not match DreamReport"):
        report_of(dg.materialize([_report_asset(renamed)]), "playbook", DreamReport)
