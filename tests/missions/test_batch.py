"""A flown batch leaves valid, deterministic native sessions in the landing folder."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.events import Event
from pipeline.home import ReverieHome
from pipeline.missions.lunar.autopilot import PARAMETERS
from pipeline.missions.lunar.batch import fly_batch, reference_success_rate
from pipeline.missions.lunar.flight import fly_reference, mission_seed

DAY = date(2025, 4, 1)


@pytest.fixture
def home(tmp_path) -> ReverieHome:
    return ReverieHome.at(tmp_path / "home")


def _events(path: str) -> list[Event]:
    with open(path, encoding="utf-8") as handle:
        return [Event.model_validate(json.loads(line)) for line in handle]


def test_batch_writes_one_valid_session_per_mission(home):
    seen: list[tuple[int, int]] = []
    report = fly_batch(home, DAY, 3, workers=1, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert len(report.paths) == 3 and all(
        p.startswith(str(home.landing / "2025-04-01")) for p in report.paths
    )
    for mission, path in zip(report.results, report.paths, strict=True):
        events = _events(path)
        start, end = events[0], events[-1]
        assert {e.session_id for e in events} == {mission.session_id}
        assert start.type == "session_start" and start.input["task"] == "lunar_landing"
        assert start.input["context"]["wind_power"] == mission.conditions["wind_power"]
        assert start.input["playbook_version"] is None
        decisions = {
            e.input["parameter"]: e for e in events if e.type == "decision" and e.tool == "set_parameter"
        }
        assert set(decisions) == {spec.name for spec in PARAMETERS}
        assert all(
            d.agent == d.input["parameter"].split(".")[0] and d.input["rationale"] for d in decisions.values()
        )
        assert any(e.type == "decision" and e.tool == "go_no_go" and e.input["value"] == "go" for e in events)
        observations = [e for e in events if e.type == "observation"]
        assert any(e.tool == "telemetry" for e in observations) and any(
            e.tool == "key_moment" for e in observations
        )
        steps = [e.input["step"] for e in observations]
        assert steps == sorted(steps)  # telemetry and key moments interleave in flight order
        messages = [e for e in events if e.type == "message"]
        assert {m.agent for m in messages} >= {"flight_director", "guidance", "propulsion", "touchdown"}
        assert end.type == "session_end" and end.input["metrics"] == mission.metrics
        assert end.input["status"] == mission.status
        assert [e.ts for e in events] == sorted(e.ts for e in events)
    assert 0.0 <= report.success_rate <= 1.0
    assert report.summary()["missions"] == 3


def test_refly_is_byte_identical_and_parallel_matches_serial(home, tmp_path):
    serial = fly_batch(home, DAY, 2, heldout=True, workers=1)
    first = [Path(p).read_text(encoding="utf-8") for p in serial.paths]
    parallel = fly_batch(ReverieHome.at(tmp_path / "other"), DAY, 2, heldout=True, workers=2)
    assert [Path(p).read_text(encoding="utf-8") for p in parallel.paths] == first
    assert [m.model_dump(exclude={"path"}) for m in parallel.results] == [
        m.model_dump(exclude={"path"}) for m in serial.results
    ]


def test_heldout_batch_uses_heldout_seeds_and_no_exploration(home):
    report = fly_batch(home, DAY, 2, heldout=True, workers=1, write_logs=False)
    assert report.exploration == 0.0 and report.paths == []
    assert report.seeds == [mission_seed(DAY, i, heldout=True) for i in range(2)]
    assert all(m.session_id.startswith("lunar-2025-04-01-heldout-") for m in report.results)


def test_reference_anchor_flies_the_same_seeds(home):
    seeds = [mission_seed(DAY, i, heldout=True) for i in range(3)]
    flights = fly_reference(seeds)
    assert [f.conditions.seed for f in flights] == seeds
    assert reference_success_rate(seeds) == sum(f.success for f in flights) / 3
