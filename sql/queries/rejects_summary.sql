-- Rejected input lines by file and reason (the good lines of those files were kept).
SELECT source_file, reason, count(*) AS lines, min(source_line) AS first_line
FROM rejects
GROUP BY source_file, reason
ORDER BY lines DESC;
