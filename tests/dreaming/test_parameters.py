from datetime import timedelta

import polars as pl

from pipeline.dreaming import DreamSettings
from pipeline.dreaming.statistical import is_significant, mine_window
from pipeline.dreaming.window import load_window
from tests.dreaming.conftest import DAY
from tests.support.synthetic import fly_missions


def _findings(home, days=3, per_day=300):
    for offset in range(days):
        fly_missions(home, DAY - timedelta(days=offset), per_day, seed=20 + offset)
    settings = DreamSettings()
    window = load_window(home, DAY, 7)
    return [f for f in mine_window(window, settings) if is_significant(f, settings)], window


def test_finds_the_planted_range_of_a_parameter_that_matters(home):
    findings, _ = _findings(home)
    throttle = [f for f in findings if f.rule.parameter == "propulsion.throttle_margin"]
    assert throttle, "the planted throttle optimum (0.7) was not found"
    assert all(f.agent == "propulsion" for f in throttle)
    assert any(f.rule.recommend.min <= 0.7 <= f.rule.recommend.max for f in throttle)
    assert all(f.rate_with > f.rate_without and f.q_value <= 0.05 for f in throttle)


def test_conditions_a_parameter_on_the_context_feature_that_moves_its_optimum(home):
    findings, _ = _findings(home)
    gain = [f for f in findings if f.rule.parameter == "guidance.approach_gain"]
    assert gain and all([c.feature for c in f.rule.conditions] == ["wind_power"] for f in gain)
    # the optimum is 0.2 + 0.03 * wind: the windiest cell's range sits above the calmest cell's
    by_low_bound = sorted(gain, key=lambda f: f.rule.conditions[0].min or -1)
    assert by_low_bound[-1].rule.recommend.max > by_low_bound[0].rule.recommend.max


def test_a_parameter_that_does_not_matter_yields_no_rule(home):
    findings, _ = _findings(home)
    assert not [f for f in findings if f.rule.parameter == "flight_director.abort_threshold"]


def test_heldout_sessions_are_never_learned_from(home):
    fly_missions(home, DAY, 100, seed=1)
    fly_missions(home, DAY, 50, seed=2, heldout=True)
    window = load_window(home, DAY, 7)
    assert window.sessions.height == 150
    assert window.n_sessions == 100
    assert window.learning_sessions.filter(pl.col("session_id").str.starts_with("heldout")).is_empty()


def test_a_feature_that_only_moves_the_base_rate_is_not_a_reason_to_condition():
    import numpy as np

    from pipeline.dreaming.parameters import choose_plan

    rng = np.random.default_rng(7)
    n = 1200
    gravity = rng.uniform(0, 1, n)
    values = rng.uniform(0, 1, n)
    # the optimum (0.6) is the same everywhere; strong gravity just makes every landing harder
    probability = (0.9 - 0.6 * gravity) * np.exp(-0.5 * ((values - 0.6) / 0.15) ** 2)
    success = rng.random(n) < probability
    plan = choose_plan(values, success, {"gravity": gravity}, DreamSettings())
    assert len(plan) == 1 and plan[0][0] == []


def test_rules_recommend_a_range_and_a_preferred_value_inside_it(home):
    findings, _ = _findings(home)
    throttle = [f for f in findings if f.rule.parameter == "propulsion.throttle_margin"]
    for finding in throttle:
        rec = finding.rule.recommend
        assert rec.min <= rec.value <= rec.max
        assert abs(rec.value - 0.7) < 0.1  # the planted optimum
