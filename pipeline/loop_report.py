"""The one-page evidence of the closed loop: a table, a JSON report and a plot of success by night."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from pipeline.home import ReverieHome
from pipeline.playbooks.render import render_markdown
from pipeline.playbooks.store import PlaybookStore


@dataclass
class NightRow:
    night: int
    date: str
    playbook_version: str | None  # in force after the night's promotion decision
    candidate_version: str | None
    decision: str | None
    entries: int | None
    train_success: float
    heldout_success: float
    reference_success: float
    naive_heldout_success: float | None = None
    p_value: float | None = None
    candidate_success: float | None = None  # the night's candidate on the same held-out seeds


def render_table(rows: list[NightRow]) -> Table:
    table = Table(
        "night", "date", "in force", "entries", "training", "candidate", "decision", "held-out", "reference",
        title="Reverie closed loop: success by night (held-out and reference on the same seeds)",
        title_justify="left",
    )
    if rows and rows[0].naive_heldout_success is not None:
        table.add_row("0", "-", "none (naive)", "0", "-", "-", "-", f"{rows[0].naive_heldout_success:.1%}",
                      f"{rows[0].reference_success:.1%}")
    for r in rows:
        candidate = f"{r.candidate_success:.1%}" if r.candidate_success is not None else "-"
        table.add_row(
            str(r.night), r.date, r.playbook_version or "none", str(r.entries or 0), f"{r.train_success:.1%}",
            candidate, r.decision or "-", f"{r.heldout_success:.1%}", f"{r.reference_success:.1%}",
        )
    return table


def _plot(rows: list[NightRow], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nights = [r.night for r in rows]
    heldout = [r.heldout_success for r in rows]
    train = [r.train_success for r in rows]
    reference = [r.reference_success for r in rows]
    if rows and rows[0].naive_heldout_success is not None:
        nights, heldout = [0, *nights], [rows[0].naive_heldout_success, *heldout]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.plot(nights, [100 * v for v in heldout], marker="o", label="held-out (playbook in force)")
    candidates = [(r.night, r.candidate_success) for r in rows if r.candidate_success is not None]
    ax.plot([n for n, _ in candidates], [100 * v for _, v in candidates], marker="^", linestyle="-.",
            alpha=0.6, label="night's candidate (held-out)")
    ax.plot([r.night for r in rows], [100 * v for v in train], marker="s", linestyle="--", label="training flights")
    ax.plot([r.night for r in rows], [100 * v for v in reference], color="grey", linestyle=":",
            label="gymnasium reference heuristic")
    ax.axhline(85, color="green", linewidth=0.8, alpha=0.5)
    ax.set_xlabel("night")
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks(nights)
    ax.set_title("Lunar landing success by night")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_reports(home: ReverieHome, rows: list[NightRow], report_json: Path | None = None) -> dict[str, Path | None]:
    """Write reports/loop.json, reports/success_by_night.png and reports/PLAYBOOK.md (the playbook in force at the
    end, rendered with its review state: the copy inside the version folder is frozen as the dreamer wrote it,
    when every entry was still a candidate); return their paths."""
    reports = home.reports
    reports.mkdir(parents=True, exist_ok=True)
    store = PlaybookStore(home)
    final_version = next((r.playbook_version for r in reversed(rows) if r.playbook_version), None)
    playbook_md = None
    if final_version in store.versions():  # not when nothing was ever promoted ("none (naive team)")
        playbook_md = reports / "PLAYBOOK.md"
        playbook_md.write_text(render_markdown(store.load(final_version)))
    payload = {
        "nights": [
            {
                "night": r.night,
                "date": r.date,
                "playbook_version": r.playbook_version,
                "candidate_version": r.candidate_version,
                "decision": r.decision,
                "entries": r.entries,
                "train_success": r.train_success,
                "heldout_success": r.heldout_success,
                "reference_success": r.reference_success,
                "candidate_success": r.candidate_success,
                "p_value": r.p_value,
            }
            for r in rows
        ],
        "naive_heldout_success": rows[0].naive_heldout_success if rows else None,
        "final_playbook": str(playbook_md) if playbook_md else None,
    }
    json_path = reports / "loop.json"
    json_path.write_text(json.dumps(payload, indent=2))
    if report_json:
        report_json.parent.mkdir(parents=True, exist_ok=True)
        report_json.write_text(json.dumps(payload, indent=2))
    plot = _plot(rows, reports / "success_by_night.png")
    return {"json": report_json or json_path, "plot": plot, "playbook": playbook_md}
