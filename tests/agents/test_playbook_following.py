"""Offline specialists follow approved playbook rules where they apply, and cite them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.events import Event
from pipeline.missions.lunar.autopilot import SPECS_BY_NAME
from pipeline.missions.lunar.runner import MissionSpec, run_mission
from pipeline.missions.lunar.team import OfflineSpecialist, advice_for
from pipeline.playbooks.model import Condition, Entry, EntryStatus, Playbook, Recommendation, Rule, Section

HIGH_WIND = {"wind_power": 16.0, "gravity": -10.0, "turbulence_power": 1.0, "heldout": False}
CALM = {**HIGH_WIND, "wind_power": 2.0}


def _entry(
    entry_id: str,
    parameter: str,
    low: float | None = None,
    high: float | None = None,
    *,
    value: float | None = None,
    status: EntryStatus = EntryStatus.APPROVED,
    confidence: float = 0.9,
    wind_min: float = 10.0,
) -> Entry:
    return Entry(
        id=entry_id,
        agent=parameter.split(".")[0],
        section=Section.RULES,
        text=f"{parameter} in high wind",
        rule=Rule(
            kind="parameter",
            parameter=parameter,
            conditions=[Condition(feature="wind_power", min=wind_min)],
            recommend=Recommendation(min=low, max=high, value=value),
        ),
        support=40,
        confidence=confidence,
        status=status,
        created_in="v1",
        updated_in="v1",
    )


def _playbook(*entries: Entry) -> Playbook:
    return Playbook(
        version="v7", created_at=datetime(2025, 1, 1, tzinfo=UTC), status="approved", entries=list(entries)
    )


def test_applicable_rule_moves_the_parameter_into_range_and_is_cited():
    playbook = _playbook(_entry("pb-1", "propulsion.descent_damping", 1.1, 1.3))
    spec = SPECS_BY_NAME["propulsion.descent_damping"]
    for seed in range(30):
        decision = OfflineSpecialist("propulsion", seed, HIGH_WIND, playbook, exploration=0.0).decide(spec)
        assert 1.1 <= decision["value"] <= 1.3 and decision["followed"] == ["pb-1"]
        calm = OfflineSpecialist("propulsion", seed, CALM, playbook, exploration=0.0).decide(spec)
        assert calm["followed"] == []
    values = [
        OfflineSpecialist("propulsion", s, CALM, playbook, 0.0).decide(spec)["value"] for s in range(30)
    ]
    assert min(values) < 1.1 or max(values) > 1.3  # without the rule the broad prior is used


def test_exploration_ignores_rules_sometimes_and_says_so():
    playbook = _playbook(_entry("pb-1", "guidance.max_tilt", value=0.3))
    spec = SPECS_BY_NAME["guidance.max_tilt"]
    decisions = [
        OfflineSpecialist("guidance", s, HIGH_WIND, playbook, exploration=0.5).decide(spec)
        for s in range(200)
    ]
    explored = [d for d in decisions if not d["followed"]]
    assert 60 < len(explored) < 140
    assert all(d["rationale"].startswith("exploring") and "pb-1" in d["rationale"] for d in explored)
    assert all(d["value"] == 0.3 for d in decisions if d["followed"] == ["pb-1"])


def test_only_approved_rules_count_and_conflicting_rules_cannot_empty_the_range():
    spec = SPECS_BY_NAME["touchdown.contact_damping"]
    candidate = _entry("pb-c", "touchdown.contact_damping", 0.0, 0.2, status=EntryStatus.CANDIDATE)
    assert advice_for(_playbook(candidate), spec, HIGH_WIND) is None
    trusted = _entry("pb-a", "touchdown.contact_damping", 1.0, 1.6, confidence=0.9)
    narrower = _entry("pb-b", "touchdown.contact_damping", 1.2, None, confidence=0.6)
    conflicting = _entry("pb-x", "touchdown.contact_damping", 0.1, 0.3, confidence=0.5)
    advice = advice_for(_playbook(conflicting, narrower, trusted), spec, HIGH_WIND)
    assert (advice.low, advice.high, advice.entry_ids) == (1.2, 1.6, ["pb-a", "pb-b"])


def test_mission_logs_cite_followed_entries_and_the_playbook_version(tmp_path):
    playbook = _playbook(_entry("pb-1", "propulsion.descent_damping", 1.1, 1.3, wind_min=0.0))
    record = run_mission(
        MissionSpec(
            day=date(2025, 5, 1), index=0, seed=11, playbook=playbook, exploration=0.0, landing_dir=tmp_path
        )
    )
    assert record.followed == ["pb-1"]
    assert 1.1 <= record.params["propulsion.descent_damping"] <= 1.3
    events = [
        Event.model_validate_json(line) for line in Path(record.path).read_text(encoding="utf-8").splitlines()
    ]
    assert events[0].input["playbook_version"] == "v7"
    cited = [e.input["followed"] for e in events if e.type == "decision" and e.tool == "set_parameter"]
    assert cited.count(["pb-1"]) == 1 and cited.count([]) == len(cited) - 1


def test_training_samples_the_range_evaluation_flies_the_preferred_value_and_exploration_stays_near():
    playbook = _playbook(_entry("pb-1", "propulsion.descent_damping", 1.1, 1.3, value=1.2))
    spec = SPECS_BY_NAME["propulsion.descent_damping"]
    evaluation = [
        OfflineSpecialist("propulsion", s, HIGH_WIND, playbook, 0.0).decide(spec) for s in range(20)
    ]
    assert all(d["value"] == 1.2 and d["followed"] == ["pb-1"] for d in evaluation)
    training = [OfflineSpecialist("propulsion", s, HIGH_WIND, playbook, 0.3).decide(spec) for s in range(300)]
    followed = [d["value"] for d in training if d["followed"] == ["pb-1"]]
    explored = [d["value"] for d in training if not d["followed"]]
    assert all(1.1 <= v <= 1.3 for v in followed) and len(set(followed)) > 50  # the range, not one point
    # exploring widens the range by its width on each side instead of forgetting it
    assert explored and all(0.9 <= v <= 1.5 for v in explored) and any(not 1.1 <= v <= 1.3 for v in explored)
