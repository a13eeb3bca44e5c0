"""Which values of a decision parameter go with success, and in which conditions.

For each decision parameter the miner bins the values a window of sessions chose (quantile bins, so the bins
get finer where agents concentrate their choices), finds the contiguous range with the best Wilson lower bound
on success (which balances rate against support), and tests it against the rest. It then asks whether the data
supports different ranges in different context cells (per quantile cell of each numeric context feature) and
keeps the conditional rules when they score better. Iterated nightly over sessions that follow the previous
ranges with some exploration, this narrows the ranges toward the high-success region: a context-conditional
cross-entropy method mediated by the lake.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.stats import chi2_contingency

from pipeline.dreaming.findings import Finding, describe_conditions, format_number
from pipeline.dreaming.settings import DreamSettings
from pipeline.dreaming.statistics import fisher_p_value, wilson_lower_bounds
from pipeline.playbooks.model import Condition, Recommendation, Rule, Section


@dataclass(frozen=True)
class RangeFit:
    """The best contiguous value range within one population of sessions."""

    low: float
    high: float
    k_in: int
    n_in: int
    k_out: int
    n_out: int
    score: float  # Wilson lower bound of success inside the range
    p_value: float  # chi-square test that success rates differ across the bins at all
    mask: np.ndarray  # which rows of the population fall inside


def homogeneity_p_value(bin_k: np.ndarray, bin_n: np.ndarray) -> float:
    """Do success rates differ across the bins? One test per population: the range is then an estimate,
    not a test, so searching many ranges does not inflate the false discovery rate."""
    keep = bin_n > 0
    table = np.vstack([bin_k[keep], bin_n[keep] - bin_k[keep]])
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 1.0
    return float(chi2_contingency(table, correction=False).pvalue)


def best_range(values: np.ndarray, success: np.ndarray, settings: DreamSettings) -> RangeFit | None:
    """Search all contiguous runs of quantile bins; None when the population is too small to split."""
    n = len(values)
    if n < 2 * settings.min_support:
        return None
    n_bins = int(np.clip(n // settings.min_bin_sessions, 2, settings.max_bins))
    edges = np.unique(np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1], method="lower"))
    bins = np.searchsorted(edges, values, side="right")
    n_bins = len(edges) + 1
    bin_n = np.bincount(bins, minlength=n_bins)
    bin_k = np.bincount(bins, weights=success.astype(float), minlength=n_bins)
    cum_n = np.concatenate([[0], np.cumsum(bin_n)])
    cum_k = np.concatenate([[0], np.cumsum(bin_k)])
    starts, ends = np.triu_indices(n_bins)  # range = bins start..end inclusive
    n_in = cum_n[ends + 1] - cum_n[starts]
    k_in = cum_k[ends + 1] - cum_k[starts]
    eligible = (n_in >= settings.min_support) & (n_in < n)
    if not eligible.any():
        return None
    scores = np.where(eligible, wilson_lower_bounds(k_in, n_in), -1.0)
    # Ties go to the narrowest range, then the lowest one, so the choice is deterministic.
    order = np.lexsort((starts, n_in, -scores))
    best = order[0]
    mask = (bins >= starts[best]) & (bins <= ends[best])
    inside = values[mask]
    k1, n1 = int(k_in[best]), int(n_in[best])
    k2, n2 = int(success.sum()) - k1, n - n1
    p = homogeneity_p_value(bin_k, bin_n)
    return RangeFit(
        low=float(inside.min()),
        high=float(inside.max()),
        k_in=k1,
        n_in=n1,
        k_out=k2,
        n_out=n2,
        score=float(scores[best]),
        p_value=p,
        mask=mask,
    )


def _cells(feature: np.ndarray, n_cells: int) -> list[tuple[float | None, float | None]]:
    """Quantile cells of a context feature as half-open [min, max) intervals with open outer ends."""
    cuts = np.unique(np.quantile(feature, np.linspace(0, 1, n_cells + 1)[1:-1]))
    bounds = [None, *[float(c) for c in cuts], None]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _in_cell(feature: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    mask = np.ones(len(feature), dtype=bool)
    if low is not None:
        mask &= feature >= low
    if high is not None:
        mask &= feature < high
    return mask


def _parameter_finding(
    agent: str,
    parameter: str,
    fit: RangeFit,
    conditions: list[Condition],
    session_ids: np.ndarray,
    success: np.ndarray,
    settings: DreamSettings,
) -> Finding:
    cited = np.sort(session_ids[fit.mask & success])[: settings.evidence_limit]
    where = describe_conditions(conditions)
    text = (
        f"{'When ' + where + ', set' if where else 'Set'} {parameter} between {format_number(fit.low)} and "
        f"{format_number(fit.high)}: {fit.k_in}/{fit.n_in} sessions in this range succeeded "
        f"({fit.k_in / fit.n_in:.0%}) vs {fit.k_out}/{fit.n_out} outside it ({fit.k_out / max(fit.n_out, 1):.0%})."
    )
    rule = Rule(
        kind="parameter",
        parameter=parameter,
        conditions=conditions,
        recommend=Recommendation(min=float(fit.low), max=float(fit.high)),
    )
    features = ",".join(sorted(c.feature for c in conditions))
    return Finding(
        kind="parameter",
        agent=agent,
        section=Section.RULES,
        rule=rule,
        text=text,
        k_with=fit.k_in,
        n_with=fit.n_in,
        k_without=fit.k_out,
        n_without=fit.n_out,
        p_value=fit.p_value,
        evidence=[str(s) for s in cited],
        key=f"parameter|{agent}|{parameter}|{features}",
    )


def mine_parameters(decisions: pl.DataFrame, outcomes: pl.DataFrame, features: pl.DataFrame,
                    settings: DreamSettings) -> list[Finding]:
    """Range rules for every numeric decision parameter, conditional on context where the data supports it.

    `decisions`: session_id, agent, parameter, value; `outcomes`: session_id, success (learning sessions
    only); `features`: session_id + numeric context columns.
    """
    frame = decisions.filter(pl.col("value").is_not_null() & pl.col("value").is_finite()).join(
        outcomes.select("session_id", "success"), on="session_id", how="inner"
    )
    if frame.is_empty():
        return []
    feature_names = [c for c in features.columns if c != "session_id"]
    findings: list[Finding] = []
    for (agent, parameter), group in sorted(
        frame.partition_by(["agent", "parameter"], as_dict=True).items(), key=lambda item: item[0]
    ):
        group = group.join(features, on="session_id", how="left").sort("session_id")
        values = group["value"].to_numpy()
        success = group["success"].to_numpy().astype(bool)
        sessions = group["session_id"].to_numpy()
        overall = best_range(values, success, settings)
        if overall is None:
            continue
        everyone = np.ones(len(values), dtype=bool)
        folds = np.arange(len(values)) % 2 == 0
        best_counts = _held_out([everyone], values, success, folds, settings)
        best_score, best_plan = _plan_score(best_counts), [([], overall, everyone)]
        for name in feature_names:
            feature = group[name].cast(pl.Float64).to_numpy()
            if np.isnan(feature).any() or np.unique(feature).size < 2:
                continue
            for n_cells in settings.context_splits:
                plan = _conditional_plan(name, feature, values, success, n_cells, settings)
                if plan is None:
                    continue
                counts = _held_out([cell for _, _, cell in plan], values, success, folds, settings)
                score = _plan_score(counts)
                if counts is not None and score > best_score + settings.min_conditional_gain:
                    best_score, best_plan, best_counts = score, plan, counts
        if best_counts is None:
            continue
        for (conditions, fit, cell), held_out in zip(best_plan, best_counts, strict=True):
            # A fit's mask is local to its cell, so cite and count within the cell.
            finding = _parameter_finding(
                str(agent), str(parameter), fit, conditions, sessions[cell], success[cell], settings
            )
            finding.p_value = held_out.p_value()
            findings.append(finding)
    return findings


@dataclass(frozen=True)
class HeldOutCounts:
    """Cross-validated counts for one cell: sessions of one half judged by the range fitted on the other."""

    k_in: int
    n_in: int
    k_out: int
    n_out: int

    def p_value(self) -> float:
        """One-sided Fisher test on held-out sessions: valid despite the range search, because no session
        helped choose the range it is judged by."""
        return fisher_p_value(self.k_in, self.n_in, self.k_out, self.n_out, alternative="greater")


def _held_out(
    cells: list[np.ndarray], values: np.ndarray, success: np.ndarray, folds: np.ndarray, settings: DreamSettings
) -> list[HeldOutCounts] | None:
    """Two-fold cross-validation of a plan (one range per context cell); None when a half is too thin."""
    counts = []
    for cell in cells:
        k_in = n_in = k_out = n_out = 0
        for train in (folds, ~folds):
            fit_rows, test_rows = cell & train, cell & ~train
            fit = best_range(values[fit_rows], success[fit_rows], settings)
            if fit is None:
                return None
            inside = test_rows & (values >= fit.low) & (values <= fit.high)
            outside = test_rows & ~inside
            k_in += int(success[inside].sum())
            n_in += int(inside.sum())
            k_out += int(success[outside].sum())
            n_out += int(outside.sum())
        counts.append(HeldOutCounts(k_in, n_in, k_out, n_out))
    return counts


def _plan_score(counts: list[HeldOutCounts] | None) -> float:
    """Held-out success of sessions inside the recommended ranges (Wilson lower bound): conditioning on a
    context feature only wins when it generalizes, not because more cells give more chances to fit noise."""
    if counts is None:
        return 0.0
    hits, total = sum(c.k_in for c in counts), sum(c.n_in for c in counts)
    return float(wilson_lower_bounds(np.array([hits]), np.array([total]))[0])


def _conditional_plan(
    name: str, feature: np.ndarray, values: np.ndarray, success: np.ndarray, n_cells: int,
    settings: DreamSettings,
) -> list[tuple[list[Condition], RangeFit, np.ndarray]] | None:
    """One range per context cell, or None when some cell is too small to fit (the data does not support
    conditioning on this feature at this resolution)."""
    plan = []
    for low, high in _cells(feature, n_cells):
        in_cell = _in_cell(feature, low, high)
        fit = best_range(values[in_cell], success[in_cell], settings)
        if fit is None:
            return None
        plan.append(([Condition(feature=name, min=low, max=high)], fit, in_cell))
    return plan
