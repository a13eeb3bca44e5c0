-- Tools whose results fail most often, with their error rate and sessions affected.
SELECT
    c.tool,
    count(*) AS calls,
    count(*) FILTER (WHERE r.is_error) AS errors,
    round(100.0 * count(*) FILTER (WHERE r.is_error) / count(*), 1) AS error_pct,
    count(DISTINCT c.session_id) FILTER (WHERE r.is_error) AS sessions_affected
FROM events c
JOIN events r
  ON r.session_id = c.session_id AND r.parent_event_id = c.event_id AND r.type = 'tool_result'
WHERE c.type = 'tool_call'
GROUP BY c.tool
HAVING count(*) FILTER (WHERE r.is_error) > 0
ORDER BY errors DESC, error_pct DESC;
