-- Entries of every playbook version of every mission's line with their support, effect and evidence count.
SELECT coalesce(mission, 'lunar') AS mission, version, entry_id, agent, section, status, support, round(effect, 3) AS effect, helpful, harmful,
       len(evidence) AS cited_sessions, left(text, 100) AS text
FROM playbook_entries
ORDER BY mission, version DESC, section, support DESC;
