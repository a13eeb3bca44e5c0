"""Ingest throughput: Reverie's full normalization vs DuckDB's own JSONL -> Parquet copy of the same files.

    .venv/bin/python benchmarks/ingest.py                 # 1 GB corpus (generated once under benchmarks/.data/)
    .venv/bin/python benchmarks/ingest.py --gb 0.05       # smoke test
    .venv/bin/python benchmarks/ingest.py --repeats 3     # 3 interleaved runs of each side, medians compared
    .venv/bin/python benchmarks/ingest.py --gb 0.1 1.0    # both sizes issue 17 sets targets for

Each size prints its ratio next to its target (>= 0.5 at 0.1 GB, >= 1.0 at 1 GB) and the peak memory of
Reverie's side next to its budget (< 2 GB for the parent and its workers together).

The baseline is `COPY (SELECT * FROM read_json(files, format='newline_delimited', ignore_errors=true)) TO
parquet (zstd)`, with DuckDB's default thread count (all cores): a reader that does no normalization at all
(no pairing, no dedup, no redaction, no partitioning). It runs over the same files in the same run, in chunks
of 500 files with DuckDB's auto-detected schema per chunk (`union_by_name` over the whole corpus exhausts
memory, see STYLE.md). Reverie's side is the full `stage_files` + `build_partitions` path with redaction on.
Each side runs in its own subprocess so peak memory is its own; the two alternate (baseline first in odd
repeats, Reverie first in even ones) so neither always runs on a quieter machine, and medians are compared.
Reported: events/s, MB/s, the ratio of the median times (>= 1.0 means Reverie is at least as fast), peak RSS
and the load average before and after, because the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data"
DUCKDB_CHUNK_FILES = 500
CORPUS_DAYS = 14
CORPUS_START = datetime(2026, 1, 5, tzinfo=UTC)


# --- corpus generation (deterministic) -------------------------------------------------------------------


class TranscriptWriter:
    """Writes Claude Code-shaped transcripts with the quirks the adapter handles: split responses sharing
    `message.id`, tool_result lines with `toolUseResult` in its shapes, hook progress, snapshots, summaries,
    and `<session>/subagents/agent-*.jsonl` sidechains."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        words = [
            "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(self.rng.randint(2, 10)))
            for _ in range(800)
        ]
        self.paragraphs = [" ".join(self.rng.choices(words, k=self.rng.randint(8, 160))) for _ in range(3000)]
        self.files = [f"src/{self.rng.choice(words)}/{self.rng.choice(words)}.py" for _ in range(300)]

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _text(self, paragraphs: int = 1) -> str:
        return "\n\n".join(self.rng.choices(self.paragraphs, k=paragraphs))

    def session(self, session_id: str, start: datetime, agent_id: str | None, n_turns: int) -> list[dict]:
        rng = self.rng
        base = {
            "isSidechain": agent_id is not None,
            "userType": "external",
            "cwd": f"/home/dev/project-{rng.randint(0, 30)}",
            "sessionId": session_id,
            "version": "2.1.38",
            "gitBranch": rng.choice(["main", "master", "feature/x"]),
        }
        if agent_id:
            base["agentId"] = agent_id
        lines: list[dict] = []
        clock = start
        parent: str | None = None

        def add(kind: str, **fields) -> str:
            nonlocal clock, parent
            clock += timedelta(milliseconds=rng.randint(50, 20_000))
            line_uuid = self._uuid()
            line = dict(
                base,
                parentUuid=parent,
                type=kind,
                uuid=line_uuid,
                timestamp=clock.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            )
            line.update(fields)
            lines.append(line)
            parent = line_uuid
            return line_uuid

        if agent_id is None:
            lines.append(
                {
                    "type": "file-history-snapshot",
                    "messageId": self._uuid(),
                    "snapshot": {"trackedFileBackups": {}},
                    "isSnapshotUpdate": False,
                }
            )
        add("user", message={"role": "user", "content": self._text(rng.randint(1, 3))})
        for _ in range(n_turns):
            message_id = f"msg_{rng.getrandbits(96):024x}"
            usage = {
                "input_tokens": rng.randint(1, 50),
                "cache_creation_input_tokens": rng.randint(0, 5000),
                "cache_read_input_tokens": rng.randint(0, 90_000),
                "output_tokens": rng.randint(5, 900),
                "service_tier": "standard",
            }
            request_id = f"req_{rng.getrandbits(96):024x}"
            blocks = [
                {
                    "type": "thinking",
                    "thinking": self._text(),
                    "signature": "Es" + "".join(rng.choices("ABCDEFGHabcdefgh0123456789+/", k=300)),
                }
            ]
            blocks.append({"type": "text", "text": self._text(rng.randint(1, 2))})
            tool_id = f"toolu_{rng.getrandbits(96):024x}"
            tool = rng.choice(["Bash", "Read", "Edit", "Grep"])
            tool_input = (
                {"command": f"pytest -q {rng.choice(self.files)}"}
                if tool == "Bash"
                else {"file_path": rng.choice(self.files)}
            )
            blocks.append({"type": "tool_use", "id": tool_id, "name": tool, "input": tool_input})
            for block in blocks:
                add(
                    "assistant",
                    requestId=request_id,
                    message={
                        "model": "claude-opus-4-6",
                        "id": message_id,
                        "type": "message",
                        "role": "assistant",
                        "content": [block],
                        "stop_reason": None,
                        "usage": usage,
                    },
                )
            if rng.random() < 0.3:
                add(
                    "progress",
                    data={
                        "type": "hook_progress",
                        "hookEvent": "PreToolUse",
                        "hookName": f"PreToolUse:{tool}",
                        "command": "guard.sh",
                    },
                    toolUseID=tool_id,
                    parentToolUseID=tool_id,
                )
            output = self._text(rng.randint(1, 6))
            failed = rng.random() < 0.08
            if failed:
                result: object = f"Error: Exit code 1\n{output[:200]}"
            elif tool == "Bash":
                result = {"stdout": output, "stderr": "", "interrupted": False, "isImage": False}
            else:
                result = {
                    "type": "text",
                    "file": {
                        "filePath": tool_input.get("file_path", ""),
                        "content": output,
                        "numLines": output.count("\n") + 1,
                    },
                }
            add(
                "user",
                message={
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": tool_id, "content": output, "is_error": failed}
                    ],
                },
                toolUseResult=result,
            )
            if rng.random() < 0.2:
                add("user", message={"role": "user", "content": self._text()})
        if agent_id is None and rng.random() < 0.3:
            lines.append({"type": "summary", "summary": self._text()[:80], "leafUuid": parent})
        return lines


def generate_corpus(target: Path, gb: float, seed: int = 7) -> None:
    """Write sessions until the corpus holds `gb` gigabytes; skipped if a corpus of that size exists."""
    marker = target / ".complete"
    if marker.exists() and json.loads(marker.read_text()).get("gb") == gb:
        return
    shutil.rmtree(target, ignore_errors=True)
    writer = TranscriptWriter(seed)
    rng = random.Random(seed + 1)
    limit, written, n_files = int(gb * 1e9), 0, 0
    while written < limit:
        session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        start = CORPUS_START + timedelta(seconds=rng.randint(0, CORPUS_DAYS * 86_400 - 1))
        project = target / f"-home-dev-project-{rng.randint(0, 40)}"
        files = {project / f"{session_id}.jsonl": writer.session(session_id, start, None, rng.randint(5, 60))}
        if rng.random() < 0.25:
            agent = f"a{rng.getrandbits(28):07x}"
            files[project / session_id / "subagents" / f"agent-{agent}.jsonl"] = writer.session(
                session_id, start + timedelta(minutes=1), agent, rng.randint(3, 20)
            )
        for path, lines in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            payload = b"\n".join(orjson.dumps(line) for line in lines) + b"\n"
            path.write_bytes(payload)
            written += len(payload)
            n_files += 1
    marker.write_text(json.dumps({"gb": gb, "bytes": written, "files": n_files}))


# --- the two measured phases (each in its own process) ----------------------------------------------------


def _corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*.jsonl"))


def _peak_rss_mb() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": round(own, 1), "peak_child_rss_mb": round(children, 1)}


def run_duckdb_copy(corpus: Path, out: Path) -> dict:
    import duckdb

    from pipeline.lake import sql_string

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    files = _corpus_files(corpus)
    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count() or 1}")
    rows = 0
    started = time.perf_counter()
    for index in range(0, len(files), DUCKDB_CHUNK_FILES):
        chunk = "[" + ", ".join(sql_string(p) for p in files[index : index + DUCKDB_CHUNK_FILES]) + "]"
        target = out / f"chunk-{index // DUCKDB_CHUNK_FILES:05d}.parquet"
        result = con.execute(
            f"COPY (SELECT * FROM read_json({chunk}, format = 'newline_delimited', ignore_errors = true)) "
            f"TO {sql_string(target)} (FORMAT parquet, COMPRESSION zstd)"
        ).fetchone()
        rows += int(result[0]) if result else 0
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": rows, **_peak_rss_mb()}


def run_reverie(corpus: Path, home_dir: Path, workers: int) -> dict:
    from pipeline.home import ReverieHome
    from pipeline.ingest import engine

    shutil.rmtree(home_dir, ignore_errors=True)
    home = ReverieHome.at(home_dir).ensure()
    started = time.perf_counter()
    report = engine.stage_files(home, [corpus], workers=workers, ingest_date=date(2026, 2, 1))
    staged = time.perf_counter()
    counts = engine.build_partitions(home, report.session_dates, report.reject_dates, workers=workers)
    events, sessions = sum(counts.events.values()), sum(counts.sessions.values())
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "stage_seconds": staged - started,
        "partition_seconds": seconds - (staged - started),
        "staged_events": report.events,
        "events": events,
        "sessions": sessions,
        "rejects": report.rejects,
        "redactions": report.redactions,
        **_peak_rss_mb(),
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _phase_in_subprocess(args: list[str]) -> dict:
    """One side's result, plus `cpu_seconds`: user + system time of its process and all of its workers."""
    before = _children_cpu()
    output = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return {**json.loads(output.strip().splitlines()[-1]), "cpu_seconds": _children_cpu() - before}


def _load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


TARGET_RATIOS = {0.1: 0.5, 1.0: 1.0}
"""Issue 17's targets: Reverie's time over DuckDB's copy at 0.1 GB and at 1 GB (ratio = duckdb / reverie)."""
PEAK_RSS_TARGET_MB = 2048


def _target_note(gb: float, ratio: float) -> str:
    target = TARGET_RATIOS.get(gb)
    if target is None:
        return "(no target at this size)"
    return f"(target >= {target:.1f}: {'met' if ratio >= target else 'NOT met'})"


def measure(gb: float, workers: int, repeats: int) -> None:
    """Both sides on the `gb` corpus, `repeats` interleaved runs each; prints the result lines."""
    corpus = DATA / f"claude-code-{gb:g}gb"
    started = time.perf_counter()
    generate_corpus(corpus, gb)
    info = json.loads((corpus / ".complete").read_text())
    print(
        f"corpus: {info['bytes'] / 1e6:,.0f} MB in {info['files']:,} files (generated in {time.perf_counter() - started:.0f} s)"
    )
    baselines: list[dict] = []
    runs: list[dict] = []
    loads = [_load()]
    for repeat in range(repeats):
        order = ("duckdb", "reverie") if repeat % 2 == 0 else ("reverie", "duckdb")
        for side in order:
            extra = ["--workers", str(workers)] if side == "reverie" else []
            result = _phase_in_subprocess(["--gb", str(gb), "--phase", side, *extra])
            (baselines if side == "duckdb" else runs).append(result)
            loads.append(_load())
        print(
            f"repeat {repeat + 1}: duckdb {baselines[-1]['seconds']:.1f} s, reverie {runs[-1]['seconds']:.1f} s "
            f"(stage {runs[-1]['stage_seconds']:.1f} s + partitions {runs[-1]['partition_seconds']:.1f} s), "
            f"ratio {baselines[-1]['seconds'] / runs[-1]['seconds']:.2f}; CPU duckdb {baselines[-1]['cpu_seconds']:.1f} s, "
            f"reverie {runs[-1]['cpu_seconds']:.1f} s; load average {loads[-1]}",
            flush=True,
        )
    baseline_seconds = statistics.median(b["seconds"] for b in baselines)
    ours_seconds = statistics.median(r["seconds"] for r in runs)
    baseline, ours = baselines[-1], runs[-1]
    megabytes = info["bytes"] / 1e6
    peak_total = max(r["peak_rss_mb"] for r in runs) + workers * max(r["peak_child_rss_mb"] for r in runs)
    stage_share = statistics.median(r["stage_seconds"] / r["seconds"] for r in runs)
    ratio = baseline_seconds / ours_seconds
    baseline_cpu = statistics.median(b["cpu_seconds"] for b in baselines)
    ours_cpu = statistics.median(r["cpu_seconds"] for r in runs)
    memory_note = "met" if peak_total < PEAK_RSS_TARGET_MB else "NOT met"
    lines = [
        f"machine: nproc={os.cpu_count()}, processor={platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}; load average (1/5/15 min) before and after each run: {', '.join(loads)}",
        f"corpus: {megabytes:,.0f} MB, {info['files']:,} Claude Code files; {repeats} interleaved repeat(s), medians",
        f"duckdb read_json -> parquet copy: {baseline['rows']:,} lines, median {baseline_seconds:.1f} s, "
        f"{megabytes / baseline_seconds:.1f} MB/s, peak RSS {max(b['peak_rss_mb'] for b in baselines):,.0f} MB",
        f"reverie ingest (stage {stage_share:.0%}, partitions {1 - stage_share:.0%} of its time): "
        f"{ours['events']:,} events in {ours['sessions']:,} sessions, median {ours_seconds:.1f} s, "
        f"{ours['events'] / ours_seconds:,.0f} events/s, {megabytes / ours_seconds:.1f} MB/s, "
        f"{ours['redactions']:,} redactions, {ours['rejects']:,} rejects",
        f"reverie peak RSS: parent {max(r['peak_rss_mb'] for r in runs):,.0f} MB, largest worker "
        f"{max(r['peak_child_rss_mb'] for r in runs):,.0f} MB (all {workers} workers + parent <= {peak_total:,.0f} MB; "
        f"target < {PEAK_RSS_TARGET_MB:,} MB: {memory_note})",
        f"CPU seconds (user + system, whole process with workers, medians; includes interpreter start): "
        f"duckdb {baseline_cpu:.1f}, reverie {ours_cpu:.1f}, ratio {baseline_cpu / ours_cpu:.2f} (no target: "
        "read it when the load average is high, as it does not depend on what else shares the cores)",
        f"ratio at {gb:g} GB (duckdb copy time / reverie time, medians): {ratio:.2f} {_target_note(gb, ratio)}",
    ]
    print("\n".join(lines), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gb", type=float, nargs="+", default=[1.0], help="corpus size(s) in gigabytes (default 1.0)"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=1, help="interleaved runs of each side (medians)")
    parser.add_argument("--phase", choices=["duckdb", "reverie"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase is not None:
        corpus = DATA / f"claude-code-{args.gb[0]:g}gb"
        if args.phase == "duckdb":
            print(json.dumps(run_duckdb_copy(corpus, DATA / "duckdb-copy")))
        else:
            print(json.dumps(run_reverie(corpus, DATA / "reverie-home", args.workers)))
        return
    for gb in args.gb:
        measure(gb, args.workers, args.repeats)


if __name__ == "__main__":
    main()
