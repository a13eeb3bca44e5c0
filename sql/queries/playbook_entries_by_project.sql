-- The playbook entries in force, per project. In force = the approved entries of the newest version that has
-- any (as agents load it). An entry's project is its rule's scope (`rule.scope.project` or `rule.project`)
-- when the dreamer scoped it, else `*` (it applies everywhere); `evidence_projects` lists the projects of the
-- sessions it cites, so an unscoped lesson learned in one repository is easy to spot.
-- Each mission's line has its own versions (rows from before lines existed are lunar's).
WITH lines AS (
    SELECT *, coalesce(mission, 'lunar') AS line FROM playbook_entries
),
in_force AS (
    SELECT line, max(version) AS version FROM lines WHERE status = 'approved' GROUP BY line
),
entries AS (
    SELECT e.*
    FROM lines AS e
    JOIN in_force USING (line, version)
    WHERE e.status = 'approved'
),
cited AS (
    SELECT entry_id, unnest(evidence) AS session_id FROM entries
),
evidence_projects AS (
    SELECT c.entry_id, list_sort(list_distinct(list(s.project))) AS projects, count(DISTINCT c.session_id) AS cited
    FROM cited AS c
    LEFT JOIN sessions AS s USING (session_id)
    GROUP BY c.entry_id
)
SELECT
    e.line AS mission,
    coalesce(json_extract_string(e.rule, '$.scope.project'), json_extract_string(e.rule, '$.project'), '*')
        AS project,
    e.version,
    e.entry_id,
    e.agent,
    e.section,
    e.support,
    round(e.effect, 3) AS effect,
    e.helpful,
    e.harmful,
    coalesce(p.cited, 0) AS cited_sessions,
    coalesce(p.projects, []) AS evidence_projects,
    left(e.text, 120) AS text
FROM entries AS e
LEFT JOIN evidence_projects AS p USING (entry_id)
ORDER BY mission, project, e.section, e.support DESC, e.entry_id;
