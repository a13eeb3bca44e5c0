"""The lunar learning loop by hand: fly 200 training missions a night, ingest, score, dream, promote, and
measure held-out success with the playbook in force after each night.

Usage: python benchmarks/lunar_dream_loop.py [--nights 4] [--per-night 200] [--heldout 200] [--home DIR]
       [--no-joint] [--strategy-band 0.8]   (ablations: without the joint test; 0 = no strategies)
       [--start 2026-11-01] [--final-heldout 1000]   (another history; its final playbook on 2 x 1,000 seeds)
Promotion rule (a stand-in for the evaluation asset): approve the night's candidate when it has approvable
entries; the held-out figure is then measured on the same held-out seeds every night.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from pipeline.dreaming import DreamSettings, dream
from pipeline.evaluation import heldout_seeds
from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest
from pipeline.missions.lunar.batch import batch_seeds, fly_batch
from pipeline.missions.lunar.flight import fly_reference
from pipeline.outcomes.scoring import score_partition
from pipeline.outcomes.spec import load_criteria
from pipeline.playbooks.model import Playbook
from pipeline.playbooks.store import PlaybookError, PlaybookStore

FINAL_DAY = date(2030, 1, 1)  # a day no history flies: the same held-out seeds whatever the --start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nights", type=int, default=4)
    parser.add_argument("--per-night", type=int, default=200)
    parser.add_argument("--heldout", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--fdr", type=float, default=DreamSettings().fdr)
    parser.add_argument("--min-effect", type=float, default=DreamSettings().min_effect)
    parser.add_argument("--no-joint", action="store_true", help="without the joint model's per-parameter test")
    parser.add_argument("--strategy-band", type=float, default=DreamSettings().strategy_band,
                        help="central share of successes an unproven parameter's strategy spans (0: none)")
    parser.add_argument("--elite-band", type=float, default=DreamSettings().elite_band,
                        help="central share of the elite sessions' values a range spans")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 11, 1),
                        help="first night (other dates give other training and held-out seeds)")
    parser.add_argument("--elite-share", type=float, default=DreamSettings().elite_share,
                        help="best-judged share of successes that shapes ranges (0: all successes)")
    parser.add_argument("--exploration", type=float, default=None,
                        help="share of training decisions that explore around a rule (default: the batch's)")
    parser.add_argument("--final-heldout", type=int, default=0, metavar="N",
                        help="also fly the final playbook and the reference on N seeds of 2030-01-01 and on the "
                        "evaluation suite's first N (the 2,000-seed figures of benchmarks/README.md use 1000)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=JSON",
                        help="any other DreamSettings field, e.g. --set 'context_splits=[]'")
    args = parser.parse_args()
    home = ReverieHome.at(args.home or tempfile.mkdtemp(prefix="reverie-loop-")).ensure()
    store = PlaybookStore(home)
    settings = DreamSettings(
        fdr=args.fdr, min_effect=args.min_effect, joint_model=not args.no_joint, strategy_band=args.strategy_band,
        elite_share=args.elite_share, elite_band=args.elite_band,
        **{name: json.loads(value) for name, value in (item.split("=", 1) for item in args.set)},
    )
    print(f"settings: {settings.model_dump()}", flush=True)
    suite = load_criteria([Path(__file__).resolve().parent.parent / "outcomes" / "lunar.yaml"])
    start = args.start
    eval_day = start + timedelta(days=args.nights + 30)
    night_seeds = batch_seeds(eval_day, args.heldout, heldout=True)
    baseline = fly_batch(home, eval_day, args.heldout, heldout=True, seeds=night_seeds, workers=args.workers,
                         write_logs=False)
    print(f"night 0: held-out success with no playbook {baseline.success_rate:.1%} ({args.heldout} missions)", flush=True)
    for night in range(args.nights):
        day = start + timedelta(days=night)
        t0 = time.perf_counter()
        batch = fly_batch(home, day, args.per_night, playbook=store.in_force(day), workers=args.workers,
                          exploration=args.exploration)
        ingest(home, [home.landing / day.isoformat()], workers=1)
        score_partition(home, day, suite)
        t1 = time.perf_counter()
        result = dream(home, day, settings=settings)
        t2 = time.perf_counter()
        try:
            approved = store.approve(result.playbook.version, by="loop", reason="nightly promotion")
        except PlaybookError:
            approved = []
        playbook = store.in_force(day + timedelta(days=1))
        evaluation = fly_batch(home, eval_day, args.heldout, heldout=True, seeds=night_seeds, playbook=playbook,
                               workers=args.workers, write_logs=False)
        print(
            f"night {night + 1}: training success {batch.success_rate:.1%}; dream {t2 - t1:.1f}s over "
            f"{result.stats.sessions_reviewed} sessions, {result.stats.patterns_found}/{result.stats.patterns_tested} "
            f"patterns kept, +{result.stats.added} ~{result.stats.updated} -{result.stats.retired}; "
            f"{len(approved)} entries approved; held-out success {evaluation.success_rate:.1%} "
            f"(fly+ingest+score {t1 - t0:.0f}s)",
            flush=True,
        )
    final = store.in_force(start + timedelta(days=args.nights))
    if final is not None:
        for entry in final.active_entries():
            print(f"  {entry.id} [{entry.agent}] {entry.text}")
    if args.final_heldout:
        _final_heldout(home, final, args.final_heldout, args.workers)
    print(f"home: {home.root}")


def _final_heldout(home: ReverieHome, final: Playbook | None, n: int, workers: int) -> None:
    """The final playbook on two fixed samples of held-out seeds, the same for every `--start`, so histories
    compare on equal terms and one history's figure is not flattered by its own 200 seeds."""
    suites = {"day 2030-01-01": batch_seeds(FINAL_DAY, n, heldout=True), "evaluation suite": heldout_seeds(n)}
    rates = []
    for name, seeds in suites.items():
        flown = fly_batch(home, FINAL_DAY, n, heldout=True, seeds=seeds, playbook=final, workers=workers,
                          write_logs=False)
        reference = sum(r.success for r in fly_reference(seeds)) / n
        rates.append(flown.success_rate)
        print(f"final playbook on {n} held-out seeds of the {name}: {flown.success_rate:.1%} "
              f"(reference heuristic {reference:.1%})", flush=True)
    print(f"final playbook on both ({2 * n} seeds): {sum(rates) / len(rates):.1%}", flush=True)


if __name__ == "__main__":
    main()
