"""Outcome scoring throughput: our vectorized engine vs Great Expectations 1.x, same suite, same data, same run.

Synthetic session metrics (nulls and NaN included) are judged by 10 expectation criteria. Our engine
(`evaluate_expectations`) scores all `--sessions`; GE validates the same suite on the first `--gx-sessions`
rows of the same frame with result_format COMPLETE and unexpected_index_column_names (what per-session
verdicts need). Throughput is compared per session; the verdicts on the rows both engines scored must be
identical, and the script fails otherwise.

    .venv/bin/python benchmarks/outcomes.py --sessions 1000000 --gx-sessions 100000
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import polars as pl

from pipeline.outcomes.gx_bridge import validate_with_gx
from pipeline.outcomes.scoring import evaluate_expectations, score_frame
from pipeline.outcomes.spec import CriteriaGroup, CriteriaSuite, Criterion


def synthetic_sessions(n: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)

    def with_nulls(values: np.ndarray, share: float = 0.05) -> list:
        mask = rng.random(n) < share
        return [None if m else v for m, v in zip(mask, values.tolist(), strict=True)]

    statuses = np.array(["landed", "crashed", "aborted", "timeout", "landed_off_pad", "error"])
    speeds = rng.exponential(0.3, n)
    speeds[rng.random(n) < 0.01] = np.nan
    return pl.DataFrame(
        {
            "session_id": [f"s{i:08d}" for i in range(n)],
            "task": ["bench"] * n,
            "touchdown_speed": speeds,
            "reward": with_nulls(rng.normal(180, 80, n)),
            "n_tool_calls": rng.integers(0, 60, n),
            "unrecovered_tool_errors": with_nulls(rng.poisson(0.3, n)),
            "final_status": with_nulls(statuses[rng.integers(0, len(statuses), n)]),
            "landed": with_nulls(rng.random(n) < 0.6),
            "model": with_nulls(
                np.array(["claude-sonnet-4-5", "claude-opus-4-1", "gpt-5", "local"])[rng.integers(0, 4, n)]
            ),
        },
        schema_overrides={"reward": pl.Float64, "unrecovered_tool_errors": pl.Int64, "landed": pl.Boolean},
    ).with_columns(pl.col("touchdown_speed").fill_nan(None))


def _c(name: str, expectation: str, **kwargs: object) -> Criterion:
    return Criterion(name=name, group="bench", expectation_type=expectation, expectation_kwargs=kwargs)


SUITE = [
    _c("soft_touchdown", "expect_column_values_to_be_between", column="touchdown_speed", max_value=0.5),
    _c("solved", "expect_column_values_to_be_between", column="reward", min_value=200, mostly=0.5),
    _c(
        "few_tool_calls",
        "expect_column_values_to_be_between",
        column="n_tool_calls",
        min_value=0,
        max_value=40,
        strict_max=True,
    ),
    _c(
        "no_unrecovered_tool_error",
        "expect_column_values_to_be_between",
        column="unrecovered_tool_errors",
        max_value=0,
    ),
    _c("ended_well", "expect_column_values_to_be_in_set", column="final_status", value_set=["landed"]),
    _c(
        "not_ended_in_error",
        "expect_column_values_to_not_be_in_set",
        column="final_status",
        value_set=["error", "timeout", "aborted"],
    ),
    _c("landed", "expect_column_values_to_be_in_set", column="landed", value_set=[True]),
    _c("reward_reported", "expect_column_values_to_not_be_null", column="reward"),
    _c("claude_model", "expect_column_values_to_match_regex", column="model", regex="^claude-"),
    _c("model_name_short", "expect_column_value_lengths_to_be_between", column="model", max_value=16),
]


def _best_of(repeats: int, run) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--gx-sessions", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    frame = synthetic_sessions(args.sessions)
    suite = CriteriaSuite(metrics={}, groups=(CriteriaGroup("bench", ("*",), tuple(SUITE)),))
    ours_s, ours = _best_of(args.repeats, lambda: evaluate_expectations(frame, SUITE))
    rows_s, _ = _best_of(args.repeats, lambda: score_frame(frame, suite, "2025-01-01"))

    sample = frame.head(args.gx_sessions)
    validate_with_gx(sample.head(1_000), SUITE)  # warm-up: GE's import and metric registry
    gx_s, gx = _best_of(1, lambda: validate_with_gx(sample, SUITE))

    ours_sample = ours.head(args.gx_sessions)  # type: ignore[union-attr]
    for criterion in SUITE:
        differing = (ours_sample[criterion.name] != gx.verdicts[criterion.name]).sum()  # type: ignore[union-attr]
        if differing:
            raise SystemExit(f"verdicts differ from GE on {differing} sessions for {criterion.name}")
    compared = args.gx_sessions * len(SUITE)

    ours_rate = args.sessions / ours_s
    rows_rate = args.sessions / rows_s
    gx_rate = args.gx_sessions / gx_s
    print(f"sessions: {args.sessions:,} x {len(SUITE)} criteria; GE on the first {args.gx_sessions:,}")
    print(f"verdicts identical to GE on {compared:,} session x criterion pairs")
    print(f"engine verdicts: {ours_s:.3f} s ({ours_rate:,.0f} sessions/s, best of {args.repeats})")
    print(f"engine outcome rows incl. scores: {rows_s:.3f} s ({rows_rate:,.0f} sessions/s)")
    print(f"great expectations: {gx_s:.2f} s for {args.gx_sessions:,} ({gx_rate:,.0f} sessions/s)")
    print(
        f"throughput vs GE: verdicts {ours_rate / gx_rate:,.0f}x, full outcome rows {rows_rate / gx_rate:,.0f}x "
        "(target >= 100x)"
    )
    print(
        f"machine: nproc={os.cpu_count()}, processor={platform.processor() or 'unknown'}, "
        f"python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
