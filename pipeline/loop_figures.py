"""The one-page evidence of the closed loop, per mission: a table, a JSON report and a plot of success by night."""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table

from pipeline.home import ReverieHome
from pipeline.loop_report import LoopReport
from pipeline.playbooks.render import render_markdown
from pipeline.playbooks.store import PlaybookStore, line_root


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def render_table(report: LoopReport) -> Table:
    table = Table(
        "night", "date", "in force", "entries", "training", "candidate", "decision", "held-out", "reference",
        title=f"Reverie closed loop, {report.mission} mission: success by night "
        f"(held-out and {report.reference_name} on the same held-out draws)",
        title_justify="left",
    )  # fmt: skip
    if report.nights and (naive := report.naive_heldout_success) is not None:
        reference = report.nights[0].evaluation.reference.rate
        table.add_row("0", "-", "none (naive)", "0", "-", "-", "-", _percent(naive), _percent(reference))
    for n in report.nights:
        evaluation = n.evaluation
        table.add_row(
            str(n.night), n.day, evaluation.version_in_force_after or "none", str(n.dream.entries),
            _percent(n.flight.success_rate if n.flight else None), _percent(evaluation.candidate.rate),
            evaluation.decision, _percent(evaluation.heldout_success_after), _percent(evaluation.reference.rate),
        )  # fmt: skip
    return table


# Per mission: the plot's title and the goal line it draws (None: none).
PLOT_STYLE: dict[str, tuple[str, float | None]] = {
    "lunar": ("Lunar landing success by night", 85.0),
    "coding": ("Coding task success by night", None),
}


def _plot(report: LoopReport, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report.nights
    title, goal = PLOT_STYLE.get(report.mission, (f"{report.mission} success by night", None))
    nights = [n.night for n in rows]
    heldout = [n.evaluation.heldout_success_after for n in rows]
    if (naive := report.naive_heldout_success) is not None:
        nights, heldout = [0, *nights], [naive, *heldout]
    trained = [(n.night, n.flight.success_rate) for n in rows if n.flight is not None]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.plot(nights, [100 * v for v in heldout], marker="o", label="held-out (playbook in force)")
    ax.plot([n.night for n in rows], [100 * n.evaluation.candidate.rate for n in rows], marker="^",
            linestyle="-.", alpha=0.6, label="night's candidate (held-out)")  # fmt: skip
    ax.plot([n for n, _ in trained], [100 * v for _, v in trained], marker="s", linestyle="--",
            label="training flights")  # fmt: skip
    ax.plot([n.night for n in rows], [100 * n.evaluation.reference.rate for n in rows], color="grey",
            linestyle=":", label=f"{report.reference_name} (reference)" if report.mission != "lunar"
            else "gymnasium reference heuristic")  # fmt: skip
    if goal is not None:
        ax.axhline(goal, color="green", linewidth=0.8, alpha=0.5)
    ax.set_xlabel("night")
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks(nights)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def reports_dir(home: ReverieHome, mission: str) -> Path:
    """`reports/` for lunar (where its figures always were), `reports/<mission>/` for another mission."""
    return home.reports / line_root(home, mission).relative_to(home.playbooks)


def write_reports(home: ReverieHome, report: LoopReport) -> dict[str, Path | None]:
    """Write the mission's loop.json, success_by_night.png and PLAYBOOK.md (the playbook in force at the end,
    rendered with its review state: the copy inside the version folder is frozen as the dreamer wrote it,
    when every entry was still a candidate); return their paths."""
    folder = reports_dir(home, report.mission)
    folder.mkdir(parents=True, exist_ok=True)
    store = PlaybookStore(home, mission=report.mission)
    final_version = next(
        (v for n in reversed(report.nights) if (v := n.evaluation.version_in_force_after)), None
    )
    playbook_md = None
    if final_version in store.versions():  # not when nothing was ever promoted ("none (naive team)")
        playbook_md = folder / "PLAYBOOK.md"
        playbook_md.write_text(render_markdown(store.load(final_version)))
    json_path = folder / "loop.json"
    json_path.write_text(json.dumps(report.payload(playbook_md), indent=2))
    plot = _plot(report, folder / "success_by_night.png")
    return {"json": json_path, "plot": plot, "playbook": playbook_md}


def write_report_json(reports: list[LoopReport], paths: list[dict[str, Path | None]], target: Path) -> Path:
    """`--report-json`: one mission's payload as is, or `{"missions": [payload, ...]}` for several."""
    payloads = [r.payload(p["playbook"]) for r, p in zip(reports, paths, strict=True)]
    target.parent.mkdir(parents=True, exist_ok=True)
    body = payloads[0] if len(payloads) == 1 else {"missions": payloads}
    target.write_text(json.dumps(body, indent=2))
    return target
