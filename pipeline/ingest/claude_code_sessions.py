"""Per-file end of the columnar Claude Code path: session_start events and summary events.

These mirror `ClaudeCodeAdapter._finish`: one session_start per main-agent session (first timestamp,
context features in the order the transcript first shows them, the first real prompt as task), and summary
lines become events only in single-session files.
"""

from __future__ import annotations

import orjson
import polars as pl

from pipeline.ingest import claude_code_columnar as columnar


def nonempty(name: str) -> pl.Expr:
    return pl.col(name).is_not_null() & (pl.col(name) != "")


def finish_files(lines: pl.DataFrame, rows: pl.DataFrame) -> tuple[pl.DataFrame, set[int]]:
    """Add each file's session_start events and, for single-session files, its summary events."""
    bad: set[int] = set()
    event_rows = rows.select(
        "file_idx",
        "session_id",
        "event_id",
        "parent_event_id",
        "ts",
        "agent",
        "type",
        "role",
        "tool",
        "input",
        "content",
        "is_error",
        pl.col("tokens_in").cast(pl.Int64),
        pl.col("tokens_out").cast(pl.Int64),
        pl.col("line_no").alias("source_line"),
    )
    main = lines.filter(pl.col("is_message") & ~pl.col("inline") & (pl.col("agent") == "main"))
    starts = main.group_by("file_idx", "session_id").agg(pl.col("ts").min().alias("ts"))
    features = []
    for order, key in enumerate(columnar.CONTEXT_KEYS):
        col = f"ctx_{key}"
        found = main.filter((pl.col(f"{col}_t") == "VARCHAR") & nonempty(col))
        features.append(
            found.group_by("file_idx", "session_id")
            .agg(pl.col("pos").min(), pl.col(col).sort_by("pos").first().alias("value"))
            .with_columns(order=pl.lit(order), feature=pl.lit(columnar._CONTEXT_FEATURES[key]))
        )
    model = main.filter(pl.col("model_t") == "VARCHAR")
    features.append(
        model.group_by("file_idx", "session_id")
        .agg(pl.col("pos").min(), pl.col("model").sort_by("pos").first().alias("value"))
        .with_columns(order=pl.lit(len(columnar.CONTEXT_KEYS)), feature=pl.lit("model"))
    )
    context = pl.concat(features).sort("pos", "order")
    contexts: dict[tuple[int, str], dict[str, str]] = {}
    for file_idx, session_id, feature, value in context.select(
        "file_idx", "session_id", "feature", "value"
    ).iter_rows():
        contexts.setdefault((file_idx, session_id), {})[feature] = value
    tasks: dict[tuple[int, str], str] = {}
    candidates = main.filter(pl.col("record_type") == "user").sort("pos")
    for file_idx, session_id, meta, compact, text, content_json in candidates.select(
        "file_idx", "session_id", "meta", "compact", "content_text", "content_json"
    ).iter_rows():
        if (file_idx, session_id) in tasks:
            continue
        try:
            task = columnar.prompt_of("user", meta, compact, text, content_json)
        except (TypeError, AttributeError):
            bad.add(file_idx)
            continue
        if task is not None:
            tasks[(file_idx, session_id)] = task
    start_rows = []
    for file_idx, session_id, ts in starts.iter_rows():
        task = tasks.get((file_idx, session_id))
        start_input = {
            "task": task,
            "context": contexts.get((file_idx, session_id), {}),
            "playbook_version": None,
        }
        start_rows.append(
            {
                "file_idx": file_idx,
                "session_id": session_id,
                "event_id": "session_start",
                "ts": ts,
                "type": "session_start",
                "agent": "main",
                "input": orjson.dumps(start_input).decode(),
                "content": task,
                "is_error": False,
            }
        )
    schema = {"file_idx": pl.Int32, **columnar.ROW_COLUMNS}
    start_frame = pl.DataFrame(start_rows, schema=schema) if start_rows else pl.DataFrame(schema=schema)
    summary_frame = _summaries(lines, rows, schema)
    combined = pl.concat(
        [
            start_frame.select(schema.keys()),
            summary_frame.select(schema.keys()),
            event_rows.with_columns(pl.col("file_idx").cast(pl.Int32)).select(schema.keys()),
        ]
    )
    return combined, bad


def _summaries(lines: pl.DataFrame, rows: pl.DataFrame, schema: dict) -> pl.DataFrame:
    summaries = lines.filter(
        (pl.col("kind") == "summary") & ~pl.col("inline") & (pl.col("summary_t") == "VARCHAR")
    )
    if summaries.is_empty():
        return pl.DataFrame(schema=schema)
    per_file = (
        rows.group_by("file_idx")
        .agg(
            pl.col("session_id").n_unique().alias("n_sessions"),
            pl.col("session_id").first().alias("only_session"),
            pl.col("ts").min().alias("first_ts"),
        )
        .filter(pl.col("n_sessions") == 1)
    )
    ts_by_uuid = (
        lines.filter((pl.col("is_message") | pl.col("is_system")) & (pl.col("uuid_t") == "VARCHAR"))
        .group_by("file_idx", "uuid")
        .agg(pl.col("ts").sort_by("pos").last().alias("leaf_ts"))
    )
    first_event = rows.group_by("file_idx", "uuid").agg(
        pl.col("event_id").sort_by("seq").first().alias("leaf_event")
    )
    leaf = pl.when(pl.col("leaf_t") == "VARCHAR").then(pl.col("leaf")).otherwise(None)
    s = (
        summaries.with_columns(leaf_key=leaf)
        .join(per_file, on="file_idx", how="inner")
        .join(ts_by_uuid.rename({"uuid": "leaf_key"}), on=["file_idx", "leaf_key"], how="left")
        .join(first_event.rename({"uuid": "leaf_key"}), on=["file_idx", "leaf_key"], how="left")
    )
    return s.select(
        pl.col("file_idx").cast(pl.Int32),
        pl.col("only_session").alias("session_id"),
        pl.format(
            "summary:{}",
            pl.when(nonempty("leaf_key"))
            .then(pl.col("leaf_key"))
            .otherwise(pl.col("line_no").cast(pl.String)),
        ).alias("event_id"),
        pl.coalesce("leaf_event", "leaf_key").alias("parent_event_id"),
        pl.coalesce("leaf_ts", "first_ts").alias("ts"),
        pl.lit("main").alias("agent"),
        pl.lit("observation").alias("type"),
        pl.lit("system").alias("role"),
        pl.lit("summary").alias("tool"),
        pl.lit(None, pl.String).alias("input"),
        pl.col("summary").alias("content"),
        pl.lit(False).alias("is_error"),
        pl.lit(None, pl.Int64).alias("tokens_in"),
        pl.lit(None, pl.Int64).alias("tokens_out"),
        pl.col("line_no").cast(pl.Int64).alias("source_line"),
    )
