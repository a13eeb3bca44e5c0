"""Which values of a decision parameter go with success, and in which conditions.

Iterated nightly, this is a context-conditional cross-entropy method mediated by the lake. For each decision
parameter the elite (the successful sessions the joint model credits most for their settings,
`elite_sessions`) defines the recommendation: the central band of their values as the range agents sample
from while training, and their median as the value to fly when not exploring. Sessions that followed last
night's range are the next population, so the band narrows as the elite concentrates, and only as far.

What is tested is the claim "this parameter matters": a two-sample Kolmogorov-Smirnov test of successful vs
failed sessions' values (pooled, and within context cells when the rule is conditional), one p-value per
parameter so searching ranges and cells does not inflate the false discovery rate; a third look is the
likelihood-ratio test of a joint logistic model of success on all parameters (`joint.py`), which sees a
parameter whose effect is masked by the others' (Bonferroni over the three looks). Conditioning on a context
feature is kept only when ranges fitted per cell on one half of the sessions catch more successes on the other
half than one range does; a cell with too few successful sessions of its own borrows the unconditional range,
so every cell of a kept parameter gets a recommendation. A parameter that fails the test still gets a
low-confidence strategy (`strategy_finding`): where the elite put it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.dreaming.findings import Finding, describe_conditions, format_number
from pipeline.dreaming.joint import JointFit, fit_joint_model
from pipeline.dreaming.settings import DreamSettings
from pipeline.dreaming.statistics import wilson_lower_bounds
from pipeline.lazy import deferred
from pipeline.playbooks.model import Condition, Recommendation, Rule, Section
from pipeline.playbooks.safe_text import code_span

combine_pvalues = deferred("scipy.stats", "combine_pvalues")  # scipy loads on the first test run
ks_2samp = deferred("scipy.stats", "ks_2samp")


@dataclass(frozen=True)
class EliteRange:
    """Where success concentrates: a value range and the median of the successful values inside it."""

    low: float
    high: float
    centre: float


@dataclass(frozen=True)
class CellFit:
    """One cell of a plan (the whole population for an unconditional rule) with its recommendation."""

    conditions: list[Condition]
    rows: np.ndarray  # which rows of the population the cell holds
    elite: EliteRange
    borrowed: bool  # True when the cell had too few successes and uses the unconditional range


def elite_range(values: np.ndarray, elite: np.ndarray, settings: DreamSettings) -> EliteRange | None:
    """The central `elite_band` of the elite sessions' values (see `elite_sessions`) and their median.
    None when there are fewer than `min_elite` elite sessions, since a range drawn around a handful of
    successes says more about luck.

    This is the cross-entropy method's update: next night's sessions sample where tonight's best ones were,
    so the range narrows exactly as fast as the elite agree and no faster. Picking the bins with the best
    success *rate* instead (tried first) narrowed on noise: a bin of twenty sessions that got lucky became a
    range a tenth as wide, and later nights could not see past it.
    """
    won = values[elite]
    if won.size < max(settings.min_elite, settings.min_support) or len(values) < 2 * settings.min_support:
        return None
    return central_band(won, settings.elite_band)


def central_band(won: np.ndarray, band: float) -> EliteRange:
    """The central `band` share of `won` and its median (kept inside the band): rules and strategies alike."""
    tail = (1 - band) / 2
    low, high = (_round(q) for q in np.quantile(won, [tail, 1 - tail]))
    return EliteRange(low=low, high=high, centre=min(max(_round(np.median(won)), low), high))


def best_rate_range(values: np.ndarray, success: np.ndarray, settings: DreamSettings) -> EliteRange | None:
    """The contiguous run of quantile bins with the best Wilson lower bound on success (which balances rate
    against support), and the median of the successful values inside it. None when fewer than `min_elite`
    sessions succeeded.

    This is the sharp, rate-based range `choose_plan` uses to ask whether conditioning on context
    generalizes: with a broad population a parameter whose optimum moves with a feature shows as bumps in
    rate at different values per cell. It is not what agents are told to sample: iterated night after
    night it narrows on noise (see `elite_range`).
    """
    n = len(values)
    if int(success.sum()) < max(settings.min_elite, settings.min_support) or n < 2 * settings.min_support:
        return None
    n_bins = int(np.clip(n // settings.min_bin_sessions, 2, settings.max_bins))
    edges = np.unique(np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1], method="lower"))
    bins = np.searchsorted(edges, values, side="right")
    n_bins = len(edges) + 1
    cum_n = np.concatenate([[0], np.cumsum(np.bincount(bins, minlength=n_bins))])
    cum_k = np.concatenate(
        [[0], np.cumsum(np.bincount(bins, weights=success.astype(float), minlength=n_bins))]
    )
    starts, ends = np.triu_indices(n_bins)  # range = bins start..end inclusive
    n_in = cum_n[ends + 1] - cum_n[starts]
    k_in = cum_k[ends + 1] - cum_k[starts]
    scores = np.where(k_in >= settings.min_support, wilson_lower_bounds(k_in, n_in), -1.0)
    best = np.lexsort((starts, n_in, -scores))[0]  # ties: the narrowest, then the lowest range
    inside = values[(bins >= starts[best]) & (bins <= ends[best])]
    won = values[(bins >= starts[best]) & (bins <= ends[best]) & success]
    return EliteRange(low=_round(inside.min()), high=_round(inside.max()), centre=_round(np.median(won)))


def _round(value: float) -> float:
    """Four significant digits: stable texts and rules, finer than any parameter's effect."""
    return float(f"{float(value):.4g}")


def separation_p_value(values: np.ndarray, success: np.ndarray) -> float:
    """Do successful sessions choose values distributed differently from failed ones? KS sees shifts in
    location and in spread alike, so an optimum in the middle of the prior is detected as well as one at an
    end; a rank-sum test sees only the first."""
    won, lost = values[success], values[~success]
    if won.size < 2 or lost.size < 2:
        return 1.0
    return float(ks_2samp(won, lost).pvalue)


def _cells(feature: np.ndarray, n_cells: int) -> list[tuple[float | None, float | None]]:
    """Quantile cells of a context feature as half-open [min, max) intervals with open outer ends."""
    cuts = np.unique([_round(c) for c in np.quantile(feature, np.linspace(0, 1, n_cells + 1)[1:-1])])
    bounds = [None, *[float(c) for c in cuts], None]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _in_cell(feature: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    mask = np.ones(len(feature), dtype=bool)
    if low is not None:
        mask &= feature >= low
    if high is not None:
        mask &= feature < high
    return mask


def _inside(values: np.ndarray, elite: EliteRange) -> np.ndarray:
    return (values >= elite.low) & (values <= elite.high)


def _fit_plan(
    cells: list[tuple[list[Condition], np.ndarray]],
    values: np.ndarray,
    elite: np.ndarray,
    fallback: EliteRange,
    settings: DreamSettings,
) -> list[CellFit]:
    fits = []
    for conditions, rows in cells:
        own = elite_range(values[rows], elite[rows], settings)
        fits.append(CellFit(conditions, rows, own or fallback, borrowed=own is None))
    return fits


def _held_out_score(
    cells: list[tuple[list[Condition], np.ndarray]],
    values: np.ndarray,
    success: np.ndarray,
    folds: np.ndarray,
    settings: DreamSettings,
    pooled: bool = False,
) -> float:
    """Two-fold cross-fit: ranges from one half judged by the success of the other half's sessions inside
    them (Wilson lower bound, so a plan cannot win by catching a few lucky sessions in a narrow band).
    `pooled` judges the one range of all cells instead, in the same cells: the baseline a split must beat."""
    hits = total = 0
    for train in (folds, ~folds):
        fallback = best_rate_range(values[train], success[train], settings)
        if fallback is None:
            return 0.0
        for _, rows in cells:
            own = None if pooled else best_rate_range(values[rows & train], success[rows & train], settings)
            own = own or fallback
            judged = rows & ~train & _inside(values, own)
            hits += int(success[judged].sum())
            total += int(judged.sum())
    return float(wilson_lower_bounds(np.array([hits]), np.array([total]))[0])


def choose_plan(
    values: np.ndarray,
    success: np.ndarray,
    context: dict[str, np.ndarray],
    settings: DreamSettings,
) -> list[tuple[list[Condition], np.ndarray]]:
    """The cells to recommend per: one unconditional cell unless per-cell ranges generalize better than the
    one range does *in the same cells*. Comparing within the same cells matters: a feature that moves the
    success rate by itself (stronger gravity is harder whatever the parameter) would otherwise look like a
    reason to split every parameter on it."""
    best: list[tuple[list[Condition], np.ndarray]] = [([], np.ones(len(values), dtype=bool))]
    folds = np.arange(len(values)) % 2 == 0
    best_gain = settings.min_conditional_gain
    for name in sorted(context):
        feature = context[name]
        if np.isnan(feature).any() or np.unique(feature).size < 2:
            continue
        for n_cells in settings.context_splits:
            cells = [
                ([Condition(feature=name, min=low, max=high)], _in_cell(feature, low, high))
                for low, high in _cells(feature, n_cells)
            ]
            gain = _held_out_score(cells, values, success, folds, settings) - _held_out_score(
                cells, values, success, folds, settings, pooled=True
            )
            if gain > best_gain:
                best_gain, best = gain, cells
    return best


def _finding(
    agent: str,
    parameter: str,
    fit: CellFit,
    values: np.ndarray,
    success: np.ndarray,
    sessions: np.ndarray,
    p_value: float,
    plan_diff: float,
    settings: DreamSettings,
) -> Finding:
    """A cell's entry: counts within the cell (what the reader checks), the plan's effect as the gate."""
    rows, elite = fit.rows, fit.elite
    inside = rows & _inside(values, elite)
    outside = rows & ~inside
    k_in, n_in = int(success[inside].sum()), int(inside.sum())
    k_out, n_out = int(success[outside].sum()), int(outside.sum())
    cited = np.sort(sessions[inside & success])[: settings.evidence_limit]
    where = describe_conditions(fit.conditions)
    text = (
        f"{'When ' + where + ', set' if where else 'Set'} {code_span(parameter)} between {format_number(elite.low)} and "
        f"{format_number(elite.high)} (successful sessions' median {format_number(elite.centre)}): "
        f"{k_in}/{n_in} sessions in this range succeeded ({k_in / max(n_in, 1):.0%}) vs {k_out}/{n_out} "
        f"outside it ({k_out / max(n_out, 1):.0%})."
        + (
            " Too few successes in these conditions: the range of all conditions applies."
            if fit.borrowed
            else ""
        )
    )
    rule = Rule(
        kind="parameter",
        parameter=parameter,
        conditions=fit.conditions,
        recommend=Recommendation(min=elite.low, max=elite.high, value=elite.centre),
    )
    features = ",".join(sorted(c.feature for c in fit.conditions))
    return Finding(
        kind="parameter",
        agent=agent,
        section=Section.RULES,
        rule=rule,
        text=text,
        k_with=k_in,
        n_with=n_in,
        k_without=k_out,
        n_without=n_out,
        p_value=p_value,
        evidence=[str(s) for s in cited],
        members=sessions[inside],
        key=f"parameter|{agent}|{parameter}|{features}",
        gate_diff=plan_diff,
    )


def strategy_finding(
    agent: str,
    parameter: str,
    values: np.ndarray,
    success: np.ndarray,
    sessions: np.ndarray,
    p_value: float,
    settings: DreamSettings,
    elite: np.ndarray | None = None,
) -> Finding | None:
    """Where successful sessions put a parameter whose effect is not (yet) established: the central
    `strategy_band` of their values and their median.

    Kept only when a parameter has no rule (see `propose_ops`), so no parameter stays on the broad prior
    just because a night's sessions are too few to prove its effect: success needs every parameter right at
    once, and the successes' distribution is the best available guess. Its confidence is 1 - q, low by
    construction; the next nights' sessions sample inside it, and a harmful strategy is contradicted and
    retired like any entry.
    """
    won = values[success if elite is None else elite]
    if won.size < max(settings.min_elite, settings.min_support):
        return None
    band = central_band(won, settings.strategy_band)
    low, high, centre = band.low, band.high, band.centre
    inside = (values >= low) & (values <= high)
    k_in, n_in = int(success[inside].sum()), int(inside.sum())
    k_out, n_out = int(success[~inside].sum()), int((~inside).sum())
    text = (
        f"Not yet shown to matter: successful sessions set {code_span(parameter)} between {format_number(low)} and "
        f"{format_number(high)} (the central {settings.strategy_band:.0%} of {won.size} "
        f"{'best-judged ' if elite is not None else ''}successes, median "
        f"{format_number(centre)}); {k_in}/{n_in} sessions in this range succeeded vs {k_out}/{n_out} outside."
    )
    rule = Rule(
        kind="parameter",
        parameter=parameter,
        conditions=[],
        recommend=Recommendation(min=low, max=high, value=centre),
    )
    return Finding(
        kind="parameter",
        agent=agent,
        section=Section.STRATEGIES,
        rule=rule,
        text=text,
        k_with=k_in,
        n_with=n_in,
        k_without=k_out,
        n_without=n_out,
        p_value=p_value,
        evidence=[str(s) for s in np.sort(sessions[inside & success])[: settings.evidence_limit]],
        members=sessions[inside],
        key=f"parameter|{agent}|{parameter}|",
        tags={"strategy": "unproven"},
    )


def _restricted(fit: CellFit, rows: np.ndarray) -> CellFit:
    return CellFit(fit.conditions, fit.rows & rows, fit.elite, fit.borrowed)


def _plan_diff(fits: list[CellFit], values: np.ndarray, success: np.ndarray) -> float:
    """Success inside the plan's ranges minus outside them, pooled over its cells."""
    inside = np.zeros(len(values), dtype=bool)
    for fit in fits:
        inside |= fit.rows & _inside(values, fit.elite)
    if inside.all() or not inside.any():
        return 0.0
    return float(success[inside].mean() - success[~inside].mean())


def _plan_p_value(fits: list[CellFit], values: np.ndarray, success: np.ndarray) -> float:
    """The parameter matters if it separates success pooled, or within the plan's cells (Fisher's method);
    the smaller of the two, doubled (Bonferroni), so looking twice costs its price."""
    pooled = separation_p_value(values, success)
    if len(fits) == 1:
        return pooled
    per_cell = [separation_p_value(values[f.rows], success[f.rows]) for f in fits]
    within = float(combine_pvalues(per_cell, method="fisher").pvalue)
    return min(1.0, 2 * min(pooled, within))


def others_in_range(frame: pl.DataFrame, settings: DreamSettings) -> pl.DataFrame:
    """Per (session, parameter): how many of the session's *other* parameters sat in the central band of
    their successful sessions' values tonight (`elite_range` over all successes: a stand-in for the
    unconditional recommended range, which is drawn from the elite only).

    Success needs every parameter right at once, so one parameter's marginal effect is diluted by sessions
    that failed because of another. Judging a parameter among the sessions whose other parameters were mostly
    in range attributes success more sharply, and stays an honest test: which sessions qualify depends only
    on the other parameters' values, which are drawn independently of this one's.
    """
    fits = []
    for (parameter,), group in frame.partition_by(["parameter"], as_dict=True).items():
        fit = elite_range(group["value"].to_numpy(), group["success"].to_numpy().astype(bool), settings)
        if fit is not None:
            fits.append({"parameter": parameter, "low": fit.low, "high": fit.high})
    if not fits:
        return frame.select("session_id", "parameter").with_columns(pl.lit(0).alias("others_in"))
    flagged = frame.join(pl.DataFrame(fits), on="parameter", how="left").with_columns(
        pl.col("value").is_between(pl.col("low"), pl.col("high")).fill_null(False).cast(pl.Int64).alias("in")
    )
    return flagged.select(
        "session_id", "parameter", (pl.col("in").sum().over("session_id") - pl.col("in")).alias("others_in")
    )


def elite_sessions(frame: pl.DataFrame, joint: JointFit | None, settings: DreamSettings) -> pl.DataFrame:
    """Which successful sessions shape ranges and preferred values: the best-judged `elite_share` of them
    (at least `min_elite`), ranked by the log-odds the joint model credits to their settings; every
    successful session without a model.

    A success is one noisy draw: with several parameters, a session far from the best settings still lands when
    its conditions are kind, and the median of all successes drifts toward wherever last night sampled most.
    Keeping the successes whose settings were judged best, as the cross-entropy method keeps its best-scored
    candidates, moves ranges toward the best settings night after night (lunar loop after four nights: 68%
    held-out with all successes, 84-87% with this elite; benchmarks/README.md). Ranking by the *other*
    parameters' credit only was measured too and is far worse (41-50%): among sessions whose other settings
    were good, success tolerates a poor value of this one, so those successes say least about it.
    """
    won = frame.filter(pl.col("success")).select("session_id").unique()
    if joint is None or settings.elite_share == 0:
        return won.with_columns(pl.lit(True).alias("elite"))
    ranked = won.join(joint.credit, on="session_id", how="inner").sort(
        ["credit", "session_id"], descending=[True, False]
    )
    keep = min(ranked.height, max(settings.min_elite, int(np.ceil(settings.elite_share * ranked.height))))
    return ranked.head(keep).select("session_id", pl.lit(True).alias("elite"))


def mine_parameters(
    decisions: pl.DataFrame, outcomes: pl.DataFrame, features: pl.DataFrame, settings: DreamSettings
) -> list[Finding]:
    """Range rules for every numeric decision parameter, conditional on context where that generalizes.

    `decisions`: session_id, agent, parameter, value; `outcomes`: session_id, success (learning sessions
    only); `features`: session_id + numeric context columns. Returns one finding per cell of each parameter
    whose range could be estimated; significance is decided later across all findings of the night (BH).
    Ranges are fitted on all sessions; whether a parameter matters (test and effect) is judged both on all of
    them and among the sessions whose other parameters were at least as often in range as the median
    session's (`others_in_range`).
    """
    frame = decisions.filter(pl.col("value").is_not_null() & pl.col("value").is_finite()).join(
        outcomes.select("session_id", "success"), on="session_id", how="inner"
    )
    if frame.is_empty():
        return []
    joint = fit_joint_model(frame, outcomes, features, settings) if settings.joint_model else None
    frame = frame.join(elite_sessions(frame, joint, settings), on="session_id", how="left").with_columns(
        pl.col("elite").fill_null(False)
    )
    frame = frame.join(others_in_range(frame, settings), on=["session_id", "parameter"], how="left")
    feature_names = [c for c in features.columns if c != "session_id"]
    findings: list[Finding] = []
    for (agent, parameter), group in sorted(
        frame.partition_by(["agent", "parameter"], as_dict=True).items(), key=lambda item: item[0]
    ):
        group = group.join(features, on="session_id", how="left").sort("session_id")
        values = group["value"].to_numpy()
        success = group["success"].to_numpy().astype(bool)
        elite = group["elite"].to_numpy().astype(bool)
        sessions = group["session_id"].to_numpy()
        overall = elite_range(values, elite, settings)
        if overall is None or (~success).sum() < settings.min_support:
            continue
        context = {name: group[name].cast(pl.Float64).fill_null(np.nan).to_numpy() for name in feature_names}
        fits = _fit_plan(choose_plan(values, success, context, settings), values, elite, overall, settings)
        others_in = group["others_in"].to_numpy()
        judged = (
            others_in >= np.median(others_in) if settings.joint_attribution else np.ones(len(values), bool)
        )
        attributed = [_restricted(f, judged) for f in fits]
        # Several looks (all sessions, attributed sessions, the joint model): the smallest p-value pays a
        # Bonferroni factor for their number.
        looks = [_plan_p_value(fits, values, success), _plan_p_value(attributed, values, success)]
        if joint is not None and parameter in joint.p_values:
            looks.append(joint.p_values[str(parameter)])
        p_value = min(1.0, len(looks) * min(looks))
        plan_diff = max(_plan_diff(fits, values, success), _plan_diff(attributed, values, success))
        for fit in fits:
            findings.append(
                _finding(
                    str(agent), str(parameter), fit, values, success, sessions, p_value, plan_diff, settings
                )
            )
        if settings.strategy_band > 0:
            strategy = strategy_finding(
                str(agent), str(parameter), values, success, sessions, p_value, settings, elite
            )
            findings += [strategy] if strategy is not None else []
    return findings
