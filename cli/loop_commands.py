"""Commands of the learning loop: fly missions, dream, evaluate, backfill, and the whole demo."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import typer

from cli.common import console, fail, home, materialization_metadata, print_kv, progress_bar, run
from pipeline.llm.client import LLMSettings
from pipeline.missions.lunar.suite import EVALUATION_MISSIONS


def _day(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {value!r}")


def fly_day(day: date, missions: int, backend: str = "offline", heldout: bool = False) -> dict:
    """Fly a batch, ingest its logs and score them: one partition's worth of new experience."""
    config = {"missions": missions, "backend": backend, "heldout": heldout}
    with progress_bar("fly", f"flying {missions} missions on {day}"):
        flown = run("mission_batch_job", partition_key=day.isoformat(),
                    run_config={"ops": {"mission_batch": {"config": config}}})
    landing = str(home().landing / day.isoformat())
    with progress_bar("ingest", f"ingesting the logs of {day}"):
        run("ingest_job", run_config={"ops": {"staged_logs": {"config": {"paths": [landing]}}}})
    run("lake_job", partition_key=day.isoformat())
    return materialization_metadata(flown, "mission_batch")


def fly(
    date_: str = typer.Option(None, "--date", help="Partition day (default: today, UTC)."),
    missions: int = typer.Option(200, "--missions", min=1),
    backend: str = typer.Option("offline", "--backend", help="offline | claude"),
    heldout: bool = typer.Option(False, "--heldout", help="Fly held-out seeds with no exploration."),
) -> None:
    """Fly a batch of lunar missions with the playbook in force, then ingest and score it."""
    if backend not in ("offline", "claude"):
        fail("--backend must be offline or claude")
    if backend == "claude" and not LLMSettings.from_env().available:
        fail("the claude backend needs ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for a proxy)")
    day = _day(date_)
    stats = fly_day(day, missions, backend, heldout)
    print_kv(
        f"missions {day}",
        {
            "missions": stats.get("missions"),
            "success rate": f"{stats.get('success_rate', 0):.1%}",
            "playbook": stats.get("playbook_version"),
            "failure modes": ", ".join(f"{k}={v}" for k, v in (stats.get("failure_modes") or {}).items()),
            "logs": stats.get("logs"),
        },
    )


def dream(
    date_: str = typer.Option(None, "--date", help="The night to dream (default: today, UTC)."),
    backend: str = typer.Option("offline", "--backend", help="offline (statistical) | claude"),
    window_days: int = typer.Option(7, "--window-days", min=1),
) -> None:
    """Review the window of sessions up to DATE and write a new candidate playbook version."""
    day = _day(date_)
    result = run("dream_job", partition_key=day.isoformat(),
                 run_config={"ops": {"playbook": {"config": {"backend": backend, "window_days": window_days}}}})
    stats = materialization_metadata(result, "playbook")
    print_kv(f"dream {day}", {k: stats.get(k) for k in ("version", "parent", "sessions_reviewed", "entries", "ops", "path")})
    if "dropped_ops" in stats:
        _print_dropped(stats["dropped_ops"])


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


def evaluate(
    date_: str = typer.Option(None, "--date"),
    missions: int = typer.Option(EVALUATION_MISSIONS, "--missions", min=10),
    policy: str = typer.Option("auto", "--policy", help="auto | manual"),
) -> None:
    """Fly the night's candidate and the playbook in force on held-out seeds; promote under the policy."""
    day = _day(date_)
    with progress_bar("evaluate", f"evaluating the candidate of {day}"):
        result = run("evaluate_job", partition_key=day.isoformat(),
                     run_config={"ops": {"playbook_evaluation": {"config": {"missions": missions, "policy": policy}}}})
    stats = materialization_metadata(result, "playbook_evaluation")
    print_kv(f"evaluation {day}", stats)


def backfill(
    start: str = typer.Option(..., "--start"),
    end: str = typer.Option(..., "--end"),
    window_days: int = typer.Option(7, "--window-days", min=1),
    missions: int = typer.Option(EVALUATION_MISSIONS, "--eval-missions", min=10),
    policy: str = typer.Option("auto", "--policy"),
) -> None:
    """Rebuild lake partitions, then dream and evaluate each night of the range in order."""
    first, last = _day(start), _day(end)
    if last < first:
        fail("--end is before --start")
    run("lake_job", partition_range=(first.isoformat(), last.isoformat()))
    day = first
    while day <= last:
        run("nightly_dream_job", partition_key=day.isoformat(), run_config={"ops": {
            "playbook": {"config": {"window_days": window_days}},
            "playbook_evaluation": {"config": {"missions": missions, "policy": policy}},
        }})
        console.print(f"night {day}: dreamed and evaluated")
        day += timedelta(days=1)


def ui(port: int = typer.Option(3000, "--port")) -> None:
    """Open the Dagster UI on this REVERIE_HOME (the CLI's runs are there too)."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "REVERIE_HOME": str(home().root), "DAGSTER_HOME": str(home().dagster_home)}
    dagster = Path(sys.executable).with_name("dagster")
    console.print(f"Dagster UI on http://127.0.0.1:{port} (REVERIE_HOME={home().root})")
    raise typer.Exit(subprocess.call([str(dagster), "dev", "-w", str(root / "workspace.yaml"), "-p", str(port)], env=env, cwd=root))


def demo(
    nights: int = typer.Option(4, "--nights", min=1),
    missions: int = typer.Option(200, "--missions", min=10),
    eval_missions: int = typer.Option(EVALUATION_MISSIONS, "--eval-missions", min=10),
    report_json: Path = typer.Option(None, "--report-json"),
    start: str = typer.Option(None, "--start", help="First night (default: NIGHTS days before today)."),
) -> None:
    """The closed loop, offline: each night fly, ingest, score, dream, evaluate, promote; then report."""
    from pipeline.loop_report import NightRow, write_reports

    today = datetime.now(UTC).date()
    first = _day(start) if start else today - timedelta(days=nights)
    last = first + timedelta(days=nights - 1)
    if last > today:
        fail(f"the last night would be {last}, after today: nights are daily partitions, which run up to "
             f"today; use --start {today - timedelta(days=nights - 1)} or earlier")
    rows: list[NightRow] = []
    for n in range(nights):
        day = first + timedelta(days=n)
        console.rule(f"night {n + 1}/{nights}: {day}")
        flown = fly_day(day, missions)
        with progress_bar("evaluate", f"dreaming and evaluating {day}"):
            result = run("nightly_dream_job", partition_key=day.isoformat(), run_config={"ops": {
                "playbook_evaluation": {"config": {"missions": eval_missions, "policy": "auto"}},
            }})
        dreamed = materialization_metadata(result, "playbook")
        evaluated = materialization_metadata(result, "playbook_evaluation")
        promoted = evaluated.get("decision") == "promoted"
        row = NightRow(
            night=n + 1,
            date=day.isoformat(),
            playbook_version=dreamed.get("version") if promoted else evaluated.get("in_force"),
            candidate_version=dreamed.get("version"),
            decision=evaluated.get("decision"),
            entries=dreamed.get("entries"),
            train_success=flown.get("success_rate"),
            naive_heldout_success=evaluated.get("in_force_success") if n == 0 else None,
            heldout_success=evaluated.get("candidate_success") if promoted else evaluated.get("in_force_success"),
            reference_success=evaluated.get("reference_success"),
            p_value=evaluated.get("p_value"),
            candidate_success=evaluated.get("candidate_success"),
        )
        rows.append(row)
        console.print(f"training {row.train_success:.1%}  candidate {row.candidate_success:.1%}  -> {row.decision}; "
                      f"held-out in force {row.heldout_success:.1%}  reference {row.reference_success:.1%}")
    paths = write_reports(home(), rows, report_json)
    from pipeline.loop_report import render_table

    console.print(render_table(rows))
    console.print(f"plot: {paths['plot']}\nplaybook: {paths['playbook']}\nreport: {paths['json']}")
