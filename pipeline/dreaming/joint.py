"""All decision parameters judged together: a regularized logistic model of success.

Success of a mission needs every parameter right at once, so one parameter's marginal success curve is
diluted by the sessions that failed because of another; with many parameters sampled from a broad prior the
per-parameter tests see only the strongest one or two. A joint model attributes success to all of them at
once: each parameter enters as its standardized value and squared value (so an optimum inside the prior is
expressible), context features enter linearly (so a condition that only makes landings harder is not
credited to a parameter), and a likelihood-ratio test per parameter asks whether dropping it loses fit.

It tests, and it ranks: the log-odds it credits to each session's settings pick the elite whose values
become ranges (`parameters.elite_sessions`). It does not draw ranges itself: ranges from its fitted curves
(values within 0.5 log-odds of the best) did worse on the lunar loop (69.5% vs 76.5% held-out after four
nights), as a quadratic in log-odds is a coarse shape for a success bump with a floor; ranking sessions by
it only needs the shape to be roughly right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.dreaming.settings import DreamSettings
from pipeline.lazy import deferred

# scipy loads when a model is first fitted, not when the dreaming package is imported
minimize = deferred("scipy.optimize", "minimize")
expit = deferred("scipy.special", "expit")
log_expit = deferred("scipy.special", "log_expit")
chi2 = deferred("scipy.stats", "chi2")


@dataclass(frozen=True)
class JointFit:
    """Per parameter: the likelihood-ratio p-value of its two terms (value and value^2). Per session: the
    fitted log-odds its parameter choices contribute (context excluded), which lets sessions be ranked by how
    good their settings were judged to be rather than by whether they happened to succeed."""

    p_values: dict[str, float]
    n_sessions: int
    credit: pl.DataFrame  # session_id, credit


def _fit_logistic(design: np.ndarray, success: np.ndarray, ridge: float) -> tuple[float, np.ndarray]:
    """Ridge-penalized logistic regression (intercept unpenalized; the penalty keeps a dozen quadratic terms
    fitted on a few hundred sessions finite); returns the fit's unpenalized log-likelihood, which is what
    the likelihood-ratio test compares, and the coefficients (intercept first)."""
    x = np.column_stack([np.ones(len(design)), design])
    y = success.astype(float)
    penalty = np.full(x.shape[1], ridge)
    penalty[0] = 0.0

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = x @ beta
        log_likelihood = float(np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta)))
        gradient = x.T @ (expit(eta) - y) + penalty * beta
        return -log_likelihood + 0.5 * float(np.sum(penalty * beta**2)), gradient

    start = np.zeros(x.shape[1])
    start[0] = np.log((y.mean() + 1e-3) / (1 - y.mean() + 1e-3))
    result = minimize(loss, start, jac=True, method="L-BFGS-B")
    eta = x @ result.x
    return float(np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta))), result.x


def _standardize(column: np.ndarray) -> np.ndarray:
    """Unit scale, so one ridge penalty weighs every term alike."""
    scale = float(column.std())
    return (column - column.mean()) / (scale if scale > 0 else 1.0)


def fit_joint_model(
    decisions: pl.DataFrame, outcomes: pl.DataFrame, features: pl.DataFrame, settings: DreamSettings
) -> JointFit | None:
    """Fit success on every numeric decision parameter (value and value^2) plus context, jointly.

    `decisions`: session_id, parameter, value; `outcomes`: session_id, success; `features`: session_id +
    numeric context columns. Sessions missing a parameter take the parameter's median (a session that never
    chose it tells nothing about it). None when there are too few successes or failures to fit.
    """
    wide = (
        decisions.filter(pl.col("value").is_not_null() & pl.col("value").is_finite())
        .pivot(on="parameter", index="session_id", values="value", aggregate_function="first")
        .join(outcomes.select("session_id", "success"), on="session_id", how="inner")
        .join(features, on="session_id", how="left")
        .sort("session_id")
    )
    parameters = sorted(set(decisions["parameter"].unique().drop_nulls().to_list()) & set(wide.columns))
    success = wide["success"].to_numpy().astype(bool)
    n_won = int(success.sum())
    if not parameters or min(n_won, len(success) - n_won) < max(settings.min_elite, settings.min_support):
        return None
    columns: list[np.ndarray] = []
    terms: dict[str, list[int]] = {}
    for parameter in parameters:
        values = wide[parameter].cast(pl.Float64)
        values = values.fill_null(values.median()).to_numpy()
        z = _standardize(values)
        z_squared = _standardize(z**2)
        terms[parameter] = [len(columns), len(columns) + 1]
        columns += [z, z_squared]
    for name in sorted(c for c in features.columns if c != "session_id"):
        feature = wide[name].cast(pl.Float64, strict=False).to_numpy() if name in wide.columns else None
        if feature is None or np.isnan(feature).any() or np.unique(feature).size < 2:
            continue
        columns.append(_standardize(feature))
    design = np.column_stack(columns)
    full_log_likelihood, coefficients = _fit_logistic(design, success, settings.joint_ridge)
    p_values = {}
    for parameter in parameters:
        kept = np.setdiff1d(np.arange(design.shape[1]), terms[parameter])
        reduced, _ = _fit_logistic(design[:, kept], success, settings.joint_ridge)
        p_values[parameter] = float(chi2.sf(max(0.0, 2 * (full_log_likelihood - reduced)), df=2))
    n_setting_terms = 2 * len(parameters)  # the parameters' terms come first in `design`, context after
    credit = design[:, :n_setting_terms] @ coefficients[1 : 1 + n_setting_terms]
    return JointFit(
        p_values=p_values,
        n_sessions=len(success),
        credit=pl.DataFrame({"session_id": wide["session_id"], "credit": credit}),
    )
