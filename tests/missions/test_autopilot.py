"""The autopilot's reference setting must be gymnasium's own heuristic, action for action."""

from __future__ import annotations

import math
from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.box2d.lunar_lander import heuristic

from pipeline.missions.lunar.autopilot import (
    CREW_BASE,
    FPS,
    LANDER_MASS,
    PARAMETERS,
    REFERENCE_PARAMS,
    Autopilot,
    AutopilotParams,
)


@pytest.mark.parametrize(
    ("seed", "wind_power", "turbulence_power", "gravity"),
    [(0, 0.0, 0.0, -10.0), (7, 15.0, 1.5, -10.0), (42, 19.5, 2.0, -11.4), (1234, 3.0, 0.5, -8.1)],
)
def test_reference_params_reproduce_gymnasium_heuristic_step_by_step(
    seed, wind_power, turbulence_power, gravity
):
    env = gym.make(
        "LunarLander-v3",
        enable_wind=True,
        wind_power=wind_power,
        turbulence_power=turbulence_power,
        gravity=gravity,
    )
    state, _ = env.reset(seed=seed)
    autopilot = Autopilot(REFERENCE_PARAMS)
    done, steps = False, 0
    while not done:
        expected = heuristic(env, state)
        assert autopilot.act(state) == expected, f"diverged at step {steps}"
        state, _, terminated, truncated, _ = env.step(expected)
        done = terminated or truncated
        steps += 1
    assert steps > 50
    env.close()


def test_reference_values_are_inside_every_prior():
    for spec in PARAMETERS:
        assert spec.prior_low <= spec.reference <= spec.prior_high, spec.name
        assert getattr(REFERENCE_PARAMS, spec.field) == spec.reference


def test_decisions_round_trip_and_unknown_parameters_are_refused():
    params = AutopilotParams.from_decisions({"guidance.max_tilt": 0.6, "touchdown.contact_damping": 1.2})
    assert params.as_decisions()["guidance.max_tilt"] == 0.6
    assert AutopilotParams.from_decisions(params.as_decisions()) == params
    with pytest.raises(KeyError):
        AutopilotParams.from_decisions({"guidance.max_tlit": 0.6})


def test_crews_fly_the_reference_controller_plus_the_fixed_contact_attitude():
    """A crew that decides every parameter at its reference value still differs from gymnasium's heuristic in
    one fixed place only: the attitude correction kept after leg contact."""
    crew = AutopilotParams.from_decisions(REFERENCE_PARAMS.as_decisions())
    assert crew == replace(REFERENCE_PARAMS, contact_attitude_gain=CREW_BASE.contact_attitude_gain)
    assert REFERENCE_PARAMS.contact_attitude_gain == 0.0 < CREW_BASE.contact_attitude_gain
    assert "touchdown.contact_attitude_gain" not in {spec.name for spec in PARAMETERS}


def test_every_parameter_is_owned_by_a_specialist():
    assert {spec.role for spec in PARAMETERS} == {"guidance", "propulsion", "touchdown"}


def test_wind_observer_tracks_the_simulator_wind():
    """The estimate must follow gymnasium's actual wind force, or leaning into it would push the wrong way."""
    env = gym.make("LunarLander-v3", enable_wind=True, wind_power=15.0, turbulence_power=0.0)
    state, _ = env.reset(seed=5)
    lander = env.unwrapped
    autopilot = Autopilot(AutopilotParams(wind_compensation=0.5))
    errors = []
    for step in range(120):
        # the wind applied during the next step, in m/s per step, from the simulator's own formula
        k = lander.wind_idx
        wind = math.tanh(math.sin(0.02 * k) + math.sin(math.pi * 0.01 * k)) * 15.0 / LANDER_MASS / FPS
        state, _, terminated, truncated, _ = env.step(autopilot.act(state))
        if terminated or truncated or state[6] or state[7]:
            break
        if step >= 30:  # after the filter has settled
            errors.append(abs(autopilot.wind - wind))
    env.close()
    assert len(errors) > 50
    assert float(np.median(errors)) < 0.01  # the wind itself reaches ~0.06 m/s per step here
