"""Helpers of benchmarks/lunar_dream_loop.py that touch no locked seed: history start dates and flying a fixed
seed sample with a final playbook (the tuning figures of `--final-heldout`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pipeline.home import ReverieHome
from pipeline.missions.lunar.batch import batch_seeds, fly_batch
from pipeline.missions.lunar.flight import fly_reference
from pipeline.missions.lunar.suite import TUNING_FINAL_DAY, tuning_seeds
from pipeline.playbooks.model import Playbook


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s: where the k-th history starts."""
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def fly_final_arm(home: ReverieHome, seeds: Sequence[int], playbook: Playbook | None, workers: int) -> float:
    """Success rate of the crew with `playbook` (None: the naive crew) on fixed held-out `seeds`, writing no
    logs, so a final figure never feeds a dream. Flown under a day no history trains on."""
    flown = fly_batch(home, TUNING_FINAL_DAY, len(seeds), heldout=True, seeds=seeds, playbook=playbook,
                      workers=workers, write_logs=False)  # fmt: skip
    return flown.success_rate


def final_heldout(home: ReverieHome, final: Playbook | None, n: int, workers: int) -> None:
    """Tuning figures: the final playbook on two fixed samples of tuning seeds, the same for every `--start`,
    so histories compare on equal terms and one history's figure is not flattered by its own 200 seeds."""
    suites = {
        f"day {TUNING_FINAL_DAY}": batch_seeds(TUNING_FINAL_DAY, n, heldout=True),
        "evaluation (tuning) suite": tuning_seeds(n),
    }
    rates = []
    for name, seeds in suites.items():
        rate = fly_final_arm(home, seeds, final, workers)
        reference = sum(r.success for r in fly_reference(seeds)) / n
        rates.append(rate)
        print(
            f"final playbook on {n} held-out seeds of the {name}: {rate:.1%} "
            f"(reference heuristic {reference:.1%})",
            flush=True,
        )
    print(f"final playbook on both ({2 * n} seeds): {sum(rates) / len(rates):.1%}", flush=True)
