-- The most frequent error signatures (first line, numbers and paths masked) and the tools that raise them.
WITH errors AS (
    SELECT
        session_id,
        coalesce(tool, '?') AS tool,
        regexp_replace(
            regexp_replace(split_part(trim(coalesce(content, '')), chr(10), 1), '(/[^\s:''"]+)+', '<path>', 'g'),
            '[0-9]+', 'N', 'g'
        ) AS signature
    FROM events
    WHERE is_error AND type IN ('tool_result', 'error')
)
SELECT left(signature, 120) AS signature, tool, count(*) AS occurrences, count(DISTINCT session_id) AS sessions
FROM errors
GROUP BY ALL
ORDER BY occurrences DESC
LIMIT 50;
