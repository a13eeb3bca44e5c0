-- Held-out evaluation by night: candidate, playbook in force and the reference heuristic on the same seeds.
SELECT day, arm, version, successes, n, round(100 * rate, 1) AS success_pct,
       round(100 * ci_low, 1) AS ci_low_pct, round(100 * ci_high, 1) AS ci_high_pct, decision
FROM evaluations
ORDER BY day, arm;
