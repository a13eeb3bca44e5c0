"""Polars half of the columnar Claude Code path: typed line and block columns -> the adapter's event rows.

Each step mirrors one piece of `claude_code.ClaudeCodeAdapter` state, expressed over the whole batch:
`line_event` (first event of a line uuid, visible only to later lines) is an as-of join on line position,
`tool_names` is an as-of join on (file, tool_use id), `response_rows` is a group-by on (file, response id).
Any value outside the shapes handled here marks its file `bad`, and the file goes to the adapter.
"""

from __future__ import annotations

import orjson
import polars as pl

from pipeline.ingest import claude_code_columnar as columnar
from pipeline.ingest.claude_code_sessions import finish_files
from pipeline.ingest.claude_code_sessions import nonempty as _nonempty

_OK_NULLABLE_STR = [None, "NULL", "VARCHAR"]
_OK_NULLABLE_BOOL = [None, "NULL", "BOOLEAN"]
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%:z"


def _typed_in(name: str, allowed: list[str | None]) -> pl.Expr:
    kinds = [k for k in allowed if k is not None]
    expr = pl.col(name).is_in(kinds)
    return expr | pl.col(name).is_null() if None in allowed else expr


def _epoch_us(text: str) -> pl.Expr:
    """ISO-8601 text (already screened by `columnar._TIMESTAMP`) -> epoch microseconds; null if invalid."""
    normalized = (
        pl.col(text)
        .str.replace(r"Z$", "+00:00")
        .str.replace(r"^(.{19})([+-])", "${1}.000${2}")  # no fraction: add one so the format applies
    )
    return (
        normalized.str.strptime(pl.Datetime("us", "UTC"), _TS_FORMAT, strict=False)
        .dt.epoch("us")
        .cast(pl.Int64)
    )


def assemble(lines: pl.DataFrame, blocks: pl.DataFrame, n_files: int) -> list[pl.DataFrame | None]:
    """The adapter's rows per file index (0..n_files-1), None for files it must parse itself."""
    is_message = pl.col("kind").is_in(["user", "assistant"]) | pl.col("inline")
    is_system = (pl.col("kind") == "system") & ~pl.col("inline")
    sidechain = pl.col("sidechain") == "true"
    agent = (
        pl.when(pl.col("inline"))
        .then(pl.when(_nonempty("inline_agent")).then(pl.col("inline_agent")).otherwise(pl.lit("subagent")))
        .when(sidechain)
        .then(pl.when(_nonempty("agent_id")).then(pl.col("agent_id")).otherwise(pl.lit("sidechain")))
        .otherwise(pl.lit("main"))
    )
    lines = lines.with_columns(
        is_message=is_message,
        is_system=is_system & (pl.col("uuid_t") == "VARCHAR"),
        ts=_epoch_us("ts_text"),
        agent=agent,
        compact_line=(pl.col("compact") == "true").fill_null(False),
        role=pl.when(_nonempty("role")).then(pl.col("role")).otherwise(pl.col("record_type")),
    )
    ts_ok = pl.col("ts_text").str.contains(columnar._TIMESTAMP) & pl.col("ts").is_not_null()
    common_ok = (
        (pl.col("session_id_t") == "VARCHAR")
        & _nonempty("session_id")
        & ts_ok
        & _typed_in("sidechain_t", _OK_NULLABLE_BOOL)
        & (~sidechain | _typed_in("agent_id_t", _OK_NULLABLE_STR))
        & _typed_in("inline_agent_t", _OK_NULLABLE_STR)
        & _typed_in("parent_uuid_t", _OK_NULLABLE_STR)
    )
    message_ok = (
        common_ok
        & (pl.col("uuid_t") == "VARCHAR")
        & _nonempty("uuid")
        & (pl.col("message_t") == "OBJECT")
        & _typed_in("role_t", _OK_NULLABLE_STR)
        & (pl.col("record_type_t") == "VARCHAR")
        & _typed_in("compact_t", _OK_NULLABLE_BOOL)
        & _typed_in("meta_t", _OK_NULLABLE_BOOL)
        & (pl.col("compact_line") | _typed_in("content_t", [None, "NULL", "VARCHAR", "ARRAY"]))
        & _typed_in("message_id_t", _OK_NULLABLE_STR)
        & _typed_in("request_id_t", _OK_NULLABLE_STR)
        & (
            (pl.col("usage_t") != "OBJECT")
            | pl.col("usage_t").is_null()
            | pl.col("usage_ok").fill_null(False)
        )
    )
    system_ok = (
        common_ok
        & _nonempty("uuid")
        & _typed_in("subtype_t", _OK_NULLABLE_STR)
        & _typed_in("logical_parent_t", _OK_NULLABLE_STR)
    )
    lines = lines.with_columns(
        bad=(pl.col("is_message") & ~message_ok.fill_null(False))
        | (pl.col("is_system") & ~system_ok.fill_null(False))
    )
    bad_files = set(lines.filter("bad")["file_idx"].to_list())
    blocks = blocks.join(
        lines.select("pos", "file_idx", "result_t", "result_text", "result_entries"), on="pos", how="inner"
    )
    bt = pl.col("block_type")
    relevant_ok = (
        pl.when(bt == "text")
        .then(_typed_in("text_t", [None, "VARCHAR"]))
        .when(bt == "thinking")
        .then(_typed_in("thinking_t", [None, "VARCHAR"]))
        .when(bt.is_in(["tool_use", "server_tool_use"]))
        .then(_typed_in("block_id_t", _OK_NULLABLE_STR) & _typed_in("name_t", _OK_NULLABLE_STR))
        .when(bt == "tool_result")
        .then(_typed_in("tool_use_id_t", _OK_NULLABLE_STR) & _typed_in("is_error_t", _OK_NULLABLE_BOOL))
        .otherwise(_typed_in("block_type_t", _OK_NULLABLE_STR))
    )
    object_blocks = blocks.filter(pl.col("block_t") == "OBJECT")
    bad_files |= set(object_blocks.filter(~relevant_ok.fill_null(False))["file_idx"].to_list())

    good_lines = lines.filter(~pl.col("file_idx").is_in(list(bad_files)))
    good_blocks = object_blocks.filter(~pl.col("file_idx").is_in(list(bad_files)))
    rows = _event_rows(good_lines, good_blocks)
    rows = rows.filter(~pl.col("file_idx").is_in(list(bad_files)))
    good_lines = good_lines.filter(~pl.col("file_idx").is_in(list(bad_files)))
    finished, prompt_bad = finish_files(good_lines, rows)
    bad_files |= prompt_bad
    out: list[pl.DataFrame | None] = [None] * n_files
    by_file = finished.partition_by("file_idx", as_dict=True, include_key=False)
    for index in range(n_files):
        if index in bad_files:
            continue
        frame = by_file.get((index,))
        out[index] = (
            frame.select(columnar.ROW_COLUMNS.keys())
            if frame is not None
            else pl.DataFrame(schema=columnar.ROW_COLUMNS)
        )
    return out


def _event_rows(lines: pl.DataFrame, blocks: pl.DataFrame) -> pl.DataFrame:
    """One row per event of message and system lines, in file order (`pos`, `block_idx`), parents resolved."""
    line_cols = ["file_idx", "pos", "line_no", "session_id", "uuid", "ts", "agent", "role", "parent_raw"]
    lines = lines.with_columns(
        parent_raw=pl.when(pl.col("is_system"))
        .then(
            pl.when(_nonempty("parent_uuid")).then(pl.col("parent_uuid")).otherwise(pl.col("logical_parent"))
        )
        .otherwise(pl.col("parent_uuid"))
    )
    messages = lines.filter("is_message")
    compact = messages.filter("compact_line").with_columns(
        block_idx=pl.lit(0, pl.Int64),
        type=pl.lit("observation"),
        tool=pl.lit("compact_summary"),
        content_py=pl.col("content_json"),
        content=pl.col("content_text"),
    )
    not_list = pl.col("content_t").is_null() | (pl.col("content_t") != "ARRAY")
    simple = messages.filter(~pl.col("compact_line") & not_list).with_columns(
        block_idx=pl.lit(0, pl.Int64),
        type=pl.lit("message"),
        tool=pl.lit(None, pl.String),
        content_py=pl.lit(None, pl.String),
        content=pl.col("content_text").fill_null(""),
    )
    head_cols = [*line_cols, "block_idx", "type", "tool", "content", "content_py"]
    line_rows = pl.concat([compact.select(head_cols), simple.select(head_cols)]).with_columns(
        event_id=pl.col("uuid"),
        input_json=pl.lit(None, pl.String),
        input_ready=pl.lit(None, pl.String),
        is_error=pl.lit(False),
        key=pl.lit(None, pl.String),
        is_use=pl.lit(False),
        is_result=pl.lit(False),
    )
    list_lines = messages.filter(~pl.col("compact_line") & (pl.col("content_t") == "ARRAY"))
    b = blocks.drop("file_idx").join(list_lines.select(line_cols), on="pos", how="inner")
    bt = pl.col("block_type")
    default_id = (
        pl.when(pl.col("block_idx") == 0)
        .then(pl.col("uuid"))
        .otherwise(pl.col("uuid") + "#" + pl.col("block_idx").cast(pl.String))
    )
    is_use = bt.is_in(["tool_use", "server_tool_use"])
    is_result = bt == "tool_result"
    result_failed = pl.col("result_text").map_elements(
        lambda v: v.startswith("Error") or "rejected" in v[:80].lower(), return_dtype=pl.Boolean
    )
    b = b.filter(bt.is_null() | (bt != "redacted_thinking")).with_columns(
        type=pl.when(bt == "text")
        .then(pl.lit("message"))
        .when(bt == "image")
        .then(pl.lit("message"))
        .when(is_use)
        .then(pl.lit("tool_call"))
        .when(is_result)
        .then(pl.lit("tool_result"))
        .otherwise(pl.lit("observation")),
        tool=pl.when(bt == "text")
        .then(pl.lit(None, pl.String))
        .when(bt == "image")
        .then(pl.lit(None, pl.String))
        .when(bt == "thinking")
        .then(pl.lit("thinking"))
        .when(is_use)
        .then(pl.col("name").fill_null(""))
        .when(is_result)
        .then(pl.lit(None, pl.String))
        .otherwise(bt.fill_null("None")),
        content=pl.when(bt == "text")
        .then(pl.col("text").fill_null(""))
        .when(bt == "thinking")
        .then(pl.col("thinking").fill_null(""))
        .when(bt == "image")
        .then(pl.lit("[image]"))
        .when(is_result)
        .then(pl.col("result_content"))
        .otherwise(pl.lit(None, pl.String)),
        content_py=pl.when(is_result).then(pl.col("result_content_json")).otherwise(pl.lit(None, pl.String)),
        event_id=pl.when(is_use & _nonempty("block_id")).then(pl.col("block_id")).otherwise(default_id),
        input_json=pl.when(is_use).then(pl.col("input_json")).otherwise(pl.col("block_json")),
        input_ready=pl.when(is_result & (pl.col("result_t") == "VARCHAR"))
        .then(
            pl.col("result_text").map_elements(
                lambda v: orjson.dumps({"result": v[:200]}).decode(), return_dtype=pl.String
            )
        )
        .otherwise(pl.lit(None, pl.String)),
        is_error=pl.when(is_result)
        .then(
            (pl.col("is_error_text") == "true").fill_null(False)
            | ((pl.col("result_t") == "VARCHAR") & result_failed).fill_null(False)
        )
        .otherwise(pl.lit(False)),
        parent_raw=pl.when(is_result)
        .then(pl.when(_nonempty("tool_use_id")).then(pl.col("tool_use_id")).otherwise(None))
        .otherwise(pl.col("parent_raw")),
        role=pl.when(is_result).then(pl.lit("tool")).otherwise(pl.col("role")),
        key=pl.when(is_use)
        .then(pl.col("block_id").fill_null(""))
        .when(is_result)
        .then(pl.col("tool_use_id").fill_null(""))
        .otherwise(None),
        is_use=is_use.fill_null(False),
        is_result=is_result.fill_null(False),
    )
    summaries = b.filter("is_result").select("pos", "block_idx", pl.col("result_entries"))
    entry_text = {
        (p, i): columnar.result_summary(e)
        for p, i, e in summaries.filter(pl.col("result_entries").is_not_null()).iter_rows()
    }
    if entry_text:
        entries = pl.DataFrame(
            {
                "pos": [k[0] for k in entry_text],
                "block_idx": [k[1] for k in entry_text],
                "entry_input": list(entry_text.values()),
            },
            schema={"pos": b.schema["pos"], "block_idx": pl.Int64, "entry_input": pl.String},
        )
        b = b.with_columns(pl.col("block_idx").cast(pl.Int64)).join(
            entries, on=["pos", "block_idx"], how="left"
        )
        b = b.with_columns(
            input_ready=pl.when(pl.col("is_result") & (pl.col("result_t") == "OBJECT"))
            .then(pl.col("entry_input"))
            .otherwise(pl.col("input_ready"))
        )
    block_cols = [
        *line_cols,
        "block_idx",
        "type",
        "tool",
        "content",
        "content_py",
        "event_id",
        "input_json",
        "input_ready",
        "is_error",
        "key",
        "is_use",
        "is_result",
    ]
    b = b.with_columns(pl.col("block_idx").cast(pl.Int64)).select(block_cols)
    systems = lines.filter("is_system").with_columns(
        block_idx=pl.lit(0, pl.Int64),
        failed=(pl.col("level") == "error").fill_null(False)
        | pl.col("subtype").fill_null("system").str.contains("error", literal=True),
    )
    systems = systems.with_columns(
        type=pl.when("failed").then(pl.lit("error")).otherwise(pl.lit("observation")),
        tool=pl.when(_nonempty("subtype")).then(pl.col("subtype")).otherwise(pl.lit("system")),
        content=pl.col("system_content"),
        content_py=pl.col("system_content_json"),
        event_id=pl.col("uuid"),
        input_json=pl.col("compact_metadata"),
        input_ready=pl.lit(None, pl.String),
        is_error=pl.col("failed"),
        key=pl.lit(None, pl.String),
        is_use=pl.lit(False),
        is_result=pl.lit(False),
        role=pl.lit("system"),
    ).select(block_cols)
    rows = pl.concat([line_rows.select(block_cols), b, systems]).sort("pos", "block_idx")
    rows = rows.with_row_index("seq")
    # Python-exact values for the few fields that need them.
    rows = rows.with_columns(
        input=pl.coalesce(
            pl.col("input_ready"),
            pl.col("input_json").map_elements(columnar.json_text, return_dtype=pl.String),
        ),
        content=pl.coalesce(
            pl.col("content"), pl.col("content_py").map_elements(columnar.block_text, return_dtype=pl.String)
        ),
    )
    # Tool names: the latest earlier tool_use with the same id in the same file.
    uses = (
        rows.filter("is_use").select("file_idx", "key", "seq", pl.col("tool").alias("use_name")).sort("seq")
    )
    results = rows.filter("is_result").select("file_idx", "key", "seq").sort("seq")
    named = results.join_asof(
        uses,
        on="seq",
        by=["file_idx", "key"],
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    rows = rows.join(named.select("seq", "use_name"), on="seq", how="left").with_columns(
        tool=pl.when("is_result").then(pl.col("use_name")).otherwise(pl.col("tool"))
    )
    # Parents: the first event of the parent line, if that line came earlier; else the uuid as written.
    first = (
        rows.group_by("file_idx", "uuid")
        .agg(
            pl.col("event_id").sort_by("seq").first().alias("first_event"),
            pl.col("pos").min().alias("first_pos"),
        )
        .rename({"uuid": "parent_raw"})
    )
    rows = rows.join(first, on=["file_idx", "parent_raw"], how="left").with_columns(
        parent_event_id=pl.when(~pl.col("is_result") & (pl.col("first_pos") < pl.col("pos")))
        .then(pl.col("first_event"))
        .otherwise(pl.col("parent_raw"))
    )
    return _with_tokens(rows.sort("seq"), lines)


def _with_tokens(rows: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """Usage goes on the last event emitted so far when a response's first line is read (max over lines)."""
    token_lines = lines.filter(
        pl.col("is_message")
        & ~pl.col("compact_line")
        & (pl.col("role") == "assistant")
        & (pl.col("usage_t") == "OBJECT")
    ).with_columns(
        rid=pl.when(_nonempty("message_id")).then(pl.col("message_id")).otherwise(pl.col("request_id"))
    )
    last_by_pos = rows.group_by("file_idx", "pos").agg(pl.col("seq").max().alias("target")).sort("pos")
    targeted = (
        token_lines.select("file_idx", "pos", "rid", "line_tokens_in", "line_tokens_out")
        .sort("pos")
        .join_asof(
            last_by_pos.rename({"pos": "row_pos"}),
            left_on="pos",
            right_on="row_pos",
            by="file_idx",
            strategy="backward",
            check_sortedness=False,
        )
    )
    targeted = targeted.filter(pl.col("target").is_not_null()).with_columns(
        target=pl.when(pl.col("rid").is_null())
        .then(pl.col("target"))
        .otherwise(pl.col("target").sort_by("pos").first().over("file_idx", "rid"))
    )
    tokens = targeted.group_by("target").agg(
        pl.max_horizontal(pl.col("line_tokens_in").max(), pl.lit(0)).alias("tokens_in"),
        pl.max_horizontal(pl.col("line_tokens_out").max(), pl.lit(0)).alias("tokens_out"),
    )
    return rows.join(tokens.rename({"target": "seq"}), on="seq", how="left")
