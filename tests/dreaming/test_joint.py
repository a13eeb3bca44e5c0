import numpy as np
import polars as pl
from scipy.stats import ks_2samp

from pipeline.dreaming import DreamSettings
from pipeline.dreaming.joint import fit_joint_model

PARAMETERS = [f"crew.p{i}" for i in range(7)]
# (optimum, success factor far from it, width). Three strong parameters decide most landings; p3 has an
# interior optimum whose effect is small next to theirs, so it only shows once they are accounted for;
# p4..p6 do not matter.
PLANTED = [(0.6, 0.1, 0.3), (0.3, 0.1, 0.3), (0.7, 0.1, 0.3), (0.5, 0.6, 0.15), None, None, None]
JOINT_ONLY = "crew.p3"
NULLS = ["crew.p4", "crew.p5", "crew.p6"]


def _success_probability(values: np.ndarray, gravity: np.ndarray) -> np.ndarray:
    probability = 0.95 * (1 - 0.5 * gravity)  # strong gravity makes every landing harder
    for column, planted in enumerate(PLANTED):
        if planted is not None:
            optimum, floor, width = planted
            probability *= floor + (1 - floor) * np.exp(-0.5 * ((values[:, column] - optimum) / width) ** 2)
    return probability


def _sessions(seed: int, n: int = 600):
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 1, (n, len(PARAMETERS)))
    gravity = rng.uniform(0, 1, n)
    success = rng.random(n) < _success_probability(values, gravity)
    sessions = [f"s{i:04d}" for i in range(n)]
    decisions = pl.DataFrame(
        {
            "session_id": np.repeat(sessions, len(PARAMETERS)),
            "parameter": PARAMETERS * n,
            "value": values.ravel(),
        }
    )
    outcomes = pl.DataFrame({"session_id": sessions, "success": success})
    features = pl.DataFrame({"session_id": sessions, "gravity": gravity})
    return decisions, outcomes, features, values, success


def test_the_joint_model_detects_a_parameter_that_only_matters_jointly():
    joint_found = marginal_found = 0
    column = PARAMETERS.index(JOINT_ONLY)
    for seed in range(8):
        decisions, outcomes, features, values, success = _sessions(seed)
        fit = fit_joint_model(decisions, outcomes, features, DreamSettings())
        joint_found += fit.p_values[JOINT_ONLY] < 0.05
        marginal_found += ks_2samp(values[success, column], values[~success, column]).pvalue < 0.05
        assert all(fit.p_values[p] < 0.05 for p in PARAMETERS[:3])  # the strong ones, every time
    assert joint_found >= 4 and marginal_found <= 1


def test_parameters_that_do_not_matter_are_rarely_significant_jointly():
    p_values = []
    for seed in range(8):
        fit = fit_joint_model(*_sessions(seed)[:3], DreamSettings())
        p_values += [fit.p_values[p] for p in NULLS]
    assert sum(p < 0.05 for p in p_values) <= 3  # 24 null tests at 5%: 1.2 expected


def test_no_fit_without_enough_successes_and_failures():
    decisions, outcomes, features, _, _ = _sessions(0, n=40)
    assert fit_joint_model(decisions, outcomes, features, DreamSettings()) is None


def test_the_elite_sits_closer_to_the_optimum_than_the_successes_do():
    """Sessions sampled mostly below p0's optimum (0.6): successes still lean toward where most sessions
    were, the best-judged ones less so. This is what lets the nightly ranges walk toward the optimum."""
    from pipeline.dreaming.parameters import elite_sessions

    closer = 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        skewed = rng.beta(1.2, 3.0, 800)  # most of last night's sessions near 0.2
        decisions, outcomes, features, values, _ = _sessions(seed, n=800)
        values[:, 0] = skewed
        won = rng.random(800) < _success_probability(values, features["gravity"].to_numpy())
        decisions = decisions.with_columns(pl.Series("value", values.ravel()))
        outcomes = outcomes.with_columns(pl.Series("success", won))
        fit = fit_joint_model(decisions, outcomes, features, DreamSettings())
        elite = elite_sessions(decisions.join(outcomes, on="session_id"), fit, DreamSettings())
        in_elite = np.isin(
            outcomes["session_id"].to_numpy(), elite.filter(pl.col("elite"))["session_id"].to_numpy()
        )
        assert 0 < in_elite.sum() < won.sum() and not (in_elite & ~won).any()
        closer += abs(np.median(skewed[in_elite]) - 0.6) < abs(np.median(skewed[won]) - 0.6)
    assert closer >= 5
