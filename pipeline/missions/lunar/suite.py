"""The held-out evaluation suite's fixed identity, importable without the simulator (the CLI needs the
defaults at start-up)."""

TASK = "lunar_landing"  # the `task` of every lunar session, which is how the lake tells them apart
EVALUATION_SUITE = "evaluation"  # held-out seeds are drawn from this fixed partition tag, every night alike
# Held-out missions per arm: at 400 paired seeds a 5-point gain typically clears p < 0.05, at 200 it often
# does not (the discordant pairs are what the test sees), and three arms of 400 cost seconds a night.
EVALUATION_MISSIONS = 400
# Part of every cached evaluation arm's key (pipeline/evaluation_cache.py), which also hashes the source of
# missions/, agents/ and playbooks/: bump it when something else changes what a held-out flight does.
MISSION_CODE_VERSION = "1"
