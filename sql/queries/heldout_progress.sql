-- Held-out evaluation by mission and night: candidate, playbook in force and the reference arm on the same seeds.
SELECT coalesce(mission, 'lunar') AS mission, day, arm, version, successes, n, round(100 * rate, 1) AS success_pct,
       round(100 * ci_low, 1) AS ci_low_pct, round(100 * ci_high, 1) AS ci_high_pct, decision
FROM evaluations
ORDER BY mission, day, arm;
