-- Recoveries that work: after an action failed with an error signature, the next action the agent ran in that
-- session, when that action succeeded. `recovered` counts the times it succeeded right after the error,
-- `sessions_succeeded` the sessions where it did and the session then succeeded overall (session_outcomes;
-- null before `reverie score`). A retry of the same action shows as `retry = true` (flaky tests recover so).
WITH results AS (
    SELECT session_id, seq, action, coalesce(is_error, false) AS failed, error_signature,
           lead(action) OVER w AS next_action,
           lead(coalesce(is_error, false)) OVER w AS next_failed
    FROM events
    WHERE type = 'tool_result' AND action IS NOT NULL
    WINDOW w AS (PARTITION BY session_id ORDER BY seq)
),
after_error AS (
    SELECT r.session_id, coalesce(s.project, '(unknown)') AS project, r.error_signature, r.action AS failed_action,
           r.next_action, r.next_failed, o.success
    FROM results AS r
    JOIN sessions AS s USING (session_id)
    LEFT JOIN session_outcomes AS o USING (session_id)
    WHERE r.failed AND r.error_signature IS NOT NULL AND r.next_action IS NOT NULL
)
SELECT
    project,
    error_signature,
    failed_action,
    next_action AS recovery,
    next_action = failed_action AS retry,
    count(*) AS times,
    count(*) FILTER (WHERE NOT next_failed) AS recovered,
    round(100.0 * count(*) FILTER (WHERE NOT next_failed) / count(*), 1) AS recovered_pct,
    count(DISTINCT session_id) FILTER (WHERE NOT next_failed AND success) AS sessions_succeeded
FROM after_error
GROUP BY ALL
HAVING count(*) FILTER (WHERE NOT next_failed) > 0
ORDER BY recovered DESC, recovered_pct DESC, project, error_signature, recovery
LIMIT 100;
