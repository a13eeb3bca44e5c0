"""The reference mission: gymnasium `LunarLander-v3` with wind, under conditions drawn per mission.

A mission is fully determined by its seed: the seed draws the briefing (wind, turbulence, gravity) and also
seeds the simulator (terrain, initial push, wind phase), so any flight can be replayed exactly. The briefing
holds only what a real crew would know before launch; the initial state is not part of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from pipeline.missions.lunar.autopilot import FIRE_MAIN, NOOP, REFERENCE_PARAMS, Autopilot, AutopilotParams

# Seeds are drawn in suite.py (no simulator needed); `mission_seed` stays importable from here too.
from pipeline.missions.lunar.suite import is_heldout_seed
from pipeline.missions.lunar.suite import mission_seed as mission_seed

ENV_ID = "LunarLander-v3"
WIND_POWER_RANGE = (0.0, 20.0)
TURBULENCE_POWER_RANGE = (0.0, 2.0)
GRAVITY_RANGE = (-11.5, -8.0)
SOLVED_REWARD = 200.0  # gymnasium's "solved" bar for one episode
PAD_HALF_WIDTH = 0.2  # the pad spans x in [-0.2, 0.2] in observation units
FINAL_APPROACH_ALTITUDE = 0.25
FLIP_ANGLE = 0.8  # radians: a crash beyond this tilt is a flip rather than a hard landing
_CONDITIONS_DOMAIN = 0x5EED_C0DE


@dataclass(frozen=True)
class MissionConditions:
    """The briefing. Every field is a flat scalar so it can become a session context feature."""

    wind_power: float
    turbulence_power: float
    gravity: float
    seed: int
    heldout: bool

    def context(self) -> dict[str, Any]:
        """Features the dreamer may condition rules on (`session_start.input.context`). The seed is not one:
        it is an identifier, and a rule split on it would be noise; the briefing message carries it for replay."""
        return {
            "wind_power": round(self.wind_power, 4),
            "turbulence_power": round(self.turbulence_power, 4),
            "gravity": round(self.gravity, 4),
            "heldout": self.heldout,
        }


def draw_conditions(seed: int) -> MissionConditions:
    """The briefing for a seed, from a random stream separate from the simulator's own."""
    rng = np.random.default_rng([_CONDITIONS_DOMAIN, seed])
    return MissionConditions(
        wind_power=float(rng.uniform(*WIND_POWER_RANGE)),
        turbulence_power=float(rng.uniform(*TURBULENCE_POWER_RANGE)),
        gravity=float(rng.uniform(*GRAVITY_RANGE)),
        seed=seed,
        heldout=is_heldout_seed(seed),
    )


@dataclass
class FlightResult:
    """What one flight produced: contract metrics, sampled telemetry and the key moments."""

    conditions: MissionConditions
    params: AutopilotParams
    metrics: dict[str, Any]
    telemetry: list[dict[str, float]] = field(default_factory=list)
    key_moments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return success(self.metrics)

    @property
    def failure_mode(self) -> str | None:
        return self.metrics.get("failure_mode")

    @property
    def status(self) -> str:
        """`session_end.input.status`: landed, crashed, or the failure that ended the flight otherwise."""
        if self.metrics["landed"]:
            return "landed"
        if self.metrics["crashed"]:
            return "crashed"
        return self.metrics["failure_mode"] or "aborted"


def success(metrics: dict[str, Any]) -> bool:
    """Mission success, as the outcome criteria define it: at rest on the pad with reward >= 200.

    `landed` already means "came to rest on the pad" (an off-pad rest is the `landed_off_pad` failure), so
    `landed and reward >= 200` and this function always agree. The same rule, as the outcome criteria the dream
    learns from, is `outcomes/lunar.yaml`'s required criteria: tests/missions/test_success_agreement.py flies a
    batch and checks the two verdicts agree on every mission, so change both or neither.
    """
    return bool(metrics.get("landed")) and float(metrics.get("reward") or 0.0) >= SOLVED_REWARD


_ENV_CACHE: dict[str, gym.Env] = {}


def _environment(conditions: MissionConditions) -> gym.Env:
    """One env per process, re-configured per mission: reset() rebuilds the Box2D world from these attributes,
    and building a fresh env per flight would cost more than many short flights."""
    env = _ENV_CACHE.get(ENV_ID)
    if env is None:
        env = gym.make(ENV_ID, enable_wind=True, disable_env_checker=True)
        _ENV_CACHE[ENV_ID] = env
    lander = env.unwrapped
    lander.gravity = conditions.gravity
    lander.wind_power = conditions.wind_power
    lander.turbulence_power = conditions.turbulence_power
    return env


def _telemetry_sample(step: int, s: Any, action: int) -> dict[str, float]:
    return {
        "step": step,
        "x": round(float(s[0]), 4),
        "y": round(float(s[1]), 4),
        "vx": round(float(s[2]), 4),
        "vy": round(float(s[3]), 4),
        "angle": round(float(s[4]), 4),
        "action": action,
    }


def _classify(
    landed_at_rest: bool,
    game_over: bool,
    out_of_bounds: bool,
    truncated: bool,
    pad_distance: float,
    final_angle: float,
    reward: float,
) -> str | None:
    if landed_at_rest:
        if pad_distance > PAD_HALF_WIDTH:
            return "landed_off_pad"
        return None if reward >= SOLVED_REWARD else "low_reward"
    if out_of_bounds:
        return "drift_out_of_bounds"
    if game_over:
        return "flipped" if abs(final_angle) > FLIP_ANGLE else "crash_on_body"
    if truncated:
        return "hover_timeout"
    return "aborted"


def fly(
    conditions: MissionConditions, params: AutopilotParams = REFERENCE_PARAMS, *, telemetry_every: int = 0
) -> FlightResult:
    """Fly one mission with a fixed autopilot setting. `telemetry_every=0` records no samples (bare speed)."""
    env = _environment(conditions)
    s, _ = env.reset(seed=conditions.seed)
    lander = env.unwrapped
    autopilot = Autopilot(params)
    total_reward = 0.0
    main_burns = side_burns = 0
    touchdown_speed: float | None = None
    telemetry: list[dict[str, float]] = []
    moments: list[dict[str, Any]] = [{"step": 0, "moment": "phase", "phase": "descent"}]
    in_final_approach = False
    step = 0
    terminated = truncated = False
    while not (terminated or truncated):
        action = autopilot.act(s)
        if action == FIRE_MAIN:
            main_burns += 1
        elif action != NOOP:
            side_burns += 1
        if telemetry_every and step % telemetry_every == 0:
            telemetry.append(_telemetry_sample(step, s, action))
        s, reward, terminated, truncated, _ = env.step(action)
        step += 1
        total_reward += float(reward)
        if not in_final_approach and s[1] < FINAL_APPROACH_ALTITUDE:
            in_final_approach = True
            moments.append({"step": step, "moment": "phase", "phase": "final_approach"})
        if touchdown_speed is None and (s[6] or s[7]):
            touchdown_speed = round(float(s[3]), 4)
            moments.append(
                {
                    "step": step,
                    "moment": "contact",
                    "vertical_speed": touchdown_speed,
                    "x": round(float(s[0]), 4),
                }
            )

    out_of_bounds = abs(float(s[0])) >= 1.0
    game_over = bool(lander.game_over)
    landed_at_rest = terminated and not lander.lander.awake and not game_over and not out_of_bounds
    pad_distance = round(abs(float(s[0])), 4)
    failure_mode = _classify(
        landed_at_rest,
        game_over,
        out_of_bounds,
        truncated and not terminated,
        pad_distance,
        float(s[4]),
        total_reward,
    )
    crashed = game_over or out_of_bounds
    moments.append(
        {
            "step": step,
            "moment": "crash" if crashed else ("rest" if landed_at_rest else "end"),
            "failure_mode": failure_mode,
        }
    )
    if telemetry_every:
        telemetry.append(_telemetry_sample(step, s, NOOP))
    metrics = {
        "landed": landed_at_rest and pad_distance <= PAD_HALF_WIDTH,
        "crashed": crashed,
        "touchdown_speed": touchdown_speed,
        "pad_distance": pad_distance,
        "fuel_used": round(main_burns + 0.1 * side_burns, 2),
        "steps": step,
        "reward": round(total_reward, 3),
        "failure_mode": failure_mode,
    }
    return FlightResult(conditions, params, metrics, telemetry, moments)


def fly_reference(seeds: list[int] | tuple[int, ...]) -> list[FlightResult]:
    """gymnasium's reference heuristic on the given seeds: the anchor every report compares against."""
    return [fly(draw_conditions(seed), REFERENCE_PARAMS) for seed in seeds]
