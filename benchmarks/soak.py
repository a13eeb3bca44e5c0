"""Soak: ingest + score + dream, day after day, on an object-store lake (moto's S3 server on 127.0.0.1).

    .venv/bin/python benchmarks/soak.py                          # 30 days x 200 sessions/day
    .venv/bin/python benchmarks/soak.py --days 4 --sessions 100  # quick (make bench)

The target is 100,000 sessions a day for 30 days. This machine (2 shared cores) cannot hold that pace, so a
day is scaled down to `--sessions` Claude Code transcripts (3-12 turns, a quarter with a subagent file: the
generator of benchmarks/ingest.py) and the figures are reported per session and per event, which is what
scales: a 100k-session day costs about (100,000 / sessions) times one of these days on the same hardware
when the per-session rate stays flat over the 30 days, which is what this benchmark watches.

Each day runs in a fresh process (so its peak RSS is its own): write the day's logs to landing, stage them,
build that day's partitions on the S3 lake, score them (coding criteria, no LLM), dream over the 7-day window
ending that day. Then the day is reconciled through DuckDB SQL on the remote lake: sessions in the lake =
sessions generated, each exactly once; every session scored; events = what the partition build reported;
the lake's running total = the sum of the days. Any mismatch fails the run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
START = date(2026, 5, 1)
BUCKET = "reverie-soak"
KEYS = {"AWS_ACCESS_KEY_ID": "soak", "AWS_SECRET_ACCESS_KEY": "soak", "AWS_REGION": "us-east-1"}


def write_day(landing: Path, day: date, n_sessions: int, seed: int) -> int:
    """The day's transcripts, Claude Code-shaped; returns the number of sessions written."""
    sys.path.insert(0, str(HERE))
    from ingest import TranscriptWriter  # benchmarks/ingest.py's deterministic generator

    writer, rng = TranscriptWriter(seed), random.Random(seed + 1)
    folder = landing / day.isoformat()
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    for _ in range(n_sessions):
        session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        start = midnight + timedelta(seconds=rng.randint(0, 86_400 - 3_600))  # a session stays in its day
        project = folder / f"-home-dev-project-{rng.randint(0, 20)}"
        files = {project / f"{session_id}.jsonl": writer.session(session_id, start, None, rng.randint(3, 12))}
        if rng.random() < 0.25:
            agent = f"a{rng.getrandbits(28):07x}"
            files[project / session_id / "subagents" / f"agent-{agent}.jsonl"] = writer.session(
                session_id, start + timedelta(minutes=1), agent, rng.randint(2, 6)
            )
        for path, lines in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    return n_sessions


def run_day(home_dir: str, lake_url: str, day: date, n_sessions: int, seed: int) -> dict:
    """One simulated day, in this (fresh) process; returns its timings, counts and peak RSS."""
    from pipeline import lake
    from pipeline.dreaming import dream
    from pipeline.home import ReverieHome
    from pipeline.ingest import engine
    from pipeline.outcomes import load_criteria, score_partition

    home = ReverieHome.at(home_dir, lake=lake_url).ensure()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    generated = write_day(home.landing, day, n_sessions, seed)
    timings["generate_s"] = time.perf_counter() - started

    started = time.perf_counter()
    report = engine.stage_files(home, [home.landing / day.isoformat()], workers=1, ingest_date=day)
    counts = engine.build_partitions(home, report.session_dates, report.reject_dates, workers=1)
    timings["ingest_s"] = time.perf_counter() - started

    started = time.perf_counter()
    suite = load_criteria(home_root=home.root)
    scored = score_partition(home, day, suite, grader=None)
    timings["score_s"] = time.perf_counter() - started

    started = time.perf_counter()
    dreamed = dream(home, day, window_days=7)
    timings["dream_s"] = time.perf_counter() - started

    con = lake.connect(home)
    in_lake = con.execute(
        "SELECT count(*), count(DISTINCT session_id) FROM sessions WHERE date = ?", [day]
    ).fetchone()
    events = con.execute("SELECT count(*) FROM events WHERE date = ?", [day]).fetchone()[0]
    scored_sessions = con.execute(
        "SELECT count(DISTINCT session_id) FROM outcomes WHERE date = ?", [day]
    ).fetchone()[0]
    total = con.execute("SELECT count(*) FROM sessions").fetchone()[0]
    return {
        "day": day.isoformat(),
        "generated": generated,
        "sessions_rows": in_lake[0],
        "sessions_distinct": in_lake[1],
        "events_built": counts.events.get(day, 0),
        "events_in_lake": events,
        "scored_sessions": scored_sessions,
        "scored_report": scored.n_scored_sessions,
        "lake_total_sessions": total,
        "rejects": report.rejects,
        "playbook_entries": len(dreamed.playbook.entries),
        "sessions_reviewed": dreamed.playbook.n_sessions_reviewed,
        **{k: round(v, 2) for k, v in timings.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def reconcile(result: dict, expected_total: int) -> list[str]:
    problems = []
    if not result["generated"] == result["sessions_rows"] == result["sessions_distinct"]:
        problems.append(
            f"sessions: generated {result['generated']}, lake {result['sessions_rows']} rows / "
            f"{result['sessions_distinct']} distinct"
        )
    if result["events_built"] != result["events_in_lake"]:
        problems.append(f"events: built {result['events_built']}, lake {result['events_in_lake']}")
    if result["scored_sessions"] != result["sessions_distinct"]:
        problems.append(
            f"outcomes cover {result['scored_sessions']} of {result['sessions_distinct']} sessions"
        )
    if result["lake_total_sessions"] != expected_total:
        problems.append(f"lake total {result['lake_total_sessions']} != sum of days {expected_total}")
    return problems


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_s3(log: Path) -> tuple[subprocess.Popen, str]:
    """moto's S3 server on 127.0.0.1 with an empty bucket; returns the process and its endpoint."""
    import boto3

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise SystemExit(f"moto server did not start: {log.read_text()[-300:]}") from None
            time.sleep(0.1)
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=KEYS["AWS_REGION"],
        aws_access_key_id=KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=KEYS["AWS_SECRET_ACCESS_KEY"],
    ).create_bucket(Bucket=BUCKET)
    return process, endpoint


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--sessions", type=int, default=200, help="sessions per simulated day")
    parser.add_argument(
        "--one-day", nargs=5, metavar=("HOME", "LAKE", "DAY", "SESSIONS", "SEED"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.one_day:
        home_dir, lake_url, day, sessions, seed = args.one_day
        print(json.dumps(run_day(home_dir, lake_url, date.fromisoformat(day), int(sessions), int(seed))))
        return 0

    work = Path(tempfile.mkdtemp(prefix="reverie-soak-"))
    server, endpoint = start_s3(work / "moto.log")
    env = {**os.environ, **KEYS, "AWS_ENDPOINT_URL": endpoint}
    lake_url = f"s3://{BUCKET}/lake"
    print(
        f"soak: {args.days} days x {args.sessions} sessions/day (target 100,000/day: scaled down "
        f"{100_000 / args.sessions:.0f}x), lake {lake_url} on moto at {endpoint}, load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'day':<11} {'sessions':>8} {'events':>8} {'ingest s':>8} {'score s':>7} {'dream s':>7} "
        f"{'sess/s':>7} {'peak MB':>7}  reconciled"
    )
    failures, total, rates = 0, 0, []
    try:
        for index in range(args.days):
            day = START + timedelta(days=index)
            command = [
                sys.executable,
                __file__,
                "--one-day",
                str(work / "home"),
                lake_url,
                day.isoformat(),
                str(args.sessions),
                str(1000 + index),
            ]
            output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
            result = json.loads(output.strip().splitlines()[-1])
            total += result["generated"]
            problems = reconcile(result, total)
            failures += bool(problems)
            busy = result["ingest_s"] + result["score_s"] + result["dream_s"]
            rates.append(result["generated"] / busy)
            print(
                f"{result['day']:<11} {result['sessions_rows']:>8} {result['events_in_lake']:>8} "
                f"{result['ingest_s']:>8.1f} {result['score_s']:>7.1f} {result['dream_s']:>7.1f} "
                f"{rates[-1]:>7.1f} {result['peak_rss_mb']:>7.0f}  {'; '.join(problems) or 'yes'}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
    half = max(1, len(rates) // 2)
    first, last = sum(rates[:half]) / half, sum(rates[-half:]) / half
    print(
        f"sessions/s (ingest+score+dream): first half {first:.1f}, last half {last:.1f} "
        f"(ratio {last / first:.2f}); {total} sessions; {failures} days failed reconciliation"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
