"""The nightly loop as one typed API over the Dagster jobs: fly a night, dream a night, evaluate a night.

`reverie demo`, `reverie backfill`, the schedules and benchmarks/lunar_dream_loop.py all run nights through
these functions, so the loop is written once: each call runs the same jobs the UI shows (on REVERIE_HOME's
instance, tagged with the mission) and returns the step's typed report (`pipeline/loop_report.py`), read
back from the `report` metadata entry its asset attached and validated, so a renamed field fails here
instead of surfacing as a silent blank in a table. All settings come from one `LoopSettings`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import date, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pipeline.home import ReverieHome
from pipeline.loop_report import (
    REPORT_METADATA,
    DreamReport,
    EvaluationReport,
    FlightReport,
    LoopReport,
    LoopSettings,
    NightReport,
)

MISSION_TAG = "reverie/mission"
Report = TypeVar("Report", bound=BaseModel)
# Wraps a long step (e.g. a progress bar fed by pipeline.progress): called with (task, description).
StepWrapper = Callable[[str, str], AbstractContextManager[Any]]


class LoopStepFailed(RuntimeError):
    """A job of the loop failed or recorded no valid report; the message is one line that says which."""


# --- run configs: what the schedules and the functions below submit -----------------------------------------


def batch_run_config(settings: LoopSettings, *, heldout: bool = False) -> dict[str, Any]:
    config = {"mission": settings.mission, "missions": settings.missions, "backend": settings.backend,
              "heldout": heldout, "exploration": settings.exploration}  # fmt: skip
    return {"ops": {"mission_batch": {"config": config}}}


def fly_run_config(
    home: ReverieHome, day: date, settings: LoopSettings, *, heldout: bool = False
) -> dict[str, Any]:
    """The batch, then staging of exactly the day's landing folder, where the batch writes its logs
    (`fly_job`)."""
    config = batch_run_config(settings, heldout=heldout)
    config["ops"]["staged_logs"] = {"config": {"paths": [str(home.landing / day.isoformat())]}}
    return config


def dream_op_config(settings: LoopSettings) -> dict[str, Any]:
    return {"config": {"mission": settings.mission, "backend": settings.dream_backend,
                       "window_days": settings.window_days, "settings": settings.dream}}  # fmt: skip


def evaluation_op_config(settings: LoopSettings) -> dict[str, Any]:
    return {"config": {"mission": settings.mission, "missions": settings.eval_missions,
                       "policy": settings.policy, "alpha": settings.alpha, "margin": settings.margin}}  # fmt: skip


def nightly_run_config(settings: LoopSettings) -> dict[str, Any]:
    """Dream then evaluate (`nightly_dream_job`)."""
    return {
        "ops": {"playbook": dream_op_config(settings), "playbook_evaluation": evaluation_op_config(settings)}
    }


def mission_tags(settings: LoopSettings) -> dict[str, str]:
    return {MISSION_TAG: settings.mission}


# --- running jobs and reading their reports ----------------------------------------------------------------


def _execute(home: ReverieHome, job: str, **kwargs: Any) -> Any:
    from assets.definitions import run_job  # the root module imports the automation that imports this one

    try:
        result = run_job(job, home, **kwargs)
    except Exception as exc:  # a failed step: say which and why; the UI keeps the traceback
        cause = getattr(exc, "user_exception", None) or exc
        first = next((line.strip() for line in str(cause).splitlines() if line.strip()), "")
        raise LoopStepFailed(f"{job} failed: {type(cause).__name__}: {first}".rstrip(": ")) from exc
    if not result.success:
        raise LoopStepFailed(f"{job} failed; see `reverie ui` for the run's logs")
    return result


def report_of(result: Any, asset: str, model: type[Report]) -> Report:
    """The typed report `asset` attached in a run (its last materialization)."""
    found = None
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if (
            materialization.asset_key.to_user_string() == asset
            and REPORT_METADATA in materialization.metadata
        ):
            found = materialization.metadata[REPORT_METADATA].value
    if found is None:
        raise LoopStepFailed(f"{asset} recorded no `{REPORT_METADATA}` metadata in its run")
    try:
        return model.model_validate(found)
    except ValidationError as error:
        raise LoopStepFailed(
            f"{asset}'s report does not match {model.__name__}: {error.errors()[0]}"
        ) from error


def _wrapped(wrap: StepWrapper | None, task: str, description: str) -> AbstractContextManager[Any]:
    return wrap(task, description) if wrap else nullcontext()


def fly_night(
    home: ReverieHome,
    day: date,
    settings: LoopSettings,
    *,
    heldout: bool = False,
    wrap: StepWrapper | None = None,
) -> FlightReport:
    """Fly the mission's batch for `day` with its playbook in force, then ingest and score the new logs
    (`heldout`: the day's held-out draws with no exploration, which dreams never learn from).

    One run of `fly_job` (it was three: the batch, staging and the lake jobs): each run costs its own run
    record and snapshot, event-log database, log-capture processes and run events, about 0.8 CPU seconds
    for the two runs saved here (benchmarks/startup.py).
    """
    with _wrapped(wrap, "fly", f"flying {settings.missions} {settings.mission} missions on {day}"):
        flown = _execute(home, "fly_job", partition_key=day.isoformat(),
                         run_config=fly_run_config(home, day, settings, heldout=heldout),
                         tags=mission_tags(settings))  # fmt: skip
    report = report_of(flown, "mission_batch", FlightReport)
    return report


def dream_night(home: ReverieHome, day: date, settings: LoopSettings) -> DreamReport:
    """Dream the mission's candidate version for `day` from its window of sessions."""
    result = _execute(home, "dream_job", partition_key=day.isoformat(),
                      run_config={"ops": {"playbook": dream_op_config(settings)}}, tags=mission_tags(settings))  # fmt: skip
    return report_of(result, "playbook", DreamReport)


def evaluate_night(home: ReverieHome, day: date, settings: LoopSettings) -> EvaluationReport:
    """Evaluate the night's candidate on the mission's held-out suite and apply the promotion policy."""
    result = _execute(home, "evaluate_job", partition_key=day.isoformat(),
                      run_config={"ops": {"playbook_evaluation": evaluation_op_config(settings)}},
                      tags=mission_tags(settings))  # fmt: skip
    return report_of(result, "playbook_evaluation", EvaluationReport)


def dream_and_evaluate_night(
    home: ReverieHome, day: date, settings: LoopSettings
) -> tuple[DreamReport, EvaluationReport]:
    """Dream then evaluate in one run (`nightly_dream_job`, what the nightly schedule submits)."""
    result = _execute(home, "nightly_dream_job", partition_key=day.isoformat(),
                      run_config=nightly_run_config(settings), tags=mission_tags(settings))  # fmt: skip
    return report_of(result, "playbook", DreamReport), report_of(
        result, "playbook_evaluation", EvaluationReport
    )


def night(
    home: ReverieHome, day: date, settings: LoopSettings, *, number: int = 1, wrap: StepWrapper | None = None
) -> NightReport:
    """A whole night: fly, ingest, score, dream, evaluate, promote."""
    flight = fly_night(home, day, settings, wrap=wrap)
    dreamed, evaluated = dream_and_evaluate_night(home, day, settings)
    return NightReport(
        night=number, mission=settings.mission, flight=flight, dream=dreamed, evaluation=evaluated
    )


def nights(
    home: ReverieHome,
    first: date,
    count: int,
    settings: LoopSettings,
    *,
    wrap: StepWrapper | None = None,
    on_night: Callable[[NightReport], None] | None = None,
) -> LoopReport:
    """`count` nights from `first`, in order (each night flies with what the previous one promoted)."""
    from pipeline.missions.registry import mission

    reference = mission(settings.mission).reference_name  # fails before any run for a missing mission
    reports = []
    for number, day in enumerate(_days(first, count), start=1):
        reports.append(night(home, day, settings, number=number, wrap=wrap))
        if on_night:
            on_night(reports[-1])
    return LoopReport(mission=settings.mission, reference_name=reference, settings=settings, nights=reports)


def backfill(
    home: ReverieHome,
    first: date,
    last: date,
    settings: LoopSettings,
    *,
    on_night: Callable[[NightReport], None] | None = None,
) -> list[NightReport]:
    """Rebuild the lake partitions of the range from staged logs, then dream and evaluate each night in order
    (no flights: a backfill replays the experience that was recorded)."""
    _execute(home, "lake_job", partition_range=(first.isoformat(), last.isoformat()))
    reports = []
    for number, day in enumerate(_days(first, (last - first).days + 1), start=1):
        dreamed, evaluated = dream_and_evaluate_night(home, day, settings)
        reports.append(
            NightReport(
                night=number, mission=settings.mission, flight=None, dream=dreamed, evaluation=evaluated
            )
        )
        if on_night:
            on_night(reports[-1])
    return reports


def _days(first: date, count: int) -> Iterator[date]:
    return (first + timedelta(days=offset) for offset in range(count))
