"""The DuckDB half of the columnar Claude Code path: JSON lines -> one row per line, one row per content block.

Kept apart from the assembly in `claude_code_columnar` because it is pure SQL text: every value is taken as
DuckDB JSON and handed on with its JSON type (`*_t`), so the assembly can tell a missing key (SQL NULL) from
a JSON `null` and from a value of the wrong type, exactly as the reference adapter's `record.get` does, and
send any file with a shape it does not cover back to that adapter.
"""

from __future__ import annotations

TOP_LEVEL_KEYS = (
    "type",
    "uuid",
    "parentUuid",
    "logicalParentUuid",
    "sessionId",
    "timestamp",
    "isSidechain",
    "agentId",
    "requestId",
    "isMeta",
    "isCompactSummary",
    "toolUseResult",
    "message",
    "subtype",
    "level",
    "content",
    "compactMetadata",
    "data",
    "summary",
    "leafUuid",
    "cwd",
    "gitBranch",
    "version",
    "userType",
    "permissionMode",
    "entrypoint",
)
"""Every top-level key the reference adapter reads; the others are never looked at."""

CONTEXT_KEYS = ("cwd", "gitBranch", "version", "userType", "permissionMode", "entrypoint")


def read_columns() -> str:
    """The `columns` argument of `read_json`: every key as JSON, so no value is coerced to another type."""
    return "{" + ", ".join(f"'{key}': 'JSON'" for key in TOP_LEVEL_KEYS) + "}"


# Fields of a message line, taken from the line itself or, for inline `agent_progress`, from the nested one.
_NESTED_FIELDS = (
    "uuid",
    "timestamp",
    "message",
    "parentUuid",
    "isCompactSummary",
    "toolUseResult",
    "requestId",
    "type",
)


def _typed(expression: str, name: str) -> str:
    """A JSON value as its JSON type and, when it is a string, its text."""
    return (
        f"json_type({expression}) AS {name}_t, "
        f"CASE WHEN json_type({expression}) = 'VARCHAR' THEN json_extract_string({expression}, '$') END AS {name}"
    )


def picked_sql(raw: str) -> str:
    """One row per line that can carry an event (user/assistant, inline agent_progress, system, summary),
    with the message fields taken from the nested message for inline `agent_progress` lines.

    `raw` has the `read_json` columns plus `pos` (line order across the batch), `file_idx` and `line_no`.
    """
    nested = ", ".join(f"'$.message.{field}'" for field in _NESTED_FIELDS)
    pick = ",\n            ".join(
        f'CASE WHEN inline THEN nx[{i + 1}] ELSE "{field}" END AS {field}_j'
        for i, field in enumerate(_NESTED_FIELDS)
    )
    return f"""
    WITH kinds AS (
        SELECT *, json_extract_string("type", '$') AS kind FROM {raw}
    ), flagged AS (
        SELECT *,
            coalesce(kind = 'progress' AND json_type(data) = 'OBJECT'
                AND json_type(data, '$.type') = 'VARCHAR'
                AND json_extract_string(data, '$.type') = 'agent_progress'
                AND json_type(data, '$.message') = 'OBJECT'
                AND json_type(data, '$.message.type') = 'VARCHAR'
                AND json_extract_string(data, '$.message.type') IN ('user', 'assistant'), false) AS inline
        FROM kinds
        WHERE kind IN ('user', 'assistant', 'system', 'summary', 'progress')
    )
    SELECT pos, file_idx, line_no, kind, inline, sessionId, isSidechain, agentId, isMeta,
            subtype, level, content, compactMetadata, summary, leafUuid, logicalParentUuid,
            {", ".join(f'"{k}"' for k in CONTEXT_KEYS)},
            CASE WHEN inline THEN data->'$.agentId' END AS inline_agent,
            {pick}
    FROM (SELECT *, CASE WHEN inline THEN json_extract(data, [{nested}]) END AS nx FROM flagged)
    WHERE kind <> 'progress' OR inline
    """


def lines_sql(picked: str) -> str:
    """The line-level fields of `picked` (see `picked_sql`), typed."""
    context = ", ".join(_typed(f'"{key}"', f"ctx_{key}") for key in CONTEXT_KEYS)
    return f"""
    WITH with_message AS (
        SELECT *,
            CASE WHEN json_type(message_j) = 'OBJECT'
                 THEN json_extract(message_j, ['$.role', '$.content', '$.usage', '$.id', '$.model']) END AS mx
        FROM {picked}
    ), with_usage AS (
        SELECT *,
            CASE WHEN json_type(mx[3]) = 'OBJECT' THEN json_extract(mx[3], ['$.input_tokens',
                '$.cache_creation_input_tokens', '$.cache_read_input_tokens', '$.output_tokens']) END AS ux
        FROM with_message
    )
    SELECT pos, file_idx, line_no, kind, inline,
        {_typed("sessionId", "session_id")},
        {_typed("uuid_j", "uuid")},
        {_typed("timestamp_j", "ts_text")},
        json_type(message_j) AS message_t,
        {_typed("parentUuid_j", "parent_uuid")},
        {_typed("logicalParentUuid", "logical_parent")},
        json_type(isSidechain) AS sidechain_t, json_extract_string(isSidechain, '$') AS sidechain,
        {_typed("agentId", "agent_id")},
        {_typed("inline_agent", "inline_agent")},
        json_type(isMeta) AS meta_t, json_extract_string(isMeta, '$') AS meta,
        json_type(isCompactSummary_j) AS compact_t, json_extract_string(isCompactSummary_j, '$') AS compact,
        {_typed("type_j", "record_type")},
        {_typed("requestId_j", "request_id")},
        {_typed("mx[1]", "role")},
        json_type(mx[2]) AS content_t,
        CASE WHEN json_type(mx[2]) = 'VARCHAR' THEN json_extract_string(mx[2], '$') END AS content_text,
        CASE WHEN json_type(mx[2]) NOT IN ('VARCHAR', 'NULL', 'ARRAY')
              OR (json_type(mx[2]) = 'ARRAY' AND (json_extract_string(isCompactSummary_j, '$') = 'true'
                  OR (kind = 'user' AND NOT inline AND json_extract_string(mx[2], '$[0].type') = 'text')))
             THEN mx[2] END AS content_json,
        json_type(mx[3]) AS usage_t,
        list_bool_and(list_transform(ux, lambda v: v IS NULL OR json_type(v) = 'NULL'
            OR (json_type(v) IN ('BIGINT', 'UBIGINT') AND TRY_CAST(json_extract_string(v, '$') AS BIGINT) IS NOT NULL)))
            AS usage_ok,
        coalesce(TRY_CAST(json_extract_string(ux[1], '$') AS BIGINT), 0)
            + coalesce(TRY_CAST(json_extract_string(ux[2], '$') AS BIGINT), 0)
            + coalesce(TRY_CAST(json_extract_string(ux[3], '$') AS BIGINT), 0) AS line_tokens_in,
        coalesce(TRY_CAST(json_extract_string(ux[4], '$') AS BIGINT), 0) AS line_tokens_out,
        {_typed("mx[4]", "message_id")},
        {_typed("mx[5]", "model")},
        json_type(toolUseResult_j) AS result_t,
        CASE WHEN json_type(toolUseResult_j) = 'VARCHAR' THEN json_extract_string(toolUseResult_j, '$') END
            AS result_text,
        CASE WHEN json_type(toolUseResult_j) = 'OBJECT' THEN
            list_filter(map_entries(toolUseResult_j::MAP(VARCHAR, JSON)), lambda e:
                json_type(e.value) IN ('BOOLEAN', 'BIGINT', 'UBIGINT', 'DOUBLE')
                OR (json_type(e.value) = 'VARCHAR' AND length(json_extract_string(e.value, '$')) <= 200))
            END AS result_entries,
        {_typed("subtype", "subtype")},
        {_typed("level", "level")},
        json_type(content) AS system_content_t,
        CASE WHEN json_type(content) = 'VARCHAR' THEN json_extract_string(content, '$') END AS system_content,
        CASE WHEN json_type(content) NOT IN ('VARCHAR', 'NULL') THEN content END AS system_content_json,
        compactMetadata AS compact_metadata,
        {_typed("summary", "summary")},
        {_typed("leafUuid", "leaf")},
        {context}
    FROM with_usage
    ORDER BY pos
    """


BLOCK_FIELDS = ("type", "text", "thinking", "id", "name", "input", "tool_use_id", "content", "is_error")


def blocks_sql(picked: str) -> str:
    """One row per content block of every user/assistant message whose content is a list (inline ones too)."""
    paths = ", ".join(f"'$.{field}'" for field in BLOCK_FIELDS)
    return f"""
    WITH listed AS (
        SELECT pos, json_extract(message_j, '$.content') AS content_j
        FROM {picked}
        WHERE json_type(message_j) = 'OBJECT' AND json_type(message_j, '$.content') = 'ARRAY'
    ), blocks AS (
        SELECT pos, unnest(content_j::JSON[]) AS block, generate_subscripts(content_j::JSON[], 1) - 1 AS block_idx
        FROM listed
    ), fields AS (
        SELECT pos, block_idx, block, json_type(block) AS block_t,
            CASE WHEN json_type(block) = 'OBJECT' THEN json_extract(block, [{paths}]) END AS bx
        FROM blocks
    )
    SELECT pos, block_idx, block_t,
        {_typed("bx[1]", "block_type")},
        {_typed("bx[2]", "text")},
        {_typed("bx[3]", "thinking")},
        {_typed("bx[4]", "block_id")},
        {_typed("bx[5]", "name")},
        bx[6] AS input_json,
        {_typed("bx[7]", "tool_use_id")},
        json_type(bx[8]) AS result_content_t,
        CASE WHEN json_type(bx[8]) = 'VARCHAR' THEN json_extract_string(bx[8], '$') END AS result_content,
        CASE WHEN json_type(bx[8]) NOT IN ('VARCHAR', 'NULL') THEN bx[8] END AS result_content_json,
        json_type(bx[9]) AS is_error_t, json_extract_string(bx[9], '$') AS is_error_text,
        CASE WHEN json_type(block) = 'OBJECT' AND json_extract_string(bx[1], '$') NOT IN
            ('text', 'thinking', 'tool_use', 'server_tool_use', 'tool_result', 'image', 'redacted_thinking')
            OR bx[1] IS NULL OR json_type(bx[1]) <> 'VARCHAR' THEN block END AS block_json
    FROM fields
    ORDER BY pos, block_idx
    """
