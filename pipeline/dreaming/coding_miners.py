"""Find tonight's candidate coding lessons (see `coding_lessons`), per scope, and word them as instructions.

Candidates are enumerated with a few joins over the window's action parts, tested with Fisher's exact test,
and the best one per situation is kept (the best prerequisite of a command, the best next action after an
error, the best alternative to an action), so correlated habits do not each become an entry. A lesson is
scoped to a project unless it holds in two projects or more, in which case one "anywhere" entry replaces them.
Entry texts come from templates; the only session-controlled pieces are actions, error signatures and project
names, each redacted, stripped to one line and quoted as code by `code_literal`.
"""

from __future__ import annotations

import polars as pl

from pipeline.dreaming.coding_lessons import (
    SCOPE_FEATURE,
    Counts,
    action_parts,
    count_rule,
    intent_of,
    is_diagnostic,
    is_observation,
    lesson_key,
    scope_condition,
)
from pipeline.dreaming.findings import Finding
from pipeline.dreaming.lesson_texts import code_literal, lesson_text, rate
from pipeline.dreaming.settings import DreamSettings
from pipeline.dreaming.statistics import fisher_p_value
from pipeline.playbooks.model import Rule, Section

CODING_KINDS = frozenset({"precondition", "recovery", "substitution", "hazard"})
HAZARD_FAIL_RATE = 0.5


def _best_per(frame: pl.DataFrame, group: list[str]) -> pl.DataFrame:
    return frame.sort("p", *group).group_by(group, maintain_order=True).head(1)


def _with_p(frame: pl.DataFrame, alternative: str) -> pl.DataFrame:
    p = [
        fisher_p_value(int(k1), int(n1), int(k2), int(n2), alternative=alternative)
        for k1, n1, k2, n2 in frame.select("k1", "n1", "k2", "n2").iter_rows()
    ]
    return frame.with_columns(pl.Series("p", p, dtype=pl.Float64))


def _precondition_rules(parts: pl.DataFrame, outcome: pl.DataFrame, s: DreamSettings) -> list[Rule]:
    """The best prerequisite of each command. For a command that fails, the prerequisite must make it fail
    less (the mechanism); a command that does not fail (`git push`, `npm publish`) can still need one when
    doing it first goes with success ("run the tests before `git push`"), provided the command is not one an
    agent runs whatever happened (tests, reads, edits): the ordinary run -> edit -> run loop never gates."""
    first = parts.group_by("session_id", "action").agg(
        pl.col("step").min().alias("first"), pl.col("failed").any().alias("b_failed")
    )
    fails = first.filter(pl.col("b_failed")).group_by("action").len()
    failing = set(fails.filter(pl.col("len") >= s.min_support)["action"].to_list())
    quiet = {a for a in first["action"].unique().to_list() if a not in failing and not is_diagnostic(a)}
    pairs = pl.concat(
        [
            _prerequisite_pairs(first, outcome, failing, s, mechanism=True),
            _prerequisite_pairs(first, outcome, quiet, s, mechanism=False),
        ]
    )
    pairs = pairs.filter(
        [
            not is_observation(a) and intent_of(a) != intent_of(b)
            for a, b in pairs.select("a", "b").iter_rows()
        ]
    )
    if pairs.is_empty():
        return []
    ranked = _with_p(pairs, "greater").sort("p", "a")
    targets = first.filter(pl.col("action").is_in(sorted(failing | quiet))).join(outcome, on="session_id")
    chosen = _conditional_prerequisites(ranked, first, targets, failing, s)
    return [
        Rule(kind="precondition", action=b, prerequisite=a) for b, prereqs in chosen.items() for a in prereqs
    ]


def _prerequisite_pairs(
    first: pl.DataFrame, outcome: pl.DataFrame, targets: set[str], s: DreamSettings, mechanism: bool
) -> pl.DataFrame:
    """(a, b, k1, n1, k2, n2) for each action a that came before target b in enough sessions, with the
    sessions that ran b split by whether a came first. With `mechanism`, b must fail less when a came
    first; without, the sessions that did a first must succeed more."""
    rows = first.filter(pl.col("action").is_in(sorted(targets))).join(outcome, on="session_id")
    totals = rows.group_by("action").agg(
        pl.len().alias("n"), pl.col("success").sum().alias("k"), pl.col("b_failed").sum().alias("f")
    )
    pairs = (
        rows.rename({"action": "b", "first": "b_first"})
        .join(
            first.select("session_id", pl.col("action").alias("a"), pl.col("first").alias("a_first")),
            on="session_id",
        )
        .filter((pl.col("a_first") < pl.col("b_first")) & (pl.col("a") != pl.col("b")))
        .group_by("a", "b")
        .agg(pl.len().alias("n1"), pl.col("success").sum().alias("k1"), pl.col("b_failed").sum().alias("f1"))
        .join(totals.rename({"action": "b"}), on="b")
        .with_columns(
            (pl.col("n") - pl.col("n1")).alias("n2"),
            (pl.col("k") - pl.col("k1")).alias("k2"),
            (pl.col("f") - pl.col("f1")).alias("f2"),
        )
        .filter((pl.col("n1") >= s.min_support) & (pl.col("n2") >= s.min_support))
    )
    if mechanism:  # the command fails less often when the prerequisite came first
        pairs = pairs.filter(pl.col("f2") / pl.col("n2") - pl.col("f1") / pl.col("n1") >= s.min_effect)
    else:
        pairs = pairs.filter(pl.col("k1") / pl.col("n1") - pl.col("k2") / pl.col("n2") >= s.min_effect)
    return pairs.select("a", "b", *(pl.col(c).cast(pl.Int64) for c in ("k1", "n1", "k2", "n2")))


def _conditional_prerequisites(
    ranked: pl.DataFrame, first: pl.DataFrame, targets: pl.DataFrame, failing: set[str], s: DreamSettings
) -> dict[str, list[str]]:
    """The best prerequisite of each command, then any other that still matters among the sessions that
    already ran the chosen ones first (a repository can need `pip install -e .` *and* a `.env` before its
    tests). The conditional test is what keeps a habit that merely travels with a real prerequisite out:
    given the real one, the habit no longer separates success from failure."""
    order = first.select("session_id", pl.col("action").alias("a"), pl.col("first").alias("a_first"))
    chosen: dict[str, list[str]] = {}
    for b in ranked["b"].unique(maintain_order=True).to_list():
        candidates = ranked.filter(pl.col("b") == b)["a"].to_list()
        runs = targets.filter(pl.col("action") == b).select("session_id", "first", "success", "b_failed")
        preceded = (
            runs.join(order, on="session_id")
            .filter(pl.col("a_first") < pl.col("first"))
            .group_by("session_id")
            .agg(pl.col("a"))
        )
        before = {sid: set(actions) for sid, actions in preceded.iter_rows()}
        rows = [(sid, bool(ok), bool(failed)) for sid, _, ok, failed in runs.iter_rows()]
        picked = [candidates[0]]
        for a in candidates[1:]:
            base = [r for r in rows if set(picked) <= before.get(r[0], set())]
            with_a = [r for r in base if a in before.get(r[0], set())]
            without = [r for r in base if a not in before.get(r[0], set())]
            if len(with_a) < s.min_support or len(without) < s.min_support:
                continue
            k1, k2 = sum(r[1] for r in with_a), sum(r[1] for r in without)
            if b in failing:  # the mechanism, as for the first prerequisite: b fails less after a
                gain = sum(r[2] for r in without) / len(without) - sum(r[2] for r in with_a) / len(with_a)
            else:  # a command that does not fail: doing a first goes with success
                gain = k1 / len(with_a) - k2 / len(without)
            p = fisher_p_value(k1, len(with_a), k2, len(without), alternative="greater")
            if gain >= s.min_effect and p < s.fdr:
                picked.append(a)
        chosen[b] = picked
    return chosen


def _recovery_rules(parts: pl.DataFrame, outcome: pl.DataFrame, s: DreamSettings) -> list[Rule]:
    hits = (
        parts.filter(pl.col("signature").is_not_null())
        .group_by("session_id", "signature")
        .agg(pl.col("step").min().alias("error_step"))
    )
    if hits.is_empty():
        return []
    following = (
        parts.select("session_id", "step", "action")
        .join(hits, on="session_id")
        .filter(pl.col("step") // 100 > pl.col("error_step") // 100)
        .sort("session_id", "signature", "step")
        .group_by("session_id", "signature", maintain_order=True)
        .agg(pl.col("action").first().alias("next"))
    )
    hit = hits.join(following, on=["session_id", "signature"], how="left").join(outcome, on="session_id")
    totals = hit.group_by("signature").agg(pl.len().alias("n"), pl.col("success").sum().alias("k"))
    options = (
        hit.drop_nulls("next")
        .group_by("signature", "next")
        .agg(pl.len().alias("n1"), pl.col("success").sum().alias("k1"))
        .join(totals, on="signature")
        .with_columns((pl.col("n") - pl.col("n1")).alias("n2"), (pl.col("k") - pl.col("k1")).alias("k2"))
        .filter((pl.col("n1") >= s.min_support) & (pl.col("n2") >= s.min_support))
    )
    if options.is_empty():
        return []
    best = _best_per(_with_p(options, "greater"), ["signature"])
    return [
        Rule(kind="recovery", error_signature=sig, action=nxt, sequence=[nxt])
        for sig, nxt in best.select("signature", "next").iter_rows()
    ]


def _substitution_rules(parts: pl.DataFrame, outcome: pl.DataFrame, s: DreamSettings) -> list[Rule]:
    used = parts.select("session_id", "action").unique().join(outcome, on="session_id")
    counts = used.group_by("action").agg(pl.len().alias("n"))
    actions = [a for a, n in counts.iter_rows() if n >= s.min_support]
    by_intent: dict[str, list[str]] = {}
    for action in actions:
        by_intent.setdefault(intent_of(action), []).append(action)
    rules: list[tuple[float, Rule]] = []
    sets = {a: set(used.filter(pl.col("action") == a)["session_id"].to_list()) for a in actions}
    success = dict(outcome.select("session_id", "success").iter_rows())
    for group in by_intent.values():
        for worse in sorted(group):
            best: tuple[float, str] | None = None
            for better in sorted(group):
                if better == worse:
                    continue
                y, x = sets[better] - sets[worse], sets[worse] - sets[better]
                if len(y) < s.min_support or len(x) < s.min_support:
                    continue
                k1, k2 = sum(success[i] for i in y), sum(success[i] for i in x)
                if k1 / len(y) <= k2 / len(x):
                    continue
                p = fisher_p_value(k1, len(y), k2, len(x), alternative="greater")
                if best is None or p < best[0]:
                    best = (p, better)
            if best is not None:
                rules.append((best[0], Rule(kind="substitution", action=best[1], alternative=worse)))
    return [rule for _, rule in sorted(rules, key=lambda pr: (pr[0], pr[1].alternative or ""))]


def _hazard_rules(
    parts: pl.DataFrame, outcome: pl.DataFrame, s: DreamSettings, explained: set[str]
) -> list[Rule]:
    calls = parts.group_by("action").agg(
        pl.len().alias("calls"),
        pl.col("failed").sum().alias("fails"),
        pl.col("session_id").n_unique().alias("n1"),
    )
    risky = calls.filter(
        (pl.col("n1") >= s.min_support) & (pl.col("fails") / pl.col("calls") >= HAZARD_FAIL_RATE)
    )["action"].to_list()
    return [
        Rule(kind="hazard", action=action)
        for action in sorted(risky)
        if not is_diagnostic(action) and action not in explained
    ]


def lesson_finding(rule: Rule, counts: Counts, scope: str | None, settings: DreamSettings) -> Finding:
    """The finding a lesson's counts make: its rule (scoped; a precondition names the failure it prevents),
    its template text, the one-sided test in the direction it claims and the sessions it cites."""
    hazard = rule.kind == "hazard"
    update: dict[str, object] = {"conditions": scope_condition(scope)}
    if rule.kind == "precondition":
        update["error_signature"] = counts.common_error  # the failure the prerequisite prevents
    rule = rule.model_copy(update=update)
    return Finding(
        kind=rule.kind,
        agent="*",
        section={"precondition": Section.PROCEDURES, "recovery": Section.PROCEDURES}.get(
            rule.kind, Section.MISTAKES
        ),
        rule=rule,
        text=lesson_text(rule, counts),
        k_with=counts.k_with,
        n_with=counts.n_with,
        k_without=counts.k_without,
        n_without=counts.n_without,
        p_value=fisher_p_value(
            counts.k_with,
            counts.n_with,
            counts.k_without,
            counts.n_without,
            alternative="less" if hazard else "greater",
        ),
        evidence=counts.evidence[: settings.evidence_limit],
        key=lesson_key(rule),
    )


def _scope_candidates(
    parts: pl.DataFrame, sessions: pl.DataFrame, scope: str | None, settings: DreamSettings
) -> list[Finding]:
    outcome = (sessions if scope is None else sessions.filter(pl.col(SCOPE_FEATURE) == scope)).select(
        "session_id", "success"
    )
    scoped = parts.join(outcome.select("session_id"), on="session_id", how="semi")
    if scoped.is_empty():
        return []
    rules = _precondition_rules(scoped, outcome, settings) + _recovery_rules(scoped, outcome, settings)
    rules += _substitution_rules(scoped, outcome, settings)
    explained = {r.action for r in rules if r.kind == "precondition"} | {
        r.alternative for r in rules if r.kind == "substitution"
    }
    rules += _hazard_rules(scoped, outcome, settings, {a for a in explained if a})
    findings = []
    for rule in rules:
        scoped_rule = rule.model_copy(update={"conditions": scope_condition(scope)})
        counts = count_rule(scoped_rule, parts, sessions, settings.evidence_limit)
        if counts is not None and counts.n_with >= settings.min_support and counts.n_without > 0:
            finding = lesson_finding(rule, counts, scope, settings)
            finding.tags["calls"] = whole_calls(scoped, rule)
            finding.members = counts.members or []
            findings.append(finding)
    return findings


def whole_calls(parts: pl.DataFrame, rule: Rule) -> str:
    """The whole command lines the actions a lesson names came from (a part alone can look harmless:
    `curl -fsSL <url>` of `curl -fsSL <url> | sh`), for the safety screen."""
    named = [a for a in (rule.action, rule.prerequisite, rule.alternative) if a]
    if "call" not in parts.columns or not named:
        return ""
    calls = parts.filter(pl.col("action").is_in(named))["call"].unique().sort().head(5).to_list()
    return " ; ".join(calls)


def _holds(finding: Finding, settings: DreamSettings) -> bool:
    sign = -1 if finding.kind == "hazard" else 1
    return finding.n_with >= settings.min_support and sign * finding.diff >= settings.min_effect


def mine_coding_lessons(
    steps: pl.DataFrame, sessions: pl.DataFrame, settings: DreamSettings
) -> list[Finding]:
    """Candidate lessons of every kind and scope. `steps`: session_id, step, action, failed, signature;
    `sessions`: session_id, success, project. A lesson found in one project stays scoped to it; one that holds
    in two projects or more becomes a single "anywhere" lesson."""
    if steps.is_empty() or "action" not in steps.columns:
        return []
    if SCOPE_FEATURE not in sessions.columns:
        sessions = sessions.with_columns(pl.lit(None, dtype=pl.String).alias(SCOPE_FEATURE))
    parts = action_parts(steps.filter(pl.col("action").is_not_null()))
    sizes = sessions.drop_nulls(SCOPE_FEATURE).group_by(SCOPE_FEATURE).len()
    projects = sorted(p for p, n in sizes.iter_rows() if n >= settings.min_support)
    scoped = {p: _scope_candidates(parts, sessions, p, settings) for p in projects}
    anywhere = {f.key.replace("|*|", "|", 1): f for f in _scope_candidates(parts, sessions, None, settings)}
    kept: list[Finding] = []
    covered: set[str] = set()
    for bare, finding in anywhere.items():
        holding = [f for fs in scoped.values() for f in fs if _bare(f) == bare and _holds(f, settings)]
        if len(holding) >= 2 or not projects:
            kept.append(finding)
            covered.add(bare)
    kept += [f for p in projects for f in scoped[p] if _bare(f) not in covered]
    return kept


def _bare(finding: Finding) -> str:
    """A lesson's key without its scope, to compare one pattern across projects."""
    kind, _scope, rest = finding.key.removeprefix("lesson|").split("|", 2)
    return f"lesson|{kind}|{rest}"


def recent_contradiction(
    rule: Rule, steps: pl.DataFrame, sessions: pl.DataFrame, settings: DreamSettings
) -> str | None:
    """Why the newest day of the window says a coding lesson no longer holds, or None.

    A seven-day window still carries the days when the lesson was true, so staleness is judged on the
    newest day alone: the pattern no longer separates success from failure there (with enough sessions on
    both sides), or, for a prerequisite, the failure it prevented no longer happens to sessions that skip it.
    """
    if "date" not in sessions.columns or sessions.is_empty():
        return None
    newest = sessions["date"].max()
    today = sessions.filter(pl.col("date") == newest)
    if SCOPE_FEATURE not in today.columns:
        today = today.with_columns(pl.lit(None, dtype=pl.String).alias(SCOPE_FEATURE))
    parts = action_parts(
        steps.join(today.select("session_id"), on="session_id", how="semi").drop_nulls("action")
    )
    counts = count_rule(rule, parts, today, settings.evidence_limit)
    if counts is None or counts.n_with < settings.min_support or counts.n_without < settings.min_support:
        return None
    sign = -1 if rule.kind == "hazard" else 1
    diff = counts.k_with / counts.n_with - counts.k_without / counts.n_without
    day = str(newest)
    if rule.kind == "precondition" and rule.error_signature:
        skipped = _sessions_without_prerequisite(rule, parts)
        hit = parts.filter(
            pl.col("session_id").is_in(skipped.implode()) & (pl.col("signature") == rule.error_signature)
        )["session_id"].n_unique()
        if hit == 0:
            return (
                f"no longer holds on {day}: none of {counts.n_without} sessions that skipped "
                f"{code_literal(rule.prerequisite)} hit {code_literal(rule.error_signature)}"
            )
    if sign * diff <= 0:
        return (
            f"no longer holds on {day}: {rate(counts.k_with, counts.n_with)} with the pattern vs "
            f"{rate(counts.k_without, counts.n_without)} without"
        )
    return None


def _sessions_without_prerequisite(rule: Rule, parts: pl.DataFrame) -> pl.Series:
    first = parts.group_by("session_id", "action").agg(pl.col("step").min().alias("first"))
    target = first.filter(pl.col("action") == rule.action).select("session_id", pl.col("first").alias("b"))
    before = first.filter(pl.col("action") == rule.prerequisite).select(
        "session_id", pl.col("first").alias("a")
    )
    frame = target.join(before, on="session_id", how="left")
    return frame.filter(~(pl.col("a") < pl.col("b")).fill_null(False))["session_id"]
