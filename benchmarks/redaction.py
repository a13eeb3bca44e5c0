"""Redaction's cost: ingest time with redaction on, as a ratio of the same ingest with it off (same corpus, same run).

Corpus: the real sample files of every format in tests/fixtures (copied `--copies` times under distinct
names) plus the planted-secret corpus written the same number of times. Each mode runs `--repeats` times,
alternating, into a fresh REVERIE_HOME; the median of each is compared. Target: on <= 1.3x off.

    .venv/bin/python benchmarks/redaction.py --copies 20 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "redaction")]

from planted import write_corpus  # noqa: E402

from pipeline.home import ReverieHome  # noqa: E402
from pipeline.ingest.engine import ingest  # noqa: E402
from pipeline.redaction import Redacted, Redactor  # noqa: E402

FORMAT_FOLDERS = ("anthropic-messages", "codex", "openai-agents", "otel-genai", "claude-code")


class PassThroughRedactor(Redactor):
    """The 'off' baseline: same call path through the engine, no detection."""

    def redact(self, text: str) -> Redacted:
        return Redacted(text)

    def secret_across(self, text: str, boundary: int) -> None:
        return None


def build_corpus(folder: Path, copies: int) -> tuple[list[Path], int]:
    samples = [
        p for name in FORMAT_FOLDERS for p in sorted((ROOT / "tests" / "fixtures" / name).rglob("*.json*"))
    ]
    files: list[Path] = []
    for copy in range(copies):
        for index, sample in enumerate(samples):
            target = folder / f"copy{copy:03d}" / f"{index:03d}-{sample.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            # Distinct bytes per copy, so each copy is a new file to stage and not a duplicate session.
            shutil.copyfile(sample, target)
            files.append(target)
    files += write_corpus(folder / "planted", copies=copies)
    return files, sum(f.stat().st_size for f in files)


def redactor_throughput(files: list[Path], repeats: int) -> float:
    """MB/s of `Redactor.redact_all` alone over the corpus files' text (less noisy than whole ingests)."""
    texts: list[str | None] = [f.read_text(errors="replace") for f in files]
    size = sum(len(t or "") for t in texts)
    redactor = Redactor()
    best = min(_timed(lambda: redactor.redact_all(texts)) for _ in range(repeats))
    return size / 1e6 / best


CLOCK = time.perf_counter
"""Wall time by default; `--clock cpu` (this process's CPU time, all threads) on a machine shared with others."""


def _timed(work) -> float:
    start = CLOCK()
    work()
    return CLOCK() - start


def time_ingest(files: list[Path], redactor: Redactor, workers: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        home = ReverieHome.at(tmp).ensure()
        start = CLOCK()
        report = ingest(home, files, workers=workers, redactor=redactor)
        return CLOCK() - start, report.redactions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    with tempfile.TemporaryDirectory() as tmp:
        files, size = build_corpus(Path(tmp), args.copies)
        off: list[float] = []
        on: list[float] = []
        redactions = 0
        time_ingest(files[: len(files) // 10], Redactor(), args.workers)  # warm-up: imports, caches
        for repeat in range(args.repeats):
            # Alternate which mode goes first so neither always runs on a warmer (or busier) machine.
            for mode in ("off", "on") if repeat % 2 == 0 else ("on", "off"):
                seconds, found = time_ingest(
                    files, Redactor() if mode == "on" else PassThroughRedactor(), args.workers
                )
                (on if mode == "on" else off).append(seconds)
                redactions = found if mode == "on" else redactions
        throughput = redactor_throughput(files, args.repeats)
    ratio = statistics.median(on) / statistics.median(off)
    print(
        f"corpus: {len(files)} files, {size / 1e6:.1f} MB; workers={args.workers}; repeats={args.repeats}; "
        f"clock={args.clock}"
    )
    print(f"redactions found: {redactions}")
    print(f"runs off: {', '.join(f'{s:.2f}' for s in off)} s; on: {', '.join(f'{s:.2f}' for s in on)} s")
    print(f"ingest with redaction / without: {ratio:.2f}x (target <= 1.30x)")
    print(f"redactor alone (redact_all over whole files): {throughput:.1f} MB/s")
    print(
        f"machine: nproc={os.cpu_count()}, processor={platform.processor() or 'unknown'}, python={platform.python_version()}"
    )


if __name__ == "__main__":
    main()
