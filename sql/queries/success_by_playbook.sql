-- Success rate of sessions by the playbook version they ran with (null: no playbook).
SELECT s.playbook_version, count(*) AS sessions, round(100.0 * avg(o.success::INT), 1) AS success_pct,
       round(avg(o.score), 3) AS mean_score
FROM sessions s
JOIN session_outcomes o USING (session_id)
GROUP BY s.playbook_version
ORDER BY s.playbook_version NULLS FIRST;
