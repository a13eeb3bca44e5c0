"""The held-out evaluation suite's fixed identity, importable without the simulator (the CLI needs the
defaults at start-up)."""

EVALUATION_SUITE = "evaluation"  # held-out seeds are drawn from this fixed partition tag, every night alike
# Held-out missions per arm: at 400 paired seeds a 5-point gain typically clears p < 0.05, at 200 it often
# does not (the discordant pairs are what the test sees), and three arms of 400 cost seconds a night.
EVALUATION_MISSIONS = 400
