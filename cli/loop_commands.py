"""Commands of the learning loop: fly missions, dream, evaluate, backfill, and the whole demo.

Every command runs nights through the typed loop API (`assets/loop.py`) and prints the reports it returns.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from cli.common import console, fail, home, print_kv, progress_bar
from pipeline.missions.lunar.suite import EVALUATION_MISSIONS
from pipeline.missions.registry import DEFAULT_MISSION, mission_names

MISSION_HELP = f"Which mission: {' | '.join(mission_names())}."


def _day(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {value!r}")


def _settings(**fields: Any) -> Any:
    """One `LoopSettings` from the command's options; a bad value is a one-line error."""
    from pydantic import ValidationError

    from pipeline.loop_report import LoopSettings

    try:
        return LoopSettings(**fields)
    except ValidationError as error:
        problem = error.errors()[0]
        fail(f"--{str(problem['loc'][0]).replace('_', '-')}: {problem['msg']}")


def _mission_available(name: str) -> None:
    """A mission whose code is missing fails before any run starts, in one line."""
    from pipeline.missions.registry import UnknownMission, mission

    try:
        mission(name)
    except UnknownMission as error:
        fail(str(error))


@contextmanager
def _loop_errors() -> Iterator[None]:
    from assets.loop import LoopStepFailed

    try:
        yield
    except LoopStepFailed as error:
        fail(str(error))


def _end_process() -> None:
    """End the `reverie` process once a loop command has written its output, skipping the interpreter's
    teardown.

    A loop command has loaded Dagster, the code location, polars, pyarrow, DuckDB and Great Expectations (some
    4,000 modules); deallocating them all at exit took 1.4-1.9 s after `reverie fly` on the 2-core benchmark
    machine (benchmarks/startup.py), a fifth of the command's time, with nothing left to write. The atexit
    handlers still run (logging's flush, multiprocessing's cleanup) and both streams are flushed; every file
    the command wrote was closed by then (Parquet, DuckDB, Dagster's SQLite commits). Only when this
    process is the `reverie` script with no other non-daemon thread running: an in-process caller (a test's
    CliRunner) carries on normally.
    """
    main = sys.modules.get("__main__")
    if Path(getattr(main, "__file__", None) or "").name != "reverie":
        return
    if any(t.is_alive() and not t.daemon and t is not threading.main_thread() for t in threading.enumerate()):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()  # what a normal exit runs before the teardown skipped here
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def fly(
    date_: str = typer.Option(None, "--date", help="Partition day (default: today, UTC)."),
    mission: str = typer.Option(DEFAULT_MISSION, "--mission", help=MISSION_HELP),
    missions: int = typer.Option(200, "--missions", min=1),
    backend: str = typer.Option("offline", "--backend", help="offline | claude"),
    heldout: bool = typer.Option(False, "--heldout", help="Fly held-out draws with no exploration."),
) -> None:
    """Fly a batch of a mission with its playbook in force, then ingest and score it."""
    from assets.loop import fly_night
    from pipeline.llm.client import LLMSettings

    if backend not in ("offline", "claude"):
        fail("--backend must be offline or claude")
    if backend == "claude" and not LLMSettings.from_env().available:
        fail("the claude backend needs ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for a proxy)")
    settings = _settings(mission=mission, missions=missions, backend=backend)
    _mission_available(mission)
    day = _day(date_)
    with _loop_errors():
        report = fly_night(home(), day, settings, heldout=heldout, wrap=progress_bar)
    print_kv(
        f"{report.mission} missions {day}",
        {
            "missions": report.missions,
            "success rate": f"{report.success_rate:.1%}",
            "playbook": report.playbook_version or "none (naive team)",
            "failure modes": ", ".join(f"{k}={v}" for k, v in report.failure_modes.items()),
            "logs": report.logs,
        },
    )
    _end_process()


def dream(
    date_: str = typer.Option(None, "--date", help="The night to dream (default: today, UTC)."),
    mission: str = typer.Option(
        DEFAULT_MISSION, "--mission", help=MISSION_HELP + " coding learns from every non-lunar session."
    ),
    backend: str = typer.Option("offline", "--backend", help="offline (statistical) | claude"),
    window_days: int = typer.Option(7, "--window-days", min=1),
) -> None:
    """Review the window of a mission's sessions up to DATE and write a new candidate version of its playbook."""
    from assets.loop import dream_night

    if mission not in mission_names():
        fail(f"--mission must be one of {', '.join(mission_names())}, got {mission!r}")
    settings = _settings(mission=mission, dream_backend=backend, window_days=window_days)
    day = _day(date_)
    with _loop_errors():
        report = dream_night(home(), day, settings)
    print_kv(
        f"{report.mission} dream {day}",
        {"version": report.version, "parent": report.parent or "none", "sessions_reviewed": report.sessions_reviewed,
         "entries": report.entries, "ops": report.ops, "path": report.path},
    )  # fmt: skip
    if report.dropped_ops is not None:
        _print_dropped(report.dropped_ops)


def _print_dropped(dropped: list[dict[str, str]]) -> None:
    """Operations Claude proposed that failed verification, one line each with its reason (plain text, never
    markup: reasons quote values that came from sessions)."""
    from rich.text import Text

    if not dropped:
        console.print(Text("claude: every proposed operation passed verification"))
        return
    console.print(Text(f"claude: {len(dropped)} operation(s) dropped"))
    for op in dropped:
        console.print(Text(f"  {op.get('op')} {op.get('target')}: {op.get('reason')}"[:400]))


def _print_evaluation(report: Any) -> None:
    print_kv(
        f"{report.mission} evaluation {report.day}",
        {
            "decision": report.decision,
            "reason": report.reason,
            "candidate": f"{report.candidate_version}: {report.candidate.rate:.1%}",
            "in force": f"{report.in_force_version or 'none (naive team)'}: {report.in_force.rate:.1%}",
            "reference": f"{report.reference.version}: {report.reference.rate:.1%}",
            "p value": f"{report.p_value:.3g}",
            "held-out missions": len(report.seeds),
            "arms read from the cache": ", ".join(report.cached_arms) or "none",
        },
    )


def evaluate(
    date_: str = typer.Option(None, "--date"),
    mission: str = typer.Option(DEFAULT_MISSION, "--mission", help=MISSION_HELP),
    missions: int = typer.Option(EVALUATION_MISSIONS, "--missions", min=10),
    policy: str = typer.Option("auto", "--policy", help="auto | manual"),
) -> None:
    """Fly the night's candidate and the playbook in force on held-out draws; promote under the policy."""
    from assets.loop import evaluate_night

    settings = _settings(mission=mission, eval_missions=missions, policy=policy)
    _mission_available(mission)
    with _loop_errors():
        _print_evaluation(evaluate_night(home(), _day(date_), settings))


def backfill(
    start: str = typer.Option(..., "--start"),
    end: str = typer.Option(..., "--end"),
    mission: str = typer.Option(DEFAULT_MISSION, "--mission", help=MISSION_HELP),
    window_days: int = typer.Option(7, "--window-days", min=1),
    missions: int = typer.Option(EVALUATION_MISSIONS, "--eval-missions", min=10),
    policy: str = typer.Option("auto", "--policy"),
) -> None:
    """Rebuild lake partitions, then dream and evaluate each night of the range in order."""
    from assets.loop import backfill as backfill_nights

    first, last = _day(start), _day(end)
    if last < first:
        fail("--end is before --start")
    settings = _settings(mission=mission, window_days=window_days, eval_missions=missions, policy=policy)
    _mission_available(mission)

    def done(night: Any) -> None:
        console.print(f"night {night.day}: dreamed {night.dream.version}, {night.evaluation.decision}")

    with _loop_errors():
        backfill_nights(home(), first, last, settings, on_night=done)


def ui(port: int = typer.Option(3000, "--port")) -> None:
    """Open the Dagster UI on this REVERIE_HOME (the CLI's runs are there too, under their jobs).

    `dg dev` in the project root loads the code location `[tool.dg]` in pyproject.toml names."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "REVERIE_HOME": str(home().root), "DAGSTER_HOME": str(home().dagster_home)}
    env["VIRTUAL_ENV"] = sys.prefix  # dg warns when the active venv is not the project's; this one is
    dg = Path(sys.executable).with_name("dg")
    console.print(f"Dagster UI on http://127.0.0.1:{port} (REVERIE_HOME={home().root})")
    raise typer.Exit(subprocess.call([str(dg), "dev", "--port", str(port)], env=env, cwd=root))


def _demo_missions(choice: str) -> list[str]:
    """`all`: every mission whose code is present; a named mission must be present."""
    from pipeline.missions.registry import available_missions

    if choice == "all":
        return available_missions()
    if choice not in mission_names():
        fail(f"--mission must be one of {', '.join([*mission_names(), 'all'])}, got {choice!r}")
    _mission_available(choice)
    return [choice]


def demo(
    nights: int = typer.Option(4, "--nights", min=1),
    mission: str = typer.Option(
        "all", "--mission", help=f"{' | '.join([*mission_names(), 'all'])} (all: every mission present here)."
    ),
    missions: int = typer.Option(200, "--missions", min=10),
    eval_missions: int = typer.Option(EVALUATION_MISSIONS, "--eval-missions", min=10),
    report_json: Path = typer.Option(
        None, "--report-json", help='Also write the report here (several missions: {"missions": [...]}).'
    ),
    start: str = typer.Option(None, "--start", help="First night (default: NIGHTS days before today)."),
) -> None:
    """The closed loop, offline: each night fly, ingest, score, dream, evaluate, promote; then report."""
    from assets.loop import nights as run_nights
    from pipeline.loop_figures import render_table, write_report_json, write_reports

    today = datetime.now(UTC).date()
    first = _day(start) if start else today - timedelta(days=nights)
    last = first + timedelta(days=nights - 1)
    if last > today:
        fail(f"the last night would be {last}, after today: nights are daily partitions, which run up to "
             f"today; use --start {today - timedelta(days=nights - 1)} or earlier")  # fmt: skip
    chosen = _demo_missions(mission)
    reports, paths = [], []
    for name in chosen:
        settings = _settings(mission=name, missions=missions, eval_missions=eval_missions)

        def show(night: Any) -> None:
            flight, evaluation = night.flight, night.evaluation
            console.print(
                f"{night.mission} night {night.night}/{nights} ({night.day}): training {flight.success_rate:.1%}  "
                f"candidate {evaluation.candidate.rate:.1%} -> {evaluation.decision}; held-out in force "
                f"{evaluation.heldout_success_after:.1%}  reference {evaluation.reference.rate:.1%}"
            )

        console.rule(f"{name} mission: {nights} nights from {first}")
        with _loop_errors():
            report = run_nights(home(), first, nights, settings, wrap=progress_bar, on_night=show)
        reports.append(report)
        paths.append(write_reports(home(), report))
    for report, written in zip(reports, paths, strict=True):
        console.print(render_table(report))
        console.print(f"plot: {written['plot']}\nplaybook: {written['playbook']}\nreport: {written['json']}")
    if report_json:
        console.print(f"report: {write_report_json(reports, paths, report_json)}")
