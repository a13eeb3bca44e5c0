"""Mission throughput and the cost of the crew: orchestration + logging vs bare simulation.

Baseline, measured in the same run: `fly()` alone with exactly the parameters the crew chose, on the same
seeds, in the same process (no telemetry, no events, no files). The full path is `fly_batch(workers=1)`:
briefing, four agents, tool calls, decisions, telemetry, key moments, the report and the JSONL write.
Throughput is then measured with 2 worker processes, as the `mission_batch` asset runs it.
Also printed: the naive crew's success rate next to gymnasium's reference heuristic on the same seeds.

    .venv/bin/python benchmarks/missions.py --missions 120 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from pipeline.home import ReverieHome
from pipeline.missions.lunar.autopilot import AutopilotParams
from pipeline.missions.lunar.batch import fly_batch
from pipeline.missions.lunar.flight import draw_conditions, fly, fly_reference

DAY = date(2025, 9, 1)


def _bare_seconds(records: list, repeats: int) -> list[float]:
    plans = [(draw_conditions(r.seed), AutopilotParams.from_decisions(r.params)) for r in records]
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for conditions, params in plans:
            fly(conditions, params)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missions", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        home = ReverieHome.at(tmp)
        warm = fly_batch(home, DAY, 4, heldout=True, workers=1)  # imports and env creation out of the timing
        _bare_seconds(warm.results, 1)

        full_times, bare_times = [], []
        report = warm
        for _ in range(args.repeats):  # alternate full and bare so load changes hit both alike
            started = time.perf_counter()
            # A fresh home per repeat: a real batch writes new files, while replacing existing ones makes
            # ext4 flush data on rename (auto_da_alloc), which would bill the filesystem to the crew.
            fresh = ReverieHome.at(Path(tmp) / f"repeat-{len(full_times)}")
            report = fly_batch(fresh, DAY, args.missions, heldout=True, workers=1)
            full_times.append(time.perf_counter() - started)
            bare_times.extend(_bare_seconds(report.results, 1))

        started = time.perf_counter()
        parallel = fly_batch(
            ReverieHome.at(Path(tmp) / "parallel"), DAY, args.missions, heldout=True, workers=2
        )
        parallel_seconds = time.perf_counter() - started
        assert [r.metrics for r in parallel.results] == [r.metrics for r in report.results]

    full, bare = statistics.median(full_times), statistics.median(bare_times)
    reference = fly_reference(report.seeds)
    reference_rate = sum(f.success for f in reference) / len(reference)
    steps = sum(r.metrics["steps"] for r in report.results) / len(report.results)
    print(
        f"missions: {args.missions} held-out seeds of {DAY}, mean {steps:.0f} steps; repeats {args.repeats}"
    )
    print(
        "full runs: "
        + ", ".join(f"{t:.2f}" for t in full_times)
        + " s; bare: "
        + ", ".join(f"{t:.2f}" for t in bare_times)
        + " s"
    )
    print(f"orchestration + logging / bare simulation: {full / bare:.2f}x (target <= 1.25x)")
    print(
        f"2 workers: {60 * args.missions / parallel_seconds:.0f} missions/min, "
        f"{full / parallel_seconds:.2f}x the 1-worker batch (incl. process start-up)"
    )
    print(
        f"naive crew success {report.success_rate:.1%} vs reference heuristic {reference_rate:.1%} (same seeds)"
    )
    print(
        f"machine: nproc={os.cpu_count()}, processor={platform.processor() or 'unknown'}, "
        f"python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
