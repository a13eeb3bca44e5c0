"""Dreaming cost against corpus size.

1. Statistical dream: wall time and peak RSS at 10k, 100k and 1M sessions (synthetic missions over a 7-day
   window, 6 events each), each size dreamed in a fresh process. Reported as ratios to the smallest size, so
   "time per session" staying flat means linear cost.
2. Claude dream: calls and tokens against session count, counted at the local Messages API stub.

Usage: python benchmarks/dream.py [--sizes 10000 100000 1000000] [--claude-sizes 200 2000 20000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

DAY = date(2026, 11, 7)
WINDOW = 7


def _generate_and_dream(n_sessions: int) -> dict:
    from pipeline.dreaming import dream
    from pipeline.home import ReverieHome
    from tests.support.synthetic import fly_missions

    home = ReverieHome.at(tempfile.mkdtemp(prefix="reverie-bench-")).ensure()
    per_day = n_sessions // WINDOW
    for offset in range(WINDOW):
        fly_missions(home, DAY - timedelta(days=offset), per_day, seed=offset)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = dream(home, DAY, window_days=WINDOW, write=False)
    seconds = time.perf_counter() - start
    return {
        "sessions": result.stats.sessions_reviewed,
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_dream_mb": rss_before / 1024,
        "patterns": result.stats.patterns_tested,
    }


def _claude_counts(n_sessions: int) -> dict:
    from pipeline.dreaming import dream
    from pipeline.home import ReverieHome
    from pipeline.llm.client import LLMSettings
    from tests.support.messages_stub import MessagesStub
    from tests.support.synthetic_coding import write_coding_corpus

    def responder(body: dict) -> dict:
        if body.get("tools"):
            return {
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "propose_operations",
                        "input": {"operations": []},
                    }
                ],
                "stop_reason": "tool_use",
            }
        return {"content": [{"type": "text", "text": "A short reflection."}], "stop_reason": "end_turn"}

    home = ReverieHome.at(tempfile.mkdtemp(prefix="reverie-bench-claude-")).ensure()
    write_coding_corpus(home, DAY, n_sessions)
    with MessagesStub(responder) as stub:
        dream(
            home,
            DAY,
            backend="claude",
            llm_settings=LLMSettings(api_key="bench", base_url=stub.url),
            write=False,
        )
        posts = [path for path, _ in stub.requests]
        return {
            "sessions": n_sessions,
            "requests": len(posts),
            "batch_requests": sum(
                len(body.get("requests", []))
                for path, body in stub.requests
                if path == "/v1/messages/batches"
            ),
            "input_tokens": stub.total_input_tokens,
            "output_tokens": stub.total_output_tokens,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--claude-sizes", type=int, nargs="*", default=[200, 2_000, 20_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_generate_and_dream(args.one)))
        return
    rows = []
    for size in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size)],
            check=True,
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    base = rows[0]
    print("statistical dream (ratios to the smallest size measured in this run):")
    for row in rows:
        size_ratio = row["sessions"] / base["sessions"]
        time_ratio = row["seconds"] / base["seconds"]
        print(
            f"  {row['sessions']:>9,} sessions: time x{time_ratio:.2f} for x{size_ratio:.0f} sessions "
            f"(per-session cost x{time_ratio / size_ratio:.2f}); peak RSS x{row['peak_rss_mb'] / base['peak_rss_mb']:.2f} "
            f"[{row['seconds']:.2f}s, {row['peak_rss_mb']:.0f} MB]"
        )
    print("claude dream (counted at the local Messages API stub):")
    for size in args.claude_sizes:
        c = _claude_counts(size)
        print(
            f"  {c['sessions']:>7,} sessions: {c['requests']} requests ({c['batch_requests']} batched reflections "
            f"+ 1 curate), {c['input_tokens']:,} input / {c['output_tokens']:,} output tokens"
        )


if __name__ == "__main__":
    main()
