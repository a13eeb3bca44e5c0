"""The evidence a dream reviews: the lake's sessions, events and outcomes for a window of partitions.

Dreamers only ever see these tables (never a mission's code), so the same miners work on coding-agent
transcripts and on missions. Everything is shaped here once, in polars, into four tidy frames the miners
share; the window is the only input besides the previous playbook, which keeps dreaming reproducible.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from pipeline.dreaming.provenance import load_origins
from pipeline.error_signatures import error_signature
from pipeline.home import ReverieHome
from pipeline.lake import scan_table
from pipeline.playbooks.safe_text import clean_value
from pipeline.redaction import Redactor

SIGNATURE_CHARS = 120
CITED_ENTRY = r"\[[a-z]{3,5}-[0-9a-f]{8}\]"  # an entry id as exports print it (`curation.entry_id_for`)
NAME_CHARS = 60


def window_days(day: date, days: int) -> list[str]:
    """ISO dates of the window `[day - days + 1, day]`, oldest first."""
    return [(day - timedelta(days=offset)).isoformat() for offset in range(days - 1, -1, -1)]


@dataclass(frozen=True)
class DreamWindow:
    """Tidy views of one window. Every frame is keyed by `session_id`.

    - `sessions`: session_id, date, task, project, success (bool), heldout (bool), playbook_version
    - `features`: session_id + one numeric column per context feature (bools as 0/1)
    - `decisions`: session_id, date, agent, parameter, value (float), followed (list of entry ids);
      the last value per (session, parameter) wins, as it is the one the session flew with
    - `steps`: session_id, step (order), tool, action, failed (bool), signature (masked error text or null)
    """

    days: list[str]
    sessions: pl.DataFrame
    features: pl.DataFrame
    decisions: pl.DataFrame
    steps: pl.DataFrame
    origins: pl.DataFrame | None = None  # session_id + one column per source axis (`provenance.AXES`)
    citations: pl.DataFrame | None = None  # session_id, date, followed: entry ids an agent's own text cites

    @property
    def learning_sessions(self) -> pl.DataFrame:
        """Sessions the dreamer may learn from: graded and not held out for evaluation."""
        return self.sessions.filter(~pl.col("heldout"))

    @property
    def n_sessions(self) -> int:
        return self.learning_sessions.height


def session_success(home: ReverieHome, days: list[str]) -> pl.DataFrame:
    """One verdict per session, the same rule as the `session_outcomes` view in sql/views.sql: success
    when every required criterion passed (ungraded counts as not passed). Computed in polars so a dream
    over a million sessions streams the partitions instead of materializing a DuckDB view."""
    outcomes = scan_table(home, "outcomes", days)
    return (
        outcomes.group_by("session_id")
        .agg(
            pl.col("passed")
            .fill_null(False)
            .filter(pl.col("required").fill_null(False))
            .all()
            .alias("success"),
        )
        .collect()
    )


def _context_features(sessions: pl.DataFrame) -> pl.DataFrame:
    """Numeric context features, one column each; keys may differ across tasks, so infer over all rows."""
    if sessions.is_empty():
        return pl.DataFrame({"session_id": pl.Series([], dtype=pl.String)})
    text = "\n".join(c if c else "{}" for c in sessions["context"].to_list()).encode()
    parsed = pl.read_ndjson(io.BytesIO(text), infer_schema_length=None) if text.strip() else pl.DataFrame()
    numeric = [
        pl.col(name).cast(pl.Float64).alias(name)
        for name, dtype in parsed.schema.items()
        if dtype.is_numeric() or dtype == pl.Boolean
    ]
    frame = parsed.select(numeric) if numeric else pl.DataFrame()
    return pl.concat([sessions.select("session_id"), frame], how="horizontal")


def load_window(home: ReverieHome, day: date, days: int = 7, redactor: Redactor | None = None) -> DreamWindow:
    """Read the window's partitions and shape them for the miners."""
    day_list = window_days(day, days)
    verdicts = session_success(home, day_list)
    raw_sessions = (
        _with_project(scan_table(home, "sessions", day_list))
        .select("session_id", "date", "task", "context", "playbook_version", "project")
        .unique("session_id", keep="last")
        .collect()
        .join(verdicts, on="session_id", how="inner")
        .sort("session_id")
    )
    features = _context_features(raw_sessions)
    heldout = (
        features["heldout"].fill_null(0.0) > 0
        if "heldout" in features.columns
        else pl.Series("heldout", [False] * features.height, dtype=pl.Boolean)
    )  # typed: an empty window (nothing scored yet) must still filter, not fail on a Null column
    sessions = _inert(
        raw_sessions.drop("context").with_columns(heldout.alias("heldout")), {"project": NAME_CHARS}, redactor
    )
    features = features.drop([c for c in ("heldout",) if c in features.columns])

    events = scan_table(home, "events", day_list).filter(
        pl.col("type").is_in(["decision", "tool_call", "tool_result", "error"])
    )
    decisions = (
        events.filter(pl.col("type") == "decision")
        .select(
            "session_id",
            "date",
            "agent",
            "seq",
            pl.col("input").str.json_path_match("$.parameter").alias("parameter"),
            pl.col("input").str.json_path_match("$.value").cast(pl.Float64, strict=False).alias("value"),
            pl.col("input")
            .str.json_path_match("$.followed")
            .str.json_decode(pl.List(pl.String))
            .alias("followed"),
        )
        .filter(pl.col("parameter").is_not_null())
        .sort("session_id", "seq")
        .unique(["session_id", "parameter"], keep="last", maintain_order=True)
        .drop("seq")
        .collect()
    )
    steps = _inert(
        _tool_steps(events, redactor), {"tool": NAME_CHARS, "signature": SIGNATURE_CHARS}, redactor
    )
    decisions = _inert(decisions, {"agent": NAME_CHARS, "parameter": NAME_CHARS}, redactor)
    origins = load_origins(home, day_list, raw_sessions)
    return DreamWindow(
        days=day_list,
        sessions=sessions,
        features=features,
        decisions=decisions,
        steps=steps,
        origins=origins,
        citations=_citations(home, day_list),
    )


def _citations(home: ReverieHome, day_list: list[str]) -> pl.DataFrame:
    """Entry ids agents cite in their own messages (`[less-1a2b3c4d]`, as exports print them): how a coding
    agent that reads CLAUDE.md / AGENTS.md says which lessons it followed, where a mission's crew logs a
    decision. Only the agent's messages count (tool output is not the agent speaking), and only ids of
    entries that exist are ever credited (`dream._carry_counters`)."""
    return (
        scan_table(home, "events", day_list)
        .filter((pl.col("type") == "message") & (pl.col("role") == "assistant"))
        .select(
            "session_id",
            "date",
            pl.col("content").fill_null("").str.extract_all(CITED_ENTRY).alias("followed"),
        )
        .explode("followed")
        .drop_nulls("followed")
        .with_columns(pl.col("followed").str.strip_chars("[]"))
        .group_by("session_id", "date")
        .agg(pl.col("followed").unique().sort())
        .collect()
    )


def _inert(frame: pl.DataFrame, limits: dict[str, int], redactor: Redactor | None) -> pl.DataFrame:
    """Session-controlled names (tools, error signatures, agents, parameters) cleaned once, here, so every
    miner, key, rule and entry text downstream only ever holds the inert form (`clean_value`): one line,
    redacted, bounded, no markup. Ordinary names (`Bash`, `guidance.approach_gain`) pass unchanged."""
    cleaned = []
    for column, limit in limits.items():
        values = [v for v in frame[column].unique().to_list() if v is not None]
        mapping = {v: clean_value(v, limit, redactor) for v in values}
        if any(k != v for k, v in mapping.items()):
            cleaned.append(pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String))
    return frame.with_columns(cleaned) if cleaned else frame


def _with_project(sessions: pl.LazyFrame) -> pl.LazyFrame:
    """Sessions with their `project` (the scope of coding lessons); null where the lake predates it."""
    if "project" in sessions.collect_schema().names():
        return sessions
    return sessions.with_columns(pl.lit(None, dtype=pl.String).alias("project"))


def _tool_steps(events: pl.LazyFrame, redactor: Redactor | None) -> pl.DataFrame:
    """Tool calls in order, each with its action (the tool name when a call has no command), marked failed
    when its result failed."""
    has_action = "action" in events.collect_schema().names()
    action = pl.coalesce(pl.col("action"), pl.col("tool")) if has_action else pl.col("tool")
    calls = events.filter(pl.col("type") == "tool_call").select(
        "session_id", "event_id", "seq", pl.col("tool").fill_null("?"), action.fill_null("?").alias("action")
    )
    results = events.filter((pl.col("type") == "tool_result") & pl.col("is_error").fill_null(False)).select(
        "session_id", pl.col("parent_event_id").alias("event_id"), pl.col("content").alias("error_text")
    )
    joined = (
        calls.join(results, on=["session_id", "event_id"], how="left")
        .sort("session_id", "seq")
        .with_columns(pl.col("seq").rank("ordinal").over("session_id").cast(pl.Int64).alias("step"))
        .collect()
    )
    failed = joined["error_text"].is_not_null()
    texts = joined.filter(failed)["error_text"].unique().to_list()
    signature_of = {text: error_signature(text, redactor) for text in texts}
    signatures = joined["error_text"].replace_strict(signature_of, default=None, return_dtype=pl.String)
    return joined.select("session_id", "step", "tool", "action").with_columns(
        failed.alias("failed"), signatures.alias("signature")
    )
