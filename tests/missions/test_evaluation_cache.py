"""Evaluation arms read from the cache give the report flying them gives, and any change to what an arm
flies (its playbook, as reviewed; the seeds; the mission code) flies it again."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from pipeline import evaluation_cache
from pipeline.evaluation import evaluate_candidate
from pipeline.playbooks.model import (
    Condition,
    Effect,
    Entry,
    Playbook,
    Recommendation,
    Rule,
    Section,
    SourceSpread,
    playbook_identity,
)
from pipeline.playbooks.store import PlaybookStore, version_for

IN_FORCE_DAY, CANDIDATE_DAY = date(2026, 5, 1), date(2026, 5, 2)
N = 16


def _entry(entry_id: str, parameter: str, low: float, high: float) -> Entry:
    return Entry(
        id=entry_id,
        agent=parameter.split(".")[0],
        section=Section.RULES,
        text=f"Set {parameter} in [{low}, {high}].",
        rule=Rule(
            parameter=parameter,
            conditions=[Condition(feature="wind_power", min=0.0)],
            recommend=Recommendation(min=low, max=high),
        ),
        support=6,
        evidence=[f"s{i}" for i in range(6)],
        provenance=[SourceSpread(axis="days", distinct=3, in_window=3)],
        effect=Effect(
            rate_with=0.8, rate_without=0.4, n_with=6, n_without=20, diff=0.4, ci_low=0.1, ci_high=0.6
        ),
        created_in=version_for(IN_FORCE_DAY),
        updated_in=version_for(IN_FORCE_DAY),
    )


def _write(store: PlaybookStore, day: date, entries: list[Entry]) -> None:
    store.write(
        Playbook(
            version=version_for(day),
            partition=day.isoformat(),
            entries=entries,
            created_at=datetime.combine(day, time.max, tzinfo=UTC),
        )
    )


@pytest.fixture
def store(reverie_home) -> PlaybookStore:
    store = PlaybookStore(reverie_home)
    _write(
        store,
        IN_FORCE_DAY,
        [
            _entry("tilt", "guidance.max_tilt", 0.3, 0.5),
            _entry("wind", "guidance.wind_compensation", 0.5, 0.7),
        ],
    )
    store.approve(version_for(IN_FORCE_DAY))
    _write(store, CANDIDATE_DAY, [_entry("attitude", "guidance.attitude_gain", 0.8, 1.0)])
    return store


def _evaluate(home):
    # manual policy: nothing is promoted, so the playbook in force stays the same between runs
    return evaluate_candidate(home, CANDIDATE_DAY, n_missions=N, policy="manual", workers=1)


def _figures(report) -> dict:
    return {k: v for k, v in vars(report).items() if k != "cached_arms"}


def test_cached_arms_give_the_report_that_flying_gives(store, reverie_home, monkeypatch):
    first = _evaluate(reverie_home)
    assert first.cached_arms == []
    again = _evaluate(reverie_home)
    assert again.cached_arms == ["candidate", "in_force", "reference"]
    monkeypatch.setenv("REVERIE_ARM_CACHE", "0")
    fresh = _evaluate(reverie_home)
    assert fresh.cached_arms == []
    assert _figures(again) == _figures(first) == _figures(fresh)


def test_a_review_of_the_playbook_in_force_flies_it_again(store, reverie_home, monkeypatch):
    _evaluate(reverie_home)
    store.reject(version_for(IN_FORCE_DAY), "wind")  # the crew now follows one rule instead of two
    after = _evaluate(reverie_home)
    assert after.cached_arms == ["candidate", "reference"]
    monkeypatch.setenv("REVERIE_ARM_CACHE", "0")
    fresh = _evaluate(reverie_home)
    assert _figures(after) == _figures(fresh)


def test_other_seeds_or_other_mission_code_fly_every_arm(store, reverie_home, monkeypatch):
    _evaluate(reverie_home)
    more = evaluate_candidate(reverie_home, CANDIDATE_DAY, n_missions=N + 2, policy="manual", workers=1)
    assert more.cached_arms == []
    monkeypatch.setattr(evaluation_cache, "mission_code_version", lambda mission="lunar": "changed-autopilot")
    assert _evaluate(reverie_home).cached_arms == []


def test_an_unreadable_cache_entry_is_flown_again(store, reverie_home):
    first = _evaluate(reverie_home)
    for entry in (reverie_home.cache / "arms").glob("*.json"):
        entry.write_text("{not json")
    again = _evaluate(reverie_home)
    assert again.cached_arms == [] and _figures(again) == _figures(first)


def test_the_key_follows_playbook_content_not_only_its_version_id(store):
    book = store.load(version_for(IN_FORCE_DAY))
    identity = playbook_identity(book)
    assert identity.startswith(version_for(IN_FORCE_DAY) + "+")
    store.reject(version_for(IN_FORCE_DAY), "wind")
    assert playbook_identity(store.load(version_for(IN_FORCE_DAY))) != identity
    assert playbook_identity(None) == "naive"
