"""Held-out evaluation and gated promotion of candidate playbooks.

A mission's candidate and its playbook in force fly the same held-out seeds with no exploration, next to
the mission's reference arm (gymnasium's heuristic for lunar, an oracle crew for coding); a paired
(McNemar) test decides. Pairing matters: the same seed is easy or hard for both arms, so the test sees only
the missions where the arms disagree, and a few hundred flights are enough to separate a real improvement
from luck. The report models live in `pipeline/loop_report.py` with the loop's other reports.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from pipeline import lake
from pipeline.dreaming.statistics import wilson_interval
from pipeline.evaluation_cache import ArmOutcomes, cached_arm
from pipeline.home import ReverieHome
from pipeline.lazy import deferred
from pipeline.loop_report import ArmResult, EvaluationReport, PromotionPolicy
from pipeline.missions.base import Mission
from pipeline.missions.lunar.suite import EVALUATION_MISSIONS
from pipeline.missions.registry import DEFAULT_MISSION
from pipeline.missions.registry import mission as mission_named
from pipeline.playbooks.model import EntryStatus, Playbook, playbook_identity
from pipeline.playbooks.store import PlaybookStore, line_root, version_for
from pipeline.progress import progress_for

binomtest = deferred("scipy.stats", "binomtest")  # scipy loads when an evaluation decides, not at import


def as_promoted(candidate: Playbook, store: PlaybookStore) -> Playbook:
    """The playbook agents would follow if this candidate were approved: the entries the store would approve."""
    entries = [
        e.model_copy(update={"status": EntryStatus.APPROVED}) if store.approvable(e) else e
        for e in candidate.entries
    ]
    return candidate.model_copy(update={"entries": entries, "status": "approved"})


def _rule_keys(book: Playbook | None) -> set[str]:
    if book is None:
        return set()
    return {e.model_dump_json(include={"agent", "section", "rule"}) for e in book.active_entries()}


def _arm(name: str, version: str | None, outcomes: list[bool]) -> ArmResult:
    k, n = sum(outcomes), len(outcomes)
    low, high = wilson_interval(k, n)
    return ArmResult(
        name=name, version=version, successes=k, n=n, rate=k / n if n else 0.0, ci_low=low, ci_high=high
    )


def evaluate_candidate(
    home: ReverieHome,
    day: date,
    *,
    mission: Mission | str = DEFAULT_MISSION,
    n_missions: int = EVALUATION_MISSIONS,
    policy: PromotionPolicy = "auto",
    alpha: float = 0.05,
    margin: float = 0.02,
    workers: int = 2,
) -> EvaluationReport:
    """Fly a mission's candidate vs its in-force version vs its reference on its held-out suite, decide, and
    record everything. Only the `Mission` contract is used, so every mission is evaluated the same way."""
    flown_mission = mission_named(mission) if isinstance(mission, str) else mission
    name = flown_mission.name
    store = PlaybookStore(home, mission=name)
    version = version_for(day)
    candidate = store.load(version) if version in store.versions() else None
    if candidate is None:
        raise LookupError(
            f"no {name} playbook version was dreamed for {day}; run `reverie dream --mission {name} --date {day}` first"
        )
    in_force = store.in_force(day)
    seeds = flown_mission.heldout_seeds(n_missions)
    promoted = as_promoted(candidate, store)

    def fly_playbook(playbook: Playbook | None) -> ArmOutcomes:
        flown = flown_mission.fly_batch(
            home, day, len(seeds), heldout=True, playbook=playbook, exploration=0.0, workers=workers,
            write_logs=False, seeds=seeds, progress=progress_for("evaluate"),
        )  # fmt: skip
        return ArmOutcomes(
            tuple(seeds),
            tuple(r.success for r in flown.results),
            tuple(r.failure_mode for r in flown.results),
        )

    # An arm whose mission, identity, seeds and mission code are unchanged is read back, not flown again.
    arms = {
        "candidate": cached_arm(
            home, playbook_identity(promoted), seeds, lambda: fly_playbook(promoted), mission=name
        ),
        "in_force": cached_arm(
            home, playbook_identity(in_force), seeds, lambda: fly_playbook(in_force), mission=name
        ),
        "reference": cached_arm(
            home, "reference", seeds, lambda: flown_mission.fly_reference(seeds), mission=name
        ),
    }
    cand_ok, base_ok, ref_ok = (
        list(arms[name][0].success) for name in ("candidate", "in_force", "reference")
    )
    better = sum(c and not b for c, b in zip(cand_ok, base_ok, strict=True))
    worse = sum(b and not c for c, b in zip(cand_ok, base_ok, strict=True))
    p_value = binomtest(better, better + worse, 0.5, alternative="greater").pvalue if better + worse else 1.0
    cand_arm = _arm("candidate", candidate.version, cand_ok)
    base_arm = _arm("in_force", in_force.version if in_force else None, base_ok)
    prunes_only = _rule_keys(promoted) <= _rule_keys(in_force)
    unchanged = _rule_keys(promoted) == _rule_keys(in_force)

    if unchanged:
        decision, reason = "no_change", "the candidate's active entries equal the playbook in force"
    elif cand_arm.rate > base_arm.rate and p_value < alpha:
        decision, reason = (
            "promoted",
            f"better on held-out seeds ({better} won vs {worse} lost, p={p_value:.3g})",
        )
    elif prunes_only and cand_arm.rate >= base_arm.rate - margin:
        decision, reason = (
            "promoted",
            f"only prunes entries and is not worse than {margin:.0%} ({cand_arm.rate:.1%} vs {base_arm.rate:.1%})",
        )
    else:
        decision, reason = (
            "kept",
            (
                f"not better with p<{alpha} ({cand_arm.rate:.1%} vs {base_arm.rate:.1%}, "
                f"{better} won vs {worse} lost, p={p_value:.3g}): the playbook in force stays"
            ),
        )
    if decision == "promoted" and policy == "manual":
        decision, reason = (
            "awaiting_approval",
            reason + "; policy is manual: approve with `reverie playbook approve`",
        )
    if decision == "promoted":
        store.approve(candidate.version, by="auto-promotion", reason=reason)

    report = EvaluationReport(
        mission=name,
        day=day.isoformat(),
        candidate_version=candidate.version,
        in_force_version=in_force.version if in_force else None,
        seeds=seeds,
        candidate=cand_arm,
        in_force=base_arm,
        reference=_arm("reference", flown_mission.reference_name, ref_ok),
        discordant_better=better,
        discordant_worse=worse,
        p_value=float(p_value),
        prunes_only=prunes_only,
        policy=policy,
        decision=decision,
        reason=reason,
        failure_modes={name: outcomes.failure_modes for name, (outcomes, _) in arms.items()},
        cached_arms=[name for name, (_, cached) in arms.items() if cached],
    )
    _record(home, day, report)
    return report


def report_path(home: ReverieHome, mission: str, day: date) -> Path:
    """`reports/evaluations/<day>.json` for lunar (where it always was), `.../<mission>/<day>.json` otherwise."""
    folder = line_root(home, mission).relative_to(home.playbooks)
    return home.reports / "evaluations" / folder / f"{day.isoformat()}.json"


def _record(home: ReverieHome, day: date, report: EvaluationReport) -> None:
    """Keep every evaluation queryable (the mission's rows of the `evaluations` table) and readable (JSON
    under reports/)."""
    rows = [
        {
            "day": day,
            "arm": arm.name,
            "version": arm.version,
            "successes": arm.successes,
            "n": arm.n,
            "rate": arm.rate,
            "ci_low": arm.ci_low,
            "ci_high": arm.ci_high,
            "p_value": report.p_value,
            "decision": report.decision,
            "reason": report.reason,
            "date": day,
        }
        for arm in (report.candidate, report.in_force, report.reference)
    ]
    lake.replace_mission_rows(home, "evaluations", day, report.mission, pl.DataFrame(rows))
    out = report_path(home, report.mission, day)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.to_json())
