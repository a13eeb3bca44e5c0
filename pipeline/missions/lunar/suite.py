"""Which lunar seeds are for what: training draws, the tuning suite, and the locked report suite.

Importable without the simulator (the CLI needs the defaults at start-up): a seed is a keyed hash, nothing more.

Three kinds of seed, never mixed:
- **training**: `mission_seed(day, i, heldout=False)`, what a night's crew flies and the dream learns from (even);
- **tuning**: held-out seeds (odd) that settings were chosen on. The nightly evaluation's fixed suite
  (`TUNING_SUITE`) is one of them, and every held-out seed drawn for a date partition is another (the loop
  benchmark's nightly figures and its `--final-heldout` check on `TUNING_FINAL_DAY`). Whoever tunes
  something (an autopilot constant, a dreamer setting) measures it here;
- **locked report**: held-out seeds of `LOCKED_REPORT_SUITE`, flown only by the report benchmark
  (`benchmarks/lunar_dream_loop.py --report`), so the figures README and benchmarks/README.md quote were never
  chosen on. Tuning on them would spend the suite: draw a new one (bump its tag) and say so in the benchmarks.
"""

from __future__ import annotations

import hashlib
from datetime import date

_SEED_DOMAIN = b"reverie.lunar.mission/v1"

TUNING_SUITE = "evaluation"  # the nightly evaluation's held-out partition tag, every night alike
# The day whose held-out seeds `lunar_dream_loop.py --final-heldout` flies: a tuning sample (CREW_BASE,
# elite_share and joint_ridge were compared on it), never a report.
TUNING_FINAL_DAY = date(2030, 1, 1)
# Fresh in this commit: no setting was chosen on these. Not a date, so no date partition can draw them.
LOCKED_REPORT_SUITE = "locked-report/1"
LOCKED_REPORT_MISSIONS = 1000  # per arm: about +-1.5 points of binomial noise at 85%
TASK = "lunar_landing"  # the `task` of every lunar session, which is how the lake tells them apart
# Held-out missions per arm: at 400 paired seeds a 5-point gain typically clears p < 0.05, at 200 it often
# does not (the discordant pairs are what the test sees), and three arms of 400 cost seconds a night.
EVALUATION_MISSIONS = 400
# Part of every cached evaluation arm's key (pipeline/evaluation_cache.py), which also hashes the source of
# missions/, agents/ and playbooks/: bump it when something else changes what a held-out flight does.
MISSION_CODE_VERSION = "1"


def mission_seed(partition: date | str, index: int, heldout: bool) -> int:
    """Deterministic seed for mission `index` of a partition (a day, or a suite's tag).

    Training seeds are even and held-out seeds odd, so the two sets can never overlap whatever the dates
    and counts; hashing with a domain tag keeps nearby indices unrelated.
    """
    day = partition if isinstance(partition, str) else partition.isoformat()
    split = "heldout" if heldout else "training"
    digest = hashlib.blake2b(f"{day}|{index}|{split}".encode(), key=_SEED_DOMAIN, digest_size=8).digest()
    base = int.from_bytes(digest, "big") % (1 << 30)
    return base * 2 + (1 if heldout else 0)


def is_heldout_seed(seed: int) -> bool:
    return seed % 2 == 1


def tuning_seeds(n: int) -> list[int]:
    """The nightly evaluation's fixed suite (its first `n`): the same every night, and fair game for tuning."""
    return [mission_seed(TUNING_SUITE, i, heldout=True) for i in range(n)]


def locked_report_seeds(n: int = LOCKED_REPORT_MISSIONS) -> list[int]:
    """The locked report suite (its first `n`): for the report benchmark only, never for choosing a setting."""
    return [mission_seed(LOCKED_REPORT_SUITE, i, heldout=True) for i in range(n)]
