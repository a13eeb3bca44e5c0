-- Pass rate of every outcome criterion, by day.
SELECT date, criterion, count(*) AS sessions,
       round(100.0 * avg(passed::INT), 1) AS pass_pct,
       count(*) FILTER (WHERE passed IS NULL) AS not_graded
FROM outcomes
GROUP BY date, criterion
ORDER BY date, criterion;
