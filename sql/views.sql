-- Derived views over the lake tables (the table views themselves are created by pipeline/lake.py).

-- One verdict per session: success = every required criterion passed (a not-graded required criterion is not
-- a pass); score = weighted pass fraction over the graded criteria, so an offline run (rubrics not graded)
-- neither rewards nor punishes a session. Same definition as outcomes.score (pipeline/outcomes/scoring.py).
CREATE OR REPLACE VIEW session_outcomes AS
SELECT
    session_id,
    any_value(date) AS date,
    coalesce(bool_and(coalesce(passed, false)) FILTER (WHERE required), true) AS success,
    sum(CASE WHEN passed THEN weight ELSE 0 END) / nullif(sum(weight) FILTER (WHERE passed IS NOT NULL), 0) AS score,
    count(*) AS n_criteria,
    count(*) FILTER (WHERE passed IS NULL) AS n_not_graded
FROM outcomes
GROUP BY session_id;
