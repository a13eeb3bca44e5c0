"""One night's dream: a deterministic function of (lake contents in the window, previous version).

Both dreamers propose delta operations; this module applies them to the previous version, carries counters,
and stamps the new candidate version with ids and times derived from the partition date only, so a backfill
over history writes byte-for-byte the versions the nightly runs wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal

from pipeline.dreaming.curation import DeltaOp, apply_ops
from pipeline.dreaming.findings import Finding
from pipeline.dreaming.safety import screen_findings
from pipeline.dreaming.settings import DreamSettings
from pipeline.dreaming.statistical import cited_counters, is_significant, mine_window, propose_ops
from pipeline.dreaming.window import DreamWindow, load_window
from pipeline.home import ReverieHome
from pipeline.playbooks.model import Playbook
from pipeline.playbooks.store import PlaybookStore, version_for

Backend = Literal["offline", "claude"]


@dataclass
class DreamStats:
    sessions_reviewed: int = 0
    patterns_tested: int = 0
    patterns_found: int = 0
    added: int = 0
    updated: int = 0
    merged: int = 0
    retired: int = 0
    llm_calls: int = 0
    dropped_ops: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class DreamResult:
    playbook: Playbook
    ops: list[DeltaOp]
    stats: DreamStats
    findings: list[Finding]
    path: Path | None = None


_STAT_FOR_OP = {"add": "added", "update": "updated", "merge": "merged", "retire": "retired"}


def _counted(ops: list[DeltaOp], stats: DreamStats) -> DreamStats:
    """Entries added, updated, merged and retired (an entry both dreamers retire counts once)."""
    for op in {(op.op, op.entry_id): op for op in ops}.values():
        field_name = _STAT_FOR_OP[op.op]
        setattr(stats, field_name, getattr(stats, field_name) + 1)
    return stats


def dream(
    home: ReverieHome,
    day: date,
    *,
    window_days: int = 7,
    backend: Backend = "offline",
    settings: DreamSettings | None = None,
    llm_settings: Any = None,
    write: bool = True,
) -> DreamResult:
    """Review the sessions of `[day - window_days + 1, day]` and write candidate version `pb-<day>`.

    The parent is the latest version dreamed before `day` (whatever its review status), so a night
    whose candidate was not promoted still passes its counters and history on. `backend="claude"` adds the
    Claude reflector/curator's verified operations to the statistical ones (`llm_settings`: LLMSettings).
    Held-out sessions (context.heldout) are never learned from. With `write`, the version is stored
    (idempotent) and the `playbook_entries` lake partition refreshed.
    """
    settings = settings or DreamSettings()
    store = PlaybookStore(home, min_support=settings.min_support)
    previous = store.latest(before=day)
    if previous is not None:
        previous = store.load(previous.version, with_reviews=False)
    version = version_for(day)
    window = load_window(home, day, window_days)
    mined = mine_window(window, settings)
    findings, screened = screen_findings(mined)
    ops = propose_ops(previous, findings, window, day, version, settings)
    stats = DreamStats(
        sessions_reviewed=window.n_sessions,
        patterns_tested=sum("strategy" not in f.tags for f in mined),
        patterns_found=sum(is_significant(f, settings) for f in findings),
    )
    # Reported when it would otherwise have become an entry; the pattern key holds only cleaned values.
    stats.extra["screened"] = [
        {"pattern": f.key, "kind": f.kind, "reason": reason}
        for f, reason in screened
        if is_significant(f, settings) or "strategy" in f.tags
    ]
    dreamer = "statistical"
    if backend == "claude":
        from pipeline.dreaming.claude import claude_ops

        extra, claude_stats = claude_ops(
            window, findings, previous, version, settings, llm_settings, tonight=ops
        )
        ops += extra
        stats.llm_calls, stats.dropped_ops = claude_stats.calls, claude_stats.dropped
        stats.extra["claude"] = claude_stats.as_dict()
        dreamer = "statistical+claude"
    template = Playbook(
        version=version,
        parent=previous.version if previous else None,
        created_at=datetime.combine(day, time.max, tzinfo=UTC),
        partition=day.isoformat(),
        dreamer=dreamer,
        window=window.days,
        n_sessions_reviewed=window.n_sessions,
        notes=_notes(window, stats),
    )
    playbook = _carry_counters(apply_ops(previous, ops, template), window, previous)
    result = DreamResult(playbook=playbook, ops=ops, stats=_counted(ops, stats), findings=findings)
    if write:
        result.path = store.write(playbook)
        store.write_entries_table(version)
    return result


def _notes(window: DreamWindow, stats: DreamStats) -> list[str]:
    # Nothing ingested or nothing scored: say so, rather than report 0 of 0 patterns as if it were a finding.
    if window.n_sessions == 0:
        return [
            f"No scored session in {window.days[0]}..{window.days[-1]}: nothing new was learned and the "
            "parent's entries carry on (ingest logs and run `reverie score` first)."
        ]
    notes = [
        f"{stats.patterns_found} of {stats.patterns_tested} tested patterns passed support, FDR and effect "
        f"thresholds over {window.n_sessions} sessions ({window.days[0]}..{window.days[-1]})."
    ]
    reasons: dict[str, int] = {}
    for record in stats.extra.get("screened", []):
        reasons[record["reason"]] = reasons.get(record["reason"], 0) + 1
    notes += [f"{count} pattern(s) dropped by the {reason}." for reason, count in sorted(reasons.items())]
    if "claude" in stats.extra:
        claude = stats.extra["claude"]
        notes.append(
            f"Claude proposed {claude['proposed']} operation(s); {claude['dropped']} failed verification against "
            "the lake and were dropped (reasons in the dream's metadata)."
        )
    return notes


def _carry_counters(playbook: Playbook, window: DreamWindow, previous: Playbook | None) -> Playbook:
    """Add the helpful/harmful counts of sessions newer than the parent to the carried counters."""
    counts = cited_counters(window, previous.partition if previous else None)
    entries = [
        e.model_copy(update={"helpful": e.helpful + counts[e.id][0], "harmful": e.harmful + counts[e.id][1]})
        if e.id in counts
        else e
        for e in playbook.entries
    ]
    return playbook.model_copy(update={"entries": entries})
