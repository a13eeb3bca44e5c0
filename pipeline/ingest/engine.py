"""The ingest engine: stage source files, then build the date-partitioned `events`, `sessions`, `rejects`.

Two steps because a session's partition is its start date, which is only known once all its files are
read (subagent transcripts and resumed sessions arrive as separate files). `stage_files` is incremental
and parallel (the parent and one spawned process per further core, one staged Parquet per ~8 MB batch of
files); the `build_*_partition` functions are pure DuckDB SQL over staging, so rebuilding any day is
cheap, deterministic and idempotent, and each day reads only its own row groups of the staged batches.
The partition builders live in `pipeline.ingest.partitions` and are importable from here too.
The Dagster assets (`staged_logs` -> `events` -> `sessions`) and `reverie ingest` call these.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.ingest import pending
from pipeline.ingest.base import RecordTally
from pipeline.ingest.discovery import LOG_SUFFIXES, discover, discover_files
from pipeline.ingest.manifest import read_manifest, record_staged
from pipeline.ingest.partitions import (
    TASK_CHARS,
    PartitionCounts,
    build_events_partition,
    build_partitions,
    build_rejects_partition,
    build_sessions_partition,
    reject_dates,
    session_start_dates,
    staged_dates,
)
from pipeline.ingest.staging import StagedFile, stage_files_together
from pipeline.progress import progress_for
from pipeline.redaction import Redactor
from pipeline.redaction_fields import redact_identifiers

__all__ = [
    "BATCH_BYTES",
    "BATCH_MAX_FILES",
    "LOG_SUFFIXES",
    "PARALLEL_MIN_BYTES",
    "TASK_CHARS",
    "PartitionCounts",
    "StageReport",
    "build_events_partition",
    "build_partitions",
    "build_rejects_partition",
    "build_sessions_partition",
    "discover",
    "discover_files",
    "ingest",
    "pending_days",
    "reject_dates",
    "session_start_dates",
    "stage_files",
    "staged_dates",
]

PARALLEL_MIN_BYTES = 16 * 1024 * 1024
"""Below this, starting worker processes (each imports pyarrow and polars) costs more than it saves."""


@dataclass
class StageReport:
    """What one `stage_files` run did: the CLI prints it, the Dagster asset attaches it as metadata."""

    files_seen: int = 0
    files_staged: int = 0
    files_skipped_unchanged: int = 0
    events: int = 0
    rejects: int = 0
    redactions: int = 0
    events_already_staged: int = 0
    by_format: dict[str, int] = field(default_factory=dict)  # files staged per source format
    session_dates: set[date] = field(default_factory=set)  # `events`/`sessions` partitions to rebuild
    reject_dates: set[date] = field(default_factory=set)  # `rejects` partitions to rebuild
    unknown_format: list[str] = field(default_factory=list)
    skipped_paths: dict[str, dict[str, object]] = field(default_factory=dict)  # reason -> count, examples
    records_skipped: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    """Per format, records read but made into no event: {"ignored": {type: n}, "unknown": {type: n}}."""

    @property
    def nothing_ingested(self) -> bool:
        """True when the inputs hold no usable event at all, new or previously staged (exit non-zero)."""
        return self.events == 0 and self.events_already_staged == 0

    @property
    def failure_reason(self) -> str | None:
        """A one-line reason for `nothing_ingested`, phrased so the user knows what to check."""
        if not self.nothing_ingested:
            return None
        if self.files_seen == 0:
            skipped = "; ".join(f"{v['count']} {reason}" for reason, v in self.skipped_paths.items())
            return "no log files found (looked for .jsonl/.json/.ndjson/.log files" + (
                f"; skipped: {skipped})" if skipped else ")"
            )
        if len(set(self.unknown_format)) == self.files_seen:
            return f"none of the {self.files_seen} files is in a known log format (see `reverie formats`)"
        return f"no valid event in {self.files_seen} files: {self.rejects} lines rejected (see the rejects table)"


# --- staging ------------------------------------------------------------------------------------------------

BATCH_BYTES = 8 * 1024 * 1024
"""Source files are staged in batches of about this size, one staged Parquet per batch: big enough that the
per-file cost of Parquet vanishes, small enough that both workers stay busy to the end of a run."""
BATCH_MAX_FILES = 256

_worker_args: tuple[ReverieHome, date, Redactor, frozenset[str]] | None = None


def _init_worker(
    home: ReverieHome, ingest_date: date, redactor: Redactor | None, known: frozenset[str]
) -> None:
    global _worker_args
    _worker_args = (home, ingest_date, redactor or Redactor(), known)


def _stage_in_worker(paths: list[Path]) -> list[StagedFile]:
    assert _worker_args is not None
    home, ingest_date, redactor, known = _worker_args
    return stage_files_together(home, paths, ingest_date, redactor, known)


def _batches(files: list[Path], sizes: list[int]) -> list[list[Path]]:
    """Consecutive files (so one session's transcripts tend to share a batch) up to `BATCH_BYTES` each,
    biggest batches first so the last ones to finish are small."""
    batches: list[list[Path]] = []
    batch_sizes: list[int] = []
    current: list[Path] = []
    size = 0
    for path, file_size in zip(files, sizes, strict=True):
        current.append(path)
        size += file_size
        if size >= BATCH_BYTES or len(current) >= BATCH_MAX_FILES:
            batches.append(current)
            batch_sizes.append(size)
            current, size = [], 0
    if current:
        batches.append(current)
        batch_sizes.append(size)
    order = sorted(range(len(batches)), key=lambda i: -batch_sizes[i])
    return [batches[i] for i in order]


def _stage_all(
    home: ReverieHome,
    files: list[Path],
    ingest_date: date,
    workers: int,
    redactor: Redactor | None,
    known: frozenset[str],
) -> Iterator[StagedFile]:
    sizes = [f.stat().st_size for f in files]
    batches = _batches(files, sizes)
    if workers <= 1 or len(batches) < 2 or sum(sizes) < PARALLEL_MIN_BYTES:
        active = redactor or Redactor()
        for batch in batches:
            yield from stage_files_together(home, batch, ingest_date, active, known)
        return
    # The parent is one of the `workers`: it takes batches from the same queue as the spawned processes and
    # starts at once, with its modules imported, while they are still importing theirs (a spawned worker
    # starts cold: ~1-2 s here, which is most of a 100 MB ingest's head start).
    # spawn, not fork: the parent may hold DuckDB/polars thread pools (and runs inside Dagster).
    helpers = workers - 1
    queue = deque(batches)  # biggest first
    active = redactor or Redactor()
    with ProcessPoolExecutor(
        max_workers=helpers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(home, ingest_date, redactor, known),
    ) as pool:
        running: set[Future[list[StagedFile]]] = set()
        while queue or running:
            # Each process has its batch and one more queued, so none waits while the parent works.
            while queue and len(running) < 2 * helpers:
                running.add(pool.submit(_stage_in_worker, queue.popleft()))
            if queue:
                yield from stage_files_together(home, queue.popleft(), ingest_date, active, known)
                done = {future for future in running if future.done()}
            else:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
            running -= done
            for future in done:
                yield from future.result()


def _redacted_examples(
    skipped: dict[str, dict[str, object]], redactor: Redactor
) -> dict[str, dict[str, object]]:
    """Skipped paths as the report may show them: the examples go to the asset's metadata, which Dagster
    stores under REVERIE_HOME, and a file or folder name can hold a secret."""
    redacted: dict[str, dict[str, object]] = {}
    for reason, summary in skipped.items():
        examples = summary.get("examples")
        paths = [str(p) for p in examples] if isinstance(examples, list) else []
        redacted[reason] = {**summary, "examples": redact_identifiers(redactor, paths)}
    return redacted


def stage_files(
    home: ReverieHome,
    paths: Sequence[Path],
    *,
    ingest_date: date | None = None,
    workers: int | None = None,
    redactor: Redactor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StageReport:
    """Stage every log file under `paths` into `home.staging`; skip files already staged unchanged.

    Never raises on bad input: broken lines, empty files and unknown formats become rejects (dated
    `ingest_date`, default today UTC). `workers` defaults to the CPU count. `progress(done, total)` is
    called after each file. The report's `session_dates`/`reject_dates` say which partitions to rebuild:
    those this run changed and those an earlier, interrupted run left unbuilt.
    """
    home.staging.mkdir(parents=True, exist_ok=True)
    progress = progress_for("ingest", progress)
    ingest_date = ingest_date or datetime.now(UTC).date()
    found = discover(paths)
    files = found.files
    manifest = read_manifest(home)
    known = frozenset(manifest["stage_key"].to_list())
    skipped = _redacted_examples(found.skipped_summary(), redactor or Redactor())
    report = StageReport(files_seen=len(files), skipped_paths=skipped)
    staged: list[StagedFile] = []
    formats: Counter[str] = Counter()
    tallies: dict[str, RecordTally] = {}
    for done, result in enumerate(
        _stage_all(home, files, ingest_date, workers or os.cpu_count() or 1, redactor, known), start=1
    ):
        staged.append(result)
        if result.skipped:
            report.files_skipped_unchanged += 1
        else:
            report.files_staged += 1
            report.events += result.n_events
            report.rejects += result.n_rejects
            report.redactions += result.n_redactions
            formats[result.source_format] += 1
            tallies.setdefault(result.source_format, RecordTally()).merge(result.records_skipped)
            if result.source_format == "unknown":
                report.unknown_format.append(result.source_file)
        if progress is not None:
            progress(done, len(files))
    skipped_keys = [s.stage_key for s in staged if s.skipped]
    unchanged = manifest.filter(pl.col("stage_key").is_in(skipped_keys))
    report.events_already_staged = int(unchanged["n_events"].sum())
    # An unchanged unknown-format file is as unknown as on its first run: same report, same exit status.
    report.unknown_format += unchanged.filter(pl.col("source_format") == "unknown")["source_file"].to_list()
    report.records_skipped = {
        name: tally.as_dict() for name, tally in sorted(tallies.items()) if tally.ignored or tally.unknown
    }
    report.by_format = dict(sorted(formats.items()))
    record_staged(home, staged)
    pending.checkpoint("staged")
    report.session_dates, report.reject_dates = pending_days(home)
    return report


def pending_days(home: ReverieHome) -> tuple[set[date], set[date]]:
    """The `events`/`sessions` days and the `rejects` days that staging changed and no build has written
    since, this run's and any interrupted run's (see `pipeline.ingest.pending`).

    Days with neither staged sessions nor a partition to empty are dropped from the journal: there is
    nothing to build for them (a session removed before its first build).
    """
    marked = set(pending.pending(home, "events")) | set(pending.pending(home, "sessions"))
    live = set(staged_dates(home)) | {date.fromisoformat(d) for d in lake.partitions(home, "events")}
    pending.forget(home, "events", marked - live)
    pending.forget(home, "sessions", marked - live)
    return marked & live, set(pending.pending(home, "rejects"))


def ingest(home: ReverieHome, paths: Sequence[Path], **stage_options: object) -> StageReport:
    """Stage `paths` and rebuild every partition they touched: the one-call path for the CLI and tests."""
    report = stage_files(home, paths, **stage_options)  # type: ignore[arg-type]
    workers = stage_options.get("workers")
    build_partitions(home, report.session_dates, report.reject_dates, workers=workers)  # type: ignore[arg-type]
    return report
