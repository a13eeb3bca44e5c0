"""Coding lessons: what to do, where it holds, and the evidence, mined from the actions of coding sessions.

Tool names say nothing an agent can act on ("Bash -> Edit -> Bash" is every coding session). These miners
read *actions* (`pip install -e .`, `npm test -- --runInBand`, `sed -i`, `Edit *.py`) and *error
signatures*, within a *scope* (one project, or anywhere when the pattern holds in several projects), and
test every lesson against outcomes with the same support, FDR and effect controls as the other findings:

- precondition: sessions that ran A before B succeed more, *and* B itself fails less when A came first
  (the mechanism, so an incidental habit of successful sessions is not sold as a prerequisite);
- recovery: after error E, sessions whose next action was X succeed where those that did otherwise fail;
- substitution: for the same intent (editing a file, one test runner), X goes with failure where Y succeeds;
- hazard: an action whose own calls fail and whose sessions fail. Running tests, reading, searching and
  editing are never hazards: a red test run is how the ordinary run -> edit -> run loop finds its work.

Every lesson is a `Rule` that `count_rule` recounts on any set of sessions, so the same code mines tonight's
candidates, retires an entry whose pattern stopped separating success from failure, and verifies what a
language-model dreamer proposes (support and effect are recomputed, never taken from a proposal).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.actions import PART_SEPARATORS
from pipeline.playbooks.model import Condition, Rule
from pipeline.playbooks.safe_text import clean_value

SCOPE_FEATURE = "project"
ACTION_CHARS = 120
_EDIT_TOOLS = frozenset(
    {"Edit", "Write", "MultiEdit", "NotebookEdit", "apply_patch", "str_replace_based_edit_tool"}
)
_EDIT_PREFIXES = (
    "Edit ",
    "Write ",
    "MultiEdit ",
    "NotebookEdit ",
    "apply_patch",
    "sed -i",
    "perl -i",
    "perl -pi",
)
_OBSERVATION = frozenset(
    {
        "ls",
        "cat",
        "head",
        "tail",
        "grep",
        "rg",
        "find",
        "echo",
        "pwd",
        "cd",
        "wc",
        "git status",
        "git diff",
        "git log",
        "git show",
        "Read",
        "Grep",
        "Glob",
        "LS",
        "TodoWrite",
        "WebFetch",
        "WebSearch",
    }
)
# Running tests, builds and linters, and delegating: needed whatever happened, so never a hazard either.
_DIAGNOSTIC_PROGRAMS = _OBSERVATION | {
    "pytest",
    "python -m",
    "npm test",
    "npm run",
    "npx jest",
    "npx vitest",
    "jest",
    "vitest",
    "go test",
    "cargo test",
    "cargo build",
    "make test",
    "make",
    "tox",
    "ruff",
    "mypy",
    "eslint",
    "tsc",
    "Task",
}


@dataclass(frozen=True)
class Counts:
    """Successes/sessions with and without a lesson's pattern, and what the lesson cites."""

    k_with: int
    n_with: int
    k_without: int
    n_without: int
    evidence: list[str]
    common_error: str | None = None
    members: list[str] | None = None  # every session that shows the pattern (for the source-spread rule)
    population: list[str] | None = None  # every session counted, with or without the pattern


def action_parts(steps: pl.DataFrame) -> pl.DataFrame:
    """One row per part of a compound command (`a && b | c`), in order; a call's failure is its last part's."""
    if steps.is_empty():
        return steps.select(
            "session_id", "step", "action", "failed", "signature", pl.col("action").alias("call")
        )
    pattern = "|".join(sep.replace("|", r"\|") for sep in PART_SEPARATORS)
    exploded = (
        steps.select("session_id", "step", "action", "failed", "signature")
        .with_columns(pl.col("action").str.replace_all(pattern, "\u0000").str.split("\u0000").alias("part"))
        .with_columns(pl.col("part").list.len().alias("n_parts"))
        .explode("part")
        .with_columns(pl.int_range(pl.len()).over("session_id", "step").alias("index"))
    )
    last = pl.col("index") == pl.col("n_parts") - 1
    parts = exploded.select(
        "session_id",
        (pl.col("step") * 100 + pl.col("index")).alias("step"),
        pl.col("part").str.strip_chars().alias("action"),
        (pl.col("failed") & last).alias("failed"),
        pl.when(last).then(pl.col("signature")).alias("signature"),
        pl.col("action").alias("call"),  # the whole command line, so the safety screen sees `curl ... | sh`
    ).filter(pl.col("action") != "")
    # Actions are session text: each part is made inert once (redacted, one line, bounded, no markup).
    mapping = {v: clean_value(v, ACTION_CHARS) for v in parts["action"].unique().to_list()}
    if any(k != v for k, v in mapping.items()):
        parts = parts.with_columns(pl.col("action").replace_strict(mapping, return_dtype=pl.String))
    return parts


def intent_of(action: str) -> str:
    """What an action is for, so only real alternatives are compared: every file edit is one intent; a
    command's intent is its program and subcommand (`npm test`, `pytest`), whatever its flags and targets."""
    if action.startswith(_EDIT_PREFIXES) or action.split(" ", 1)[0] in _EDIT_TOOLS:
        return "edit files"
    words = [w for w in action.split() if not w.startswith(("-", "<")) and w not in (".", "..")]
    if not words:
        return action
    if words[0] in ("python", "python3", "uv", "poetry") and len(words) > 1 and words[1] in ("run",):
        words = words[2:] or words
    return " ".join(words[:2]) if len(words) > 1 and words[1].isalpha() else words[0]


def is_diagnostic(action: str) -> bool:
    """Actions an agent needs whatever happened (tests, reads, searches, edits): never a hazard."""
    return intent_of(action) == "edit files" or _program_in(action, _DIAGNOSTIC_PROGRAMS)


def is_observation(action: str) -> bool:
    """Reading, listing, searching, editing: what every session does before running anything. Never a
    prerequisite: "edit before testing" is the ordinary loop, and an edit tool preceding the test run is the
    shadow of a substitution (sessions that edited another way), not a step of its own."""
    return intent_of(action) == "edit files" or _program_in(action, _OBSERVATION)


def _program_in(action: str, programs: frozenset[str]) -> bool:
    """Whether the action's program, or program and subcommand, is one of `programs`."""
    words = action.split()
    return any(" ".join(words[:n]) in programs for n in (1, 2) if len(words) >= n)


def scope_condition(project: str | None) -> list[Condition]:
    return [] if project is None else [Condition(feature=SCOPE_FEATURE, in_set=[project])]


def rule_scope(rule: Rule) -> str | None:
    for condition in rule.conditions:
        if condition.feature == SCOPE_FEATURE and condition.in_set:
            return str(condition.in_set[0])
    return None


def lesson_key(rule: Rule) -> str:
    """What makes two coding lessons the same across nights: kind, scope and the actions/error they name."""
    parts = [
        rule.kind,
        (rule_scope(rule) or "*").replace("|", "/"),
        rule.prerequisite or "",
        rule.action or "",
        rule.alternative or "",
        rule.error_signature or "",
    ]
    return "lesson|" + "|".join(parts)


def _in_scope(sessions: pl.DataFrame, project: str | None) -> pl.DataFrame:
    return sessions if project is None else sessions.filter(pl.col(SCOPE_FEATURE) == project)


def _tally(frame: pl.DataFrame, flag: str, limit: int) -> tuple[int, int, int, int, list[str]]:
    """Counts for sessions where `flag` holds vs not; evidence: successes with it and failures without, in
    turn (both sides of the comparison stay cited when there are more than `limit`)."""
    with_, without = frame.filter(pl.col(flag)), frame.filter(~pl.col(flag))
    shown = with_.filter(pl.col("success"))["session_id"].sort().to_list()
    lacking = without.filter(~pl.col("success"))["session_id"].sort().to_list()
    cited = [s for pair in zip(shown, lacking, strict=False) for s in pair]
    cited += shown[len(cited) // 2 :] + lacking[len(cited) // 2 :]
    return (
        int(with_["success"].sum()),
        with_.height,
        int(without["success"].sum()),
        without.height,
        cited[:limit],
    )


def _ids(frame: pl.DataFrame) -> list[str]:
    return frame["session_id"].sort().to_list()


def _most_common(values: pl.Series) -> str | None:
    values = values.drop_nulls()
    if values.is_empty():
        return None
    counts = values.value_counts(sort=True)
    return str(counts.row(0)[0])


def _distinctive_error(steps: pl.DataFrame, failing: pl.Series, others: pl.Series) -> str | None:
    """The error signature most over-represented in `failing` sessions relative to `others`: what goes wrong
    *because of* the pattern, not what goes wrong everywhere (a timeout common to the whole project)."""
    errors = steps.filter(pl.col("signature").is_not_null()).select("session_id", "signature").unique()
    if errors.is_empty() or failing.is_empty():
        return None

    def share(ids: pl.Series) -> pl.DataFrame:
        n = max(ids.n_unique(), 1)
        return (
            errors.filter(pl.col("session_id").is_in(ids.implode()))
            .group_by("signature")
            .agg((pl.len() / n).alias("share"))
        )

    lift = (
        share(failing)
        .join(share(others), on="signature", how="left", suffix="_other")
        .with_columns((pl.col("share") - pl.col("share_other").fill_null(0.0)).alias("lift"))
        .filter(pl.col("lift") > 0)
    )
    if lift.is_empty():
        return None
    return str(lift.sort(["lift", "signature"], descending=[True, False]).row(0, named=True)["signature"])


def _count_rule(rule: Rule, parts: pl.DataFrame, sessions: pl.DataFrame, limit: int = 25) -> Counts | None:
    """Recount a coding lesson on these sessions (`parts` from `action_parts`; `sessions` with success and
    project). None when the rule is not a coding lesson or nothing in scope shows the situation it is about."""
    scoped = _in_scope(sessions, rule_scope(rule)).select("session_id", "success")
    steps = parts.join(scoped.select("session_id"), on="session_id", how="semi")
    if rule.kind == "precondition" and rule.action and rule.prerequisite:
        first = steps.group_by("session_id", "action").agg(pl.col("step").min().alias("first"))
        target = first.filter(pl.col("action") == rule.action).select(
            "session_id", pl.col("first").alias("b")
        )
        before = first.filter(pl.col("action") == rule.prerequisite).select(
            "session_id", pl.col("first").alias("a")
        )
        frame = (
            target.join(before, on="session_id", how="left")
            .with_columns((pl.col("a") < pl.col("b")).fill_null(False).alias("did"))
            .join(scoped, on="session_id")
        )
        if frame.is_empty():
            return None
        target_calls = steps.filter(pl.col("action") == rule.action)
        error = _distinctive_error(
            target_calls,
            frame.filter(~pl.col("did"))["session_id"],
            frame.filter(pl.col("did"))["session_id"],
        )
        return Counts(*_tally(frame, "did", limit), common_error=error, population=_ids(frame))
    if rule.kind == "recovery" and rule.error_signature and rule.action:
        hit = (
            steps.filter(pl.col("signature") == rule.error_signature)
            .group_by("session_id")
            .agg(pl.col("step").min().alias("error_step"))
        )
        nxt = (
            steps.join(hit, on="session_id")
            .filter(pl.col("step") // 100 > pl.col("error_step") // 100)
            .sort("session_id", "step")
            .group_by("session_id", maintain_order=True)
            .agg(pl.col("action").first().alias("next"))
        )
        frame = (
            hit.join(nxt, on="session_id", how="left")
            .with_columns((pl.col("next") == rule.action).fill_null(False).alias("did"))
            .join(scoped, on="session_id")
        )
        if frame.is_empty():
            return None
        other = frame.filter(~pl.col("did"))["next"]
        return Counts(*_tally(frame, "did", limit), common_error=_most_common(other), population=_ids(frame))
    if rule.kind == "substitution" and rule.action and rule.alternative:
        used = steps.group_by("session_id").agg(
            (pl.col("action") == rule.action).any().alias("y"),
            (pl.col("action") == rule.alternative).any().alias("x"),
        )
        frame = used.filter(pl.col("x") != pl.col("y")).join(scoped, on="session_id")
        if frame.is_empty():
            return None
        error = _distinctive_error(
            steps,
            frame.filter(pl.col("x") & ~pl.col("success"))["session_id"],
            frame.filter(pl.col("y"))["session_id"],
        )
        return Counts(*_tally(frame, "y", limit), common_error=error, population=_ids(frame))
    if rule.kind == "hazard" and rule.action:
        used = steps.group_by("session_id").agg((pl.col("action") == rule.action).any().alias("used"))
        frame = used.join(scoped, on="session_id")
        if frame.is_empty():
            return None
        own = steps.filter((pl.col("action") == rule.action) & pl.col("failed"))["signature"]
        k1, n1, k2, n2, _ = _tally(frame, "used", limit)
        cited = frame.filter(pl.col("used") & ~pl.col("success"))["session_id"].sort().to_list()[:limit]
        return Counts(k1, n1, k2, n2, cited, common_error=_most_common(own), population=_ids(frame))
    return None


def count_rule(rule: Rule, parts: pl.DataFrame, sessions: pl.DataFrame, limit: int = 25) -> Counts | None:
    """Recount a coding lesson on these sessions (`parts` from `action_parts`; `sessions` with success and
    project), with the sessions that show its pattern. None when the rule is not a coding lesson or nothing in
    scope shows the situation it is about."""
    counts = _count_rule(rule, parts, sessions, limit)
    if counts is None:
        return None
    return Counts(**{**counts.__dict__, "members": pattern_sessions(rule, parts, sessions)})


def pattern_sessions(rule: Rule, parts: pl.DataFrame, sessions: pl.DataFrame) -> list[str]:
    """Sessions in the lesson's scope that ran the actions it names (what it says to do, or, for a hazard,
    the action it warns about)."""
    scoped = set(_in_scope(sessions, rule_scope(rule))["session_id"].to_list())
    named = [a for a in (rule.action, rule.prerequisite) if a]
    shown = set(parts.filter(pl.col("action").is_in(named))["session_id"].to_list())
    return sorted(scoped & shown)
