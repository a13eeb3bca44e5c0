"""Held-out evaluation and gated promotion of candidate playbooks.

The candidate and the playbook in force fly the same held-out seeds with no exploration, next to
gymnasium's reference heuristic; a paired (McNemar) test decides. Pairing matters: the same seed is
easy or hard for both arms, so the test sees only the missions where the arms disagree, and a few hundred
flights are enough to separate a real improvement from luck.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Literal

import polars as pl

from pipeline import lake
from pipeline.dreaming.statistics import wilson_interval
from pipeline.evaluation_cache import ArmOutcomes, cached_arm, playbook_identity
from pipeline.home import ReverieHome
from pipeline.lazy import deferred
from pipeline.missions.lunar.flight import fly_reference, success
from pipeline.missions.lunar.suite import EVALUATION_MISSIONS, tuning_seeds
from pipeline.playbooks.model import EntryStatus, Playbook
from pipeline.playbooks.store import PlaybookStore, version_for
from pipeline.progress import progress_for

binomtest = deferred("scipy.stats", "binomtest")  # scipy loads when an evaluation decides, not at import

PromotionPolicy = Literal["auto", "manual"]


@dataclass
class ArmResult:
    name: str
    version: str | None
    successes: int
    n: int
    rate: float
    ci_low: float
    ci_high: float


@dataclass
class EvaluationReport:
    day: str
    candidate_version: str
    in_force_version: str | None
    seeds: list[int]
    candidate: ArmResult
    in_force: ArmResult
    reference: ArmResult
    discordant_better: int
    discordant_worse: int
    p_value: float
    prunes_only: bool
    policy: str
    decision: Literal["promoted", "kept", "awaiting_approval", "no_change"]
    reason: str
    failure_modes: dict[str, dict[str, int]] = field(default_factory=dict)
    cached_arms: list[str] = field(default_factory=list)  # arms read from the cache instead of flown

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def heldout_seeds(n: int) -> list[int]:
    """The fixed held-out suite the nightly gate flies: disjoint from every training seed, identical every
    night, and the tuning suite (never the locked report suite, which only the report benchmark flies)."""
    return tuning_seeds(n)


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
    return ArmResult(name, version, k, n, k / n if n else 0.0, low, high)


def evaluate_candidate(
    home: ReverieHome,
    day: date,
    *,
    n_missions: int = EVALUATION_MISSIONS,
    policy: PromotionPolicy = "auto",
    alpha: float = 0.05,
    margin: float = 0.02,
    workers: int = 2,
) -> EvaluationReport:
    """Fly candidate vs in-force vs reference on the held-out suite, decide, and record everything."""
    from pipeline.missions.lunar.batch import fly_batch

    store = PlaybookStore(home)
    version = version_for(day)
    candidate = store.load(version) if version in store.versions() else None
    if candidate is None:
        raise LookupError(f"no playbook version was dreamed for {day}; run `reverie dream --date {day}` first")
    in_force = store.in_force(day)
    seeds = heldout_seeds(n_missions)
    promoted = as_promoted(candidate, store)

    def fly_playbook(playbook: Playbook | None) -> ArmOutcomes:
        flown = fly_batch(home, day, len(seeds), heldout=True, playbook=playbook,
                          exploration=0.0, workers=workers, write_logs=False, seeds=seeds,
                          progress=progress_for("evaluate"))
        return ArmOutcomes(tuple(seeds), tuple(r.success for r in flown.results),
                           tuple(r.failure_mode for r in flown.results))

    def fly_reference_arm() -> ArmOutcomes:
        flights = fly_reference(seeds)
        return ArmOutcomes(tuple(seeds), tuple(success(f.metrics) for f in flights),
                           tuple(f.metrics.get("failure_mode") for f in flights))

    # An arm whose identity, seeds and mission code are unchanged is read back, not flown again.
    arms = {
        "candidate": cached_arm(home, playbook_identity(promoted), seeds, lambda: fly_playbook(promoted)),
        "in_force": cached_arm(home, playbook_identity(in_force), seeds, lambda: fly_playbook(in_force)),
        "reference": cached_arm(home, "reference", seeds, fly_reference_arm),
    }
    cand_ok, base_ok, ref_ok = (list(arms[name][0].success) for name in ("candidate", "in_force", "reference"))
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
        decision, reason = "promoted", f"better on held-out seeds ({better} won vs {worse} lost, p={p_value:.3g})"
    elif prunes_only and cand_arm.rate >= base_arm.rate - margin:
        decision, reason = "promoted", f"only prunes entries and is not worse than {margin:.0%} ({cand_arm.rate:.1%} vs {base_arm.rate:.1%})"
    else:
        decision, reason = "kept", (
            f"not better with p<{alpha} ({cand_arm.rate:.1%} vs {base_arm.rate:.1%}, "
            f"{better} won vs {worse} lost, p={p_value:.3g}): the playbook in force stays"
        )
    if decision == "promoted" and policy == "manual":
        decision, reason = "awaiting_approval", reason + "; policy is manual: approve with `reverie playbook approve`"
    if decision == "promoted":
        store.approve(candidate.version, by="auto-promotion", reason=reason)

    report = EvaluationReport(
        day=day.isoformat(),
        candidate_version=candidate.version,
        in_force_version=in_force.version if in_force else None,
        seeds=seeds,
        candidate=cand_arm,
        in_force=base_arm,
        reference=_arm("reference", "gymnasium heuristic", ref_ok),
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


def _record(home: ReverieHome, day: date, report: EvaluationReport) -> None:
    """Keep every evaluation queryable (`evaluations` table) and readable (JSON under reports/)."""
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
    lake.write_partition(home, "evaluations", day, pl.DataFrame(rows))
    out = home.reports / "evaluations" / f"{day.isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.to_json())
