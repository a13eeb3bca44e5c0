"""Mission seeds, briefings and flight outcomes."""

from __future__ import annotations

from datetime import date

from pipeline.missions.lunar.autopilot import AutopilotParams
from pipeline.missions.lunar.flight import (
    GRAVITY_RANGE,
    draw_conditions,
    fly,
    mission_seed,
    success,
)


def test_seeds_are_deterministic_and_heldout_never_overlaps_training():
    days = [date(2025, 1, d) for d in range(1, 8)]
    training = {mission_seed(d, i, heldout=False) for d in days for i in range(200)}
    heldout = {mission_seed(d, i, heldout=True) for d in days for i in range(200)}
    assert mission_seed("2025-01-03", 5, False) == mission_seed(date(2025, 1, 3), 5, False)
    assert len(training) == len(heldout) == 1400
    assert training.isdisjoint(heldout)
    assert all(draw_conditions(s).heldout for s in list(heldout)[:50])


def test_briefing_is_drawn_from_the_mission_distribution_and_repeatable():
    seeds = [mission_seed("2025-02-01", i, False) for i in range(200)]
    briefings = [draw_conditions(s) for s in seeds]
    assert briefings[3] == draw_conditions(seeds[3])
    assert all(0 <= b.wind_power <= 20 and 0 <= b.turbulence_power <= 2 for b in briefings)
    assert all(GRAVITY_RANGE[0] <= b.gravity <= GRAVITY_RANGE[1] for b in briefings)
    assert max(b.wind_power for b in briefings) > 15 > 5 > min(b.wind_power for b in briefings)
    assert set(briefings[0].context()) >= {"wind_power", "turbulence_power", "gravity", "heldout"}


def test_same_seed_and_params_fly_the_same_flight():
    conditions = draw_conditions(mission_seed("2025-02-01", 1, True))
    first, second = fly(conditions, telemetry_every=10), fly(conditions, telemetry_every=10)
    assert first.metrics == second.metrics
    assert first.telemetry == second.telemetry


def test_flight_metrics_follow_the_contract_and_classify_failures():
    seeds = [mission_seed("2025-03-01", i, True) for i in range(12)]
    reckless = AutopilotParams.from_decisions(
        {"propulsion.descent_damping": 0.1, "propulsion.altitude_gain": 0.1}
    )
    flights = [fly(draw_conditions(s), reckless) for s in seeds[:6]] + [
        fly(draw_conditions(s)) for s in seeds[6:]
    ]
    for flight in flights:
        m = flight.metrics
        assert set(m) == {
            "landed",
            "crashed",
            "touchdown_speed",
            "pad_distance",
            "fuel_used",
            "steps",
            "reward",
            "failure_mode",
        }
        assert flight.success == success(m) == (m["landed"] and m["reward"] >= 200)
        assert (m["failure_mode"] is None) == flight.success
        assert flight.key_moments[0]["phase"] == "descent"
    assert any(f.metrics["crashed"] and f.failure_mode in {"crash_on_body", "flipped"} for f in flights[:6])
    assert any(f.success for f in flights[6:])
