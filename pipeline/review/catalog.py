"""What the review page shows, read from the playbook store and the lake (no web code here).

Every figure comes from the same place the CLI and the SQL views read: versions and the decision log from
`PlaybookStore`, promotion decisions from the `evaluations` table, success from `sessions` joined with the
`session_outcomes` view. Nothing is cached, so a page always shows the state another reviewer just wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.playbooks.model import Entry, EntryStatus, Playbook, Section
from pipeline.playbooks.render import SECTION_TITLES
from pipeline.playbooks.store import PlaybookStore, ReviewState


@dataclass
class VersionRow:
    version: str
    parent: str | None
    partition: str | None
    dreamer: str
    sessions_reviewed: int
    live: int
    retired: int
    approved: int
    rejected: int
    status: str
    in_force: bool
    decision: str | None = None
    decision_reason: str | None = None
    candidate_rate: float | None = None
    in_force_rate: float | None = None
    p_value: float | None = None


@dataclass
class HistoryStep:
    """One version an entry appears in, with what it said there."""

    version: str
    status: str
    support: int
    text: str
    effect: str


@dataclass
class EntryView:
    entry: Entry
    approvable: bool
    history: list[HistoryStep] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SectionGroup:
    agent: str
    section: Section
    title: str
    entries: list[Entry]
    scope: str = "anywhere"


def evaluations_by_day(home: ReverieHome, mission: str = "lunar") -> dict[str, dict[str, dict[str, Any]]]:
    """{day: {arm: row}} of one mission from the `evaluations` table (empty when nothing was evaluated); rows
    from before the table had a mission column are lunar's."""
    frame = lake.read_table(home, "evaluations")
    if "mission" in frame.columns:
        frame = frame.filter(pl.col("mission").fill_null("lunar") == mission)
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for row in frame.iter_rows(named=True):
        found.setdefault(row["day"].isoformat(), {})[row["arm"]] = row
    return found


def version_rows(store: PlaybookStore) -> list[VersionRow]:
    """Every version, newest first, with its review counts and the night's promotion decision."""
    reviews = store.reviews()
    in_force = store.in_force(datetime.now(UTC).date() + timedelta(days=1))
    evaluations = evaluations_by_day(store.home, store.mission)
    rows = []
    for version in reversed(store.versions()):
        book = store.load(version)
        review = reviews.get(version, ReviewState())
        arms = evaluations.get(book.partition or "", {})
        candidate, base = arms.get("candidate"), arms.get("in_force")
        rows.append(
            VersionRow(
                version=version,
                parent=book.parent,
                partition=book.partition,
                dreamer=book.dreamer,
                sessions_reviewed=book.n_sessions_reviewed,
                live=sum(e.status != EntryStatus.RETIRED for e in book.entries),
                retired=sum(e.status == EntryStatus.RETIRED for e in book.entries),
                approved=len(review.approved),
                rejected=len(review.rejected),
                status=book.status,
                in_force=in_force is not None and in_force.version == version,
                decision=candidate["decision"] if candidate else None,
                decision_reason=candidate["reason"] if candidate else None,
                candidate_rate=candidate["rate"] if candidate else None,
                in_force_rate=base["rate"] if base else None,
                p_value=candidate["p_value"] if candidate else None,
            )
        )
    return rows


def entry_statuses(store: PlaybookStore, book: Playbook) -> dict[str, str]:
    """Status as a reviewer means it: the entry model knows candidate/approved/retired, the log also rejected."""
    rejected = store.reviews().get(book.version, ReviewState()).rejected
    return {
        e.id: "rejected" if e.id in rejected and e.status != EntryStatus.APPROVED else str(e.status)
        for e in book.entries
    }


def entry_scopes(home: ReverieHome, book: Playbook) -> dict[str, str]:
    """Where each entry's evidence comes from: `in <project>` when every cited session the lake places in a
    project shares one, else `anywhere` (also when the lake records no projects)."""
    cited = sorted({s for e in book.entries for s in e.evidence})
    projects: dict[str, str] = {}
    con = lake.connect(home)
    try:
        columns = {row[0] for row in con.execute("DESCRIBE sessions").fetchall()}
        if cited and "project" in columns:
            con.execute("CREATE TEMP TABLE cited(session_id VARCHAR)")
            con.executemany("INSERT INTO cited VALUES (?)", [(s,) for s in cited])
            query = (
                "SELECT session_id, any_value(project) FROM sessions JOIN cited USING (session_id) GROUP BY 1"
            )
            projects = {sid: project for sid, project in con.execute(query).fetchall() if project}
    finally:
        con.close()
    scopes = {}
    for entry in book.entries:
        found = {projects[s] for s in entry.evidence if s in projects}
        scopes[entry.id] = f"in {found.pop()}" if len(found) == 1 else "anywhere"
    return scopes


def grouped_entries(book: Playbook, scopes: dict[str, str] | None = None) -> list[SectionGroup]:
    """Live entries by scope, agent, then section (the PLAYBOOK.md order); retired ones last, on their own."""
    scopes = scopes or {}
    groups: dict[tuple[str, str, Section], list[Entry]] = {}
    order = list(Section)
    live = [e for e in book.entries if e.status != EntryStatus.RETIRED]
    for entry in sorted(
        live,
        key=lambda e: (
            scopes.get(e.id) != "anywhere",
            scopes.get(e.id, ""),
            e.agent,
            order.index(e.section),
            e.id,
        ),
    ):
        groups.setdefault((scopes.get(entry.id, "anywhere"), entry.agent, entry.section), []).append(entry)
    result = [
        SectionGroup(agent, section, SECTION_TITLES[section], entries, scope)
        for (scope, agent, section), entries in groups.items()
    ]
    retired = sorted((e for e in book.entries if e.status == EntryStatus.RETIRED), key=lambda e: e.id)
    if retired:
        result.append(SectionGroup("retired", Section.RULES, "Retired", retired, ""))
    return result


def effect_summary(entry: Entry) -> str:
    if entry.effect is None:
        return f"support {entry.support} sessions"
    e = entry.effect
    q = f", q={e.p_value:.3g}" if e.p_value is not None else ""
    return (
        f"success {e.rate_with:.0%} with (n={e.n_with}) vs {e.rate_without:.0%} without (n={e.n_without}); "
        f"diff {e.diff:+.0%}, 95% CI {e.ci_low:+.0%}..{e.ci_high:+.0%}{q}"
    )


def entry_view(store: PlaybookStore, version: str, entry_id: str) -> EntryView | None:
    """An entry with its history across versions and every logged decision that names it."""
    book = store.load(version)
    entry = next((e for e in book.entries if e.id == entry_id), None)
    if entry is None:
        return None
    history = []
    for other in store.versions():
        found = next((e for e in store.load(other).entries if e.id == entry_id), None)
        if found is not None:
            history.append(
                HistoryStep(other, str(found.status), found.support, found.text, effect_summary(found))
            )
    decisions = [
        d
        for d in store.decisions()
        if d["version"] == version and (entry_id in d["entries"] or d["action"] == "rollback")
    ]
    return EntryView(entry=entry, approvable=store.approvable(entry), history=history, decisions=decisions)


def session_summaries(home: ReverieHome, session_ids: list[str]) -> list[dict[str, Any]]:
    """One row per cited session: date, task, final status, success and score (absent ones flagged)."""
    if not session_ids:
        return []
    con = lake.connect(home)
    try:
        con.execute("CREATE TEMP TABLE cited(session_id VARCHAR, position INTEGER)")
        con.executemany("INSERT INTO cited VALUES (?, ?)", [(s, i) for i, s in enumerate(session_ids)])
        rows = con.execute(
            """
            SELECT c.session_id, s.date, s.task, s.final_status, s.n_events, s.n_errors, o.success, o.score,
                   s.session_id IS NOT NULL AS in_lake
            FROM cited c
            LEFT JOIN (SELECT * FROM sessions QUALIFY row_number() OVER (PARTITION BY session_id) = 1) s
                USING (session_id)
            LEFT JOIN session_outcomes o USING (session_id)
            ORDER BY c.position
            """
        ).fetchall()
    finally:
        con.close()
    names = [
        "session_id",
        "date",
        "task",
        "final_status",
        "n_events",
        "n_errors",
        "success",
        "score",
        "in_lake",
    ]
    return [dict(zip(names, row, strict=True)) for row in rows]


def success_by_night(home: ReverieHome) -> dict[str, Any]:
    """Success by night for each mission (task) from the lake, and the held-out evaluation arms by night."""
    con = lake.connect(home)
    try:
        sessions = con.execute(
            """
            SELECT s.task, s.date, count(*) AS n, count(*) FILTER (WHERE o.success) AS successes,
                   count(*) FILTER (WHERE o.success IS NULL) AS unscored
            FROM sessions s LEFT JOIN session_outcomes o USING (session_id)
            GROUP BY s.task, s.date ORDER BY s.task, s.date
            """
        ).fetchall()
    finally:
        con.close()
    missions: dict[str, list[dict[str, Any]]] = {}
    for task, day, n, successes, unscored in sessions:
        scored = n - unscored
        missions.setdefault(task or "(no task)", []).append(
            {
                "date": day.isoformat(),
                "n": n,
                "successes": successes,
                "unscored": unscored,
                "rate": successes / scored if scored else None,
            }
        )
    evaluations = [
        {"day": day, **{arm: arms.get(arm) for arm in ("candidate", "in_force", "reference")}}
        for day, arms in sorted(evaluations_by_day(home).items())
    ]
    loop = home.reports / "loop.json"
    report = json.loads(loop.read_text()) if loop.is_file() else None
    return {"missions": missions, "evaluations": evaluations, "loop": report}
