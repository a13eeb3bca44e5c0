-- The actions (commands, file edits: events.action) whose results fail most often, per project
-- (sessions.project; "(unknown)" when the logs name no working folder), with their most common error signature.
-- Top 10 per project, most failures first.
WITH results AS (
    SELECT coalesce(s.project, '(unknown)') AS project, r.session_id, r.action, coalesce(r.is_error, false) AS failed,
           r.error_signature
    FROM events AS r
    JOIN sessions AS s USING (session_id)
    WHERE r.type = 'tool_result' AND r.action IS NOT NULL
),
per_action AS (
    SELECT
        project,
        action,
        count(*) AS runs,
        count(*) FILTER (WHERE failed) AS failures,
        round(100.0 * count(*) FILTER (WHERE failed) / count(*), 1) AS failure_pct,
        count(DISTINCT session_id) FILTER (WHERE failed) AS sessions_affected,
        mode(error_signature) FILTER (WHERE failed) AS top_error
    FROM results
    GROUP BY project, action
)
SELECT project, action, runs, failures, failure_pct, sessions_affected, top_error
FROM per_action
WHERE failures > 0
QUALIFY row_number() OVER (PARTITION BY project ORDER BY failures DESC, failure_pct DESC, action) <= 10
ORDER BY project, failures DESC, failure_pct DESC, action;
