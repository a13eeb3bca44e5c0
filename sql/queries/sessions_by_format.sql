-- Sessions, events and errors by source format and day.
SELECT date, source_format, count(*) AS sessions, sum(n_events) AS events, sum(n_errors) AS errors,
       sum(n_redactions) AS redactions
FROM sessions
GROUP BY date, source_format
ORDER BY date, source_format;
