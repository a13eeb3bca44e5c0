"""Submit runs of one job, one partition after another, as a daemon's run worker would: `execute_job` on a
reconstructable job, so the executor chosen by REVERIE_EXECUTOR (Celery here) runs the steps elsewhere.

Run as a process per lane (`python -m tests.distributed.submit_runs JOB CONFIG_JSON [PARTITION ...]`): Dagster's
`execute_job` hung when called from threads of one process, and a run coordinator is one process in real
deployments too. Exits 1 with the failed steps' messages when a run fails.
"""

from __future__ import annotations

import json
import sys

import dagster as dg

from assets.executors import reconstructable_job


def submit(job: str, run_config: dict, partitions: list[str | None]) -> list[str]:
    failures = []
    with dg.DagsterInstance.get() as instance:
        for partition in partitions:
            tags = {"dagster/partition": partition} if partition else {}
            result = dg.execute_job(
                reconstructable_job(job),
                instance=instance,
                run_config=run_config,
                tags=tags,
                raise_on_error=False,
            )
            if not result.success:
                errors = "; ".join(str(e.message) for e in result.all_events if e.is_failure)
                failures.append(f"{job} {partition}: {errors}")
    return failures


def main(argv: list[str]) -> int:
    job, config, *partitions = argv
    failures = submit(job, json.loads(config), list(partitions) or [None])
    print("\n".join(failures) or f"{job}: {len(partitions) or 1} runs succeeded")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
