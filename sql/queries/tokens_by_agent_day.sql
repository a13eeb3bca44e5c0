-- Input and output tokens by agent and day.
SELECT date, agent, sum(tokens_in) AS tokens_in, sum(tokens_out) AS tokens_out, count(DISTINCT session_id) AS sessions
FROM events
GROUP BY date, agent
ORDER BY date, coalesce(sum(tokens_in), 0) + coalesce(sum(tokens_out), 0) DESC;
