"""CPU seconds of each ingest step in one process (one worker), for comparing two trees on a shared machine.

    .venv/bin/python benchmarks/ingest_cpu.py --gb 0.1
    git archive <rev> | tar -x -C /tmp/before
    PYTHONPATH=/tmp/before .venv/bin/python benchmarks/ingest_cpu.py --gb 0.1   # the same on an earlier commit

CPU time (`time.process_time`) rather than wall time, because on a machine whose load average is ten times
its core count a wall time mostly measures the neighbours. Uses the corpus `benchmarks/ingest.py`
generates (it must exist: run that first). Prints the tree it imported `pipeline` from.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

DATA = Path(__file__).resolve().parent / ".data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=0.1)
    args = parser.parse_args()
    started = time.process_time()
    import pipeline
    from pipeline.home import ReverieHome
    from pipeline.ingest import engine

    imported = time.process_time()
    corpus = DATA / f"claude-code-{args.gb:g}gb"
    if not (corpus / ".complete").exists():
        raise SystemExit(f"no corpus at {corpus}: run benchmarks/ingest.py --gb {args.gb:g} first")
    home_dir = Path(tempfile.mkdtemp(prefix="reverie-ingest-cpu-"))
    try:
        home = ReverieHome.at(home_dir).ensure()
        report = engine.stage_files(home, [corpus], workers=1, ingest_date=date(2026, 2, 1))
        staged = time.process_time()
        counts = engine.build_partitions(home, report.session_dates, report.reject_dates, workers=1)
        built = time.process_time()
    finally:
        shutil.rmtree(home_dir, ignore_errors=True)
    print(f"tree: {Path(pipeline.__file__).resolve().parent.parent}")
    print(
        f"cpu seconds: import {imported - started:.1f}, stage {staged - imported:.1f}, "
        f"partitions {built - staged:.1f}; {sum(counts.events.values()):,} events"
    )


if __name__ == "__main__":
    main()
