"""The lunar learning loop, night by night, through the loop API the demo uses (assets/loop.py): fly 200
training missions a night, ingest, score, dream, evaluate and promote by the evaluation's paired test, and
print held-out success of the playbook in force after each night on the evaluation suite.

Usage: python benchmarks/lunar_dream_loop.py [--nights 4] [--per-night 200] [--heldout 200] [--home DIR]
       [--no-joint] [--strategy-band 0.8]   (ablations: without the joint test; 0 = no strategies)
       [--start 2026-11-01] [--final-heldout 1000]   (another history; its final playbook on 2 x 1,000 seeds)
Promotion is `playbook_evaluation`'s rule (the candidate must beat the playbook in force on the held-out
suite with p < 0.05, or only prune without losing more than 2 points), the same as `reverie demo`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from assets.loop import night
from pipeline.dreaming import DreamSettings
from pipeline.home import ReverieHome
from pipeline.loop_report import LoopSettings
from pipeline.missions.lunar.batch import batch_seeds, fly_batch
from pipeline.missions.lunar.flight import fly_reference
from pipeline.missions.registry import mission
from pipeline.playbooks.model import Playbook
from pipeline.playbooks.store import PlaybookStore

FINAL_DAY = date(2030, 1, 1)  # a day no history flies: the same held-out seeds whatever the --start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nights", type=int, default=4)
    parser.add_argument("--per-night", type=int, default=200)
    parser.add_argument("--heldout", type=int, default=200, help="held-out missions per evaluation arm")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--fdr", type=float, default=DreamSettings().fdr)
    parser.add_argument("--min-effect", type=float, default=DreamSettings().min_effect)
    parser.add_argument(
        "--no-joint", action="store_true", help="without the joint model's per-parameter test"
    )
    parser.add_argument(
        "--strategy-band",
        type=float,
        default=DreamSettings().strategy_band,
        help="central share of successes an unproven parameter's strategy spans (0: none)",
    )
    parser.add_argument(
        "--elite-band",
        type=float,
        default=DreamSettings().elite_band,
        help="central share of the elite sessions' values a range spans",
    )
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2026, 11, 1),
        help="first night (other dates give other training and held-out seeds)",
    )
    parser.add_argument(
        "--elite-share",
        type=float,
        default=DreamSettings().elite_share,
        help="best-judged share of successes that shapes ranges (0: all successes)",
    )
    parser.add_argument(
        "--exploration",
        type=float,
        default=None,
        help="share of training decisions that explore around a rule (default: the batch's)",
    )
    parser.add_argument(
        "--final-heldout",
        type=int,
        default=0,
        metavar="N",
        help="also fly the final playbook and the reference on N seeds of 2030-01-01 and on the "
        "evaluation suite's first N (the 2,000-seed figures of benchmarks/README.md use 1000)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="any other DreamSettings field, e.g. --set 'context_splits=[]'",
    )
    args = parser.parse_args()
    os.environ["REVERIE_WORKERS"] = str(args.workers)  # the runtime resource of the jobs the loop runs
    home = ReverieHome.at(args.home or tempfile.mkdtemp(prefix="reverie-loop-")).ensure()
    overrides = {
        "fdr": args.fdr, "min_effect": args.min_effect, "joint_model": not args.no_joint,
        "strategy_band": args.strategy_band, "elite_share": args.elite_share, "elite_band": args.elite_band,
        **{name: json.loads(value) for name, value in (item.split("=", 1) for item in args.set)},
    }  # fmt: skip
    settings = LoopSettings(
        mission="lunar", missions=args.per_night, exploration=args.exploration, eval_missions=args.heldout,
        dream={k: v for k, v in overrides.items() if v != getattr(DreamSettings(), k)},
    )  # fmt: skip
    print(f"settings: {settings.dream_settings().model_dump()}", flush=True)
    start = args.start
    for number in range(1, args.nights + 1):
        day = start + timedelta(days=number - 1)
        t0 = time.perf_counter()
        report = night(home, day, settings, number=number)
        dreamed, evaluation = report.dream, report.evaluation
        if number == 1 and evaluation.in_force_version is None:
            print(f"night 0: held-out success with no playbook {evaluation.in_force.rate:.1%} "
                  f"({len(evaluation.seeds)} missions)", flush=True)  # fmt: skip
        ops = dreamed.ops
        print(
            f"night {number}: training success {report.flight.success_rate:.1%}; dream over "
            f"{dreamed.sessions_reviewed} sessions, {ops['patterns_found']}/{ops['patterns_tested']} patterns kept, "
            f"+{ops['added']} ~{ops['updated']} -{ops['retired']}; candidate {evaluation.candidate.rate:.1%} -> "
            f"{evaluation.decision} (p={evaluation.p_value:.3g}); held-out success "
            f"{evaluation.heldout_success_after:.1%} (night {time.perf_counter() - t0:.0f}s)",
            flush=True,
        )
    store = PlaybookStore(home)
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
    suites = {
        "day 2030-01-01": batch_seeds(FINAL_DAY, n, heldout=True),
        "evaluation suite": mission("lunar").heldout_seeds(n),
    }
    rates = []
    for name, seeds in suites.items():
        flown = fly_batch(
            home, FINAL_DAY, n, heldout=True, seeds=seeds, playbook=final, workers=workers, write_logs=False
        )
        reference = sum(r.success for r in fly_reference(seeds)) / n
        rates.append(flown.success_rate)
        print(
            f"final playbook on {n} held-out seeds of the {name}: {flown.success_rate:.1%} "
            f"(reference heuristic {reference:.1%})",
            flush=True,
        )
    print(f"final playbook on both ({2 * n} seeds): {sum(rates) / len(rates):.1%}", flush=True)


if __name__ == "__main__":
    main()
