"""Tool-call sequences and error signatures that predict failure, and the recoveries that rescue sessions.

Works on any task with tool calls (coding agents first of all): n-grams of tool names per session, the masked
first line of failed tool results, and what successful sessions did right after the same error.
"""

from __future__ import annotations

import polars as pl

from pipeline.dreaming.findings import Finding
from pipeline.dreaming.settings import DreamSettings
from pipeline.dreaming.statistics import fisher_p_value
from pipeline.playbooks.model import Rule, Section
from pipeline.playbooks.safe_text import code_span

SEPARATOR = " -> "


def _named(sequence: list[str]) -> str:
    """Tool names as the entry text shows them: each in its own code span (names are already inert: the
    window cleans them), so no name can read as part of our instruction."""
    return " then ".join(code_span(tool) for tool in sequence)


def _presence_counts(presence: pl.DataFrame, outcomes: pl.DataFrame, column: str) -> pl.DataFrame:
    """Per pattern: sessions showing it, successes among them, and the first cited sessions."""
    return (
        presence.join(outcomes, on="session_id", how="inner")
        .group_by(column)
        .agg(
            pl.len().alias("n_with"),
            pl.col("success").sum().alias("k_with"),
            pl.col("session_id").sort().alias("sessions"),
            pl.col("session_id").filter(~pl.col("success")).sort().alias("failed_sessions"),
        )
        .sort(column)
    )


def mine_failing_sequences(
    steps: pl.DataFrame, outcomes: pl.DataFrame, settings: DreamSettings
) -> list[Finding]:
    """Tool-call n-grams (length 2..max_ngram) whose sessions fail more often than the rest."""
    if steps.is_empty():
        return []
    tasks_with_tools = outcomes.join(steps.select("session_id").unique(), on="session_id", how="semi")
    total_n, total_k = tasks_with_tools.height, int(tasks_with_tools["success"].sum())
    grams = []
    ordered = steps.sort("session_id", "step")
    for length in range(2, settings.max_ngram + 1):
        parts = [pl.col("tool").shift(-offset).over("session_id") for offset in range(length)]
        grams.append(
            ordered.select(
                "session_id", pl.concat_str(parts, separator=SEPARATOR).alias("pattern")
            ).drop_nulls()
        )
    if not grams:
        return []
    presence = pl.concat(grams).unique()
    counts = _presence_counts(presence, tasks_with_tools, "pattern").filter(
        pl.col("n_with") >= settings.min_support
    )
    findings = []
    for row in counts.iter_rows(named=True):
        k1, n1 = int(row["k_with"]), int(row["n_with"])
        k2, n2 = total_k - k1, total_n - n1
        if n2 == 0:
            continue
        sequence = row["pattern"].split(SEPARATOR)
        findings.append(
            Finding(
                kind="failing_sequence",
                agent="*",
                section=Section.MISTAKES,
                rule=Rule(kind="avoid_sequence", sequence=sequence),
                text=(
                    f"Avoid the tool sequence {_named(sequence)}: {n1 - k1}/{n1} sessions that used it "
                    f"failed ({(n1 - k1) / n1:.0%}) vs {n2 - k2}/{n2} of the others ({(n2 - k2) / n2:.0%})."
                ),
                k_with=k1,
                n_with=n1,
                k_without=k2,
                n_without=n2,
                p_value=fisher_p_value(k1, n1, k2, n2, alternative="less"),
                evidence=list(row["failed_sessions"][: settings.evidence_limit]),
                members=list(row["sessions"]),
                key=f"sequence|{row['pattern']}",
            )
        )
    return _drop_redundant_subsequences(findings)


def _drop_redundant_subsequences(findings: list[Finding]) -> list[Finding]:
    """A longer n-gram that matches the same sessions as a shorter one it contains says nothing new."""
    by_pattern = {f.key: f for f in findings}
    kept = []
    for finding in findings:
        sequence = finding.rule.sequence if finding.rule and finding.rule.sequence else []
        shorter = [SEPARATOR.join(sequence[:-1]), SEPARATOR.join(sequence[1:])]
        redundant = any(
            (other := by_pattern.get(f"sequence|{s}")) is not None and other.n_with == finding.n_with
            for s in shorter
            if SEPARATOR in s
        )
        if not redundant:
            kept.append(finding)
    return kept


def mine_error_signatures(
    steps: pl.DataFrame, outcomes: pl.DataFrame, settings: DreamSettings
) -> list[Finding]:
    """Masked error signatures whose sessions fail more often than sessions without them."""
    errors = steps.filter(pl.col("signature").is_not_null())
    if errors.is_empty():
        return []
    with_tools = outcomes.join(steps.select("session_id").unique(), on="session_id", how="semi")
    total_n, total_k = with_tools.height, int(with_tools["success"].sum())
    presence = errors.select("session_id", "signature").unique()
    counts = _presence_counts(presence, with_tools, "signature").filter(
        pl.col("n_with") >= settings.min_support
    )
    findings = []
    for row in counts.iter_rows(named=True):
        k1, n1 = int(row["k_with"]), int(row["n_with"])
        k2, n2 = total_k - k1, total_n - n1
        if n2 == 0:
            continue
        signature = row["signature"]
        findings.append(
            Finding(
                kind="error_signature",
                agent="*",
                section=Section.MISTAKES,
                rule=Rule(kind="avoid_sequence", error_signature=signature, sequence=[]),
                text=(
                    f"Sessions hitting the error {code_span(signature)} failed {n1 - k1}/{n1} times "
                    f"({(n1 - k1) / n1:.0%}) vs {(n2 - k2) / n2:.0%} otherwise: prevent it, and use the "
                    "recovery procedure when it happens."
                ),
                k_with=k1,
                n_with=n1,
                k_without=k2,
                n_without=n2,
                p_value=fisher_p_value(k1, n1, k2, n2, alternative="less"),
                evidence=list(row["failed_sessions"][: settings.evidence_limit]),
                members=list(row["sessions"]),
                key=f"error|{signature}",
            )
        )
    return findings


def mine_recoveries(steps: pl.DataFrame, outcomes: pl.DataFrame, settings: DreamSettings) -> list[Finding]:
    """Among sessions that hit error E, the next tool calls after the first E that go with success."""
    errors = steps.filter(pl.col("signature").is_not_null())
    if errors.is_empty():
        return []
    first_error = errors.group_by("session_id", "signature").agg(pl.col("step").min().alias("error_step"))
    after = (
        steps.select("session_id", "step", "tool")
        .join(first_error, on="session_id", how="inner")
        .filter(
            (pl.col("step") > pl.col("error_step"))
            & (pl.col("step") <= pl.col("error_step") + settings.recovery_steps)
        )
        .sort("session_id", "step")
        .group_by("session_id", "signature")
        .agg(pl.col("tool").str.join(SEPARATOR).alias("recovery"))
    )
    hit = first_error.join(outcomes, on="session_id", how="inner")
    after = after.join(outcomes, on="session_id", how="inner")
    findings = []
    for signature, group in sorted(hit.partition_by("signature", as_dict=True).items(), key=lambda kv: kv[0]):
        signature = signature[0]
        total_n, total_k = group.height, int(group["success"].sum())
        recoveries = _presence_counts(
            after.filter(pl.col("signature") == signature).select("session_id", "recovery"),
            group.select("session_id", "success"),
            "recovery",
        ).filter(pl.col("n_with") >= settings.min_support)
        for row in recoveries.iter_rows(named=True):
            k1, n1 = int(row["k_with"]), int(row["n_with"])
            k2, n2 = total_k - k1, total_n - n1
            if n2 == 0:
                continue
            sequence = row["recovery"].split(SEPARATOR)
            failed = set(row["failed_sessions"])
            success_sessions = [s for s in row["sessions"] if s not in failed]
            findings.append(
                Finding(
                    kind="recovery",
                    agent="*",
                    section=Section.PROCEDURES,
                    rule=Rule(kind="recovery", error_signature=signature, sequence=sequence),
                    text=(
                        f"After the error {code_span(signature)}, call {_named(sequence)}: {k1}/{n1} sessions "
                        f"that did so succeeded ({k1 / n1:.0%}) vs {k2}/{n2} that did otherwise ({k2 / n2:.0%})."
                    ),
                    k_with=k1,
                    n_with=n1,
                    k_without=k2,
                    n_without=n2,
                    p_value=fisher_p_value(k1, n1, k2, n2, alternative="greater"),
                    evidence=success_sessions[: settings.evidence_limit],
                    members=list(row["sessions"]),
                    key=f"recovery|{signature}|{row['recovery']}",
                )
            )
    return findings
