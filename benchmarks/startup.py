"""Process start and orchestration cost: every figure a ratio to a baseline measured in the same run.

1. Code location import: `import assets.definitions` / `import dagster` alone (fresh interpreters).
2. `reverie sql --name failing_tools` / a plain script: `duckdb.connect(reverie.duckdb).sql(<same SQL>)`,
   in wall time and in CPU time (user + system of each process, steadier when other work shares the cores).
3. `reverie fly --missions N` through Dagster (one run of `fly_job`: the batch, staging, the day's lake
   partitions and scoring, in the CLI's process) / the same plain functions called directly in one process
   (fly_batch on the same workers, stage, partitions, the GX validations the checks run, scoring). Each is a
   whole process, start to exit, as a user waits for it.
4. With --demo: `reverie demo` wall time (with --demo-cache-off, also with REVERIE_ARM_CACHE=0).

With --before-tree DIR (an export of an earlier commit, e.g. `git archive <rev> | tar -x -C DIR`), each
figure is also measured on that tree with no bytecode (PYTHONPYCACHEPREFIX pointed at an empty folder,
as before `make install` compiled it), interleaved with the current tree, so before/after share one run.

    .venv/bin/python benchmarks/startup.py --repeats 5
    .venv/bin/python benchmarks/startup.py --repeats 3 --before-tree /tmp/base --demo
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
PLAIN_SQL = (
    "import sys, duckdb; con = duckdb.connect(sys.argv[1], read_only=True); "
    "rows = con.sql(open(sys.argv[2]).read()).fetchall(); print(len(rows), 'rows')"
)
DIRECT_FLY = """
import sys
from datetime import date
from pathlib import Path
from pipeline import lake
from pipeline.home import ReverieHome, activate
from pipeline.ingest import engine
from pipeline.missions.lunar.batch import fly_batch
from pipeline.outcomes import load_criteria, score_partition
from pipeline.playbooks.store import PlaybookStore
from pipeline.quality import EVENTS_EXPECTATIONS, SESSIONS_EXPECTATIONS, validate_frame

home = activate(ReverieHome.at(Path(sys.argv[1])))
day, missions = date.fromisoformat(sys.argv[2]), int(sys.argv[3])
fly_batch(home, day, missions, playbook=PlaybookStore(home).in_force(day), workers=2)
report = engine.stage_files(home, [home.landing / day.isoformat()])
for reject_day in sorted(report.reject_dates):
    engine.build_rejects_partition(home, reject_day)
lake.refresh_catalog(home)
engine.build_events_partition(home, day)
events = lake.read_table(home, "events", [day]).select("session_id", "event_id", "ts", "type")
validate_frame(events, EVENTS_EXPECTATIONS, name="session_events")
engine.build_sessions_partition(home, day)
sessions = lake.read_table(home, "sessions", [day])
validate_frame(sessions.select("session_id", "started_at", "duration_s", "n_events"), SESSIONS_EXPECTATIONS,
               name="sessions")
score_partition(home, day, load_criteria())
lake.refresh_catalog(home)
"""


class Tree:
    """A source tree to run commands from; `bytecode=False` hides every .pyc from the interpreter."""

    def __init__(self, name: str, root: Path, bytecode: bool, scratch: Path) -> None:
        self.name, self.root = name, root
        self.env = {
            **os.environ,
            "GX_ANALYTICS_ENABLED": "false",
            "DAGSTER_DISABLE_TELEMETRY": "1",
            "PYTHONPATH": str(root),
            "REVERIE_LOG_LEVEL": "CRITICAL",
        }
        if not bytecode:  # an empty cache prefix: nothing compiled is found, and nothing gets written there
            empty = scratch / f"no-bytecode-{name}"
            empty.mkdir(exist_ok=True)
            self.env.update(PYTHONPYCACHEPREFIX=str(empty), PYTHONDONTWRITEBYTECODE="1")

    def seconds(self, *args: str, env: dict[str, str] | None = None) -> float:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, *args],
            cwd=self.root,
            env={**self.env, **(env or {})},
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - started

    def reverie(self, *args: str, env: dict[str, str] | None = None) -> float:
        """The installed `reverie` script, as a user runs it (spawned workers re-import it as their main)."""
        started = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).with_name("reverie")), *args],
            cwd=self.root,
            env={**self.env, **(env or {})},
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - started


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _times(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def imports(trees: list[Tree], repeats: int) -> dict[str, tuple[float, float]]:
    found: dict[str, tuple[list[float], list[float]]] = {t.name: ([], []) for t in trees}
    for _ in range(repeats):
        for tree in trees:
            found[tree.name][0].append(tree.seconds("-c", "import dagster"))
            found[tree.name][1].append(tree.seconds("-c", "import assets.definitions"))
    result = {}
    for name, (dagster, definitions) in found.items():
        print(
            f"[{name}] import dagster: {_times(dagster)} s; import assets.definitions: {_times(definitions)} s"
        )
        result[name] = (_median(dagster), _median(definitions))
        print(f"[{name}] code location / dagster alone (medians): {result[name][1] / result[name][0]:.2f}x")
    return result


def _cpu_seconds_of(run: Callable[[], float]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one child process: CPU time moves less when other work shares
    the cores, so on a busy machine it tells a change from the noise."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def sql(trees: list[Tree], repeats: int, scratch: Path) -> None:
    home = scratch / "sql-home"
    trees[-1].reverie("--home", str(home), "ingest", str(FIXTURES / "claude-code"), str(FIXTURES / "codex"))
    query = REPO / "sql" / "queries" / "failing_tools.sql"
    times: dict[str, list[tuple[float, float]]] = {t.name: [] for t in trees}
    plain: list[tuple[float, float]] = []
    for _ in range(repeats):
        plain_run = partial(trees[-1].seconds, "-c", PLAIN_SQL, str(home / "reverie.duckdb"), str(query))
        plain.append(_cpu_seconds_of(plain_run))
        for tree in trees:
            reverie_run = partial(tree.reverie, "--home", str(home), "sql", "--name", "failing_tools")
            times[tree.name].append(_cpu_seconds_of(reverie_run))
    plain_wall, plain_cpu = [w for w, _ in plain], [c for _, c in plain]
    print(f"plain duckdb script: {_times(plain_wall)} s (CPU {_times(plain_cpu)} s)")
    for name, pairs in times.items():
        wall, cpu = [w for w, _ in pairs], [c for _, c in pairs]
        print(
            f"[{name}] reverie sql --name failing_tools: {_times(wall)} s; "
            f"ratio to the plain script (medians): {_median(wall) / _median(plain_wall):.2f}x (target <= 1.5x)"
        )
        print(
            f"[{name}] CPU seconds: {_times(cpu)}; CPU ratio to the plain script (medians): "
            f"{_median(cpu) / _median(plain_cpu):.2f}x"
        )


DIRECT_FLY_NO_TEARDOWN = DIRECT_FLY + "import os\nsys.stdout.flush()\nos._exit(0)\n"
"""The direct script ending as `reverie fly` does (cli.loop_commands._end_process): no interpreter teardown."""


def fly(trees: list[Tree], repeats: int, missions: int, scratch: Path) -> None:
    """Also the direct script with no teardown, since `reverie fly` skips it: the ratio to that one is
    Dagster's own cost (imports, run record, events, steps) with the exit taken out of both sides."""
    for tree in trees:
        homes = [scratch / f"fly-{kind}-{tree.name}" for kind in ("dagster", "direct", "direct-no-teardown")]
        samples: list[list[tuple[float, float]]] = [[], [], []]
        for index in range(repeats + 1):  # the first round warms the instance and the page cache: not counted
            day = f"2026-10-{index + 1:02d}"
            runs = [
                partial(
                    tree.reverie, "--home", str(homes[0]), "fly", "--date", day, "--missions", str(missions)
                ),
                partial(tree.seconds, "-c", DIRECT_FLY, str(homes[1]), day, str(missions)),
                partial(tree.seconds, "-c", DIRECT_FLY_NO_TEARDOWN, str(homes[2]), day, str(missions)),
            ]
            measured = [_cpu_seconds_of(run) for run in runs]
            if index:
                for found, sample in zip(samples, measured, strict=True):
                    found.append(sample)
        (dagster, direct, bare) = ([w for w, _ in found] for found in samples)
        (dagster_cpu, direct_cpu, _) = ([c for _, c in found] for found in samples)
        print(
            f"[{tree.name}] reverie fly --missions {missions}: {_times(dagster)} s; "
            f"direct functions: {_times(direct)} s; direct, no teardown: {_times(bare)} s"
        )
        print(
            f"[{tree.name}] through Dagster / direct (medians): "
            f"{_median(dagster) / _median(direct):.2f}x (target <= 1.3x); "
            f"/ direct with no teardown: {_median(dagster) / _median(bare):.2f}x"
        )
        print(
            f"[{tree.name}] CPU seconds (with the mission workers): {_times(dagster_cpu)} through Dagster, "
            f"{_times(direct_cpu)} direct; CPU ratio (medians): {_median(dagster_cpu) / _median(direct_cpu):.2f}x"
        )


def demo(trees: list[Tree], nights: int, cache_off: bool, scratch: Path) -> None:
    """Each tree's demo in a fresh home, in turn; optionally the current tree again with the arm cache off."""
    runs = [(t, {}) for t in trees] + ([(trees[-1], {"REVERIE_ARM_CACHE": "0"})] if cache_off else [])
    for tree, env in runs:
        home = scratch / f"demo-{tree.name}-{len(env)}"
        seconds = tree.reverie(
            "--home", str(home), "demo", "--nights", str(nights), "--start", "2026-09-01", env=env
        )
        label = f"[{tree.name}{', REVERIE_ARM_CACHE=0' if env else ''}]"
        print(f"{label} reverie demo --nights {nights}: {seconds:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--missions", type=int, default=200)
    parser.add_argument("--before-tree", type=Path, help="an earlier commit's files, run without bytecode")
    parser.add_argument("--demo", action="store_true", help="also time `reverie demo` (minutes)")
    parser.add_argument("--nights", type=int, default=4)
    parser.add_argument(
        "--demo-cache-off", action="store_true", help="also the demo with REVERIE_ARM_CACHE=0"
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["imports", "sql", "fly"])
    args = parser.parse_args()

    print(
        f"machine: nproc={os.cpu_count()}, processor={platform.processor() or 'unknown'}, "
        f"python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        trees = [Tree("now", REPO, bytecode=True, scratch=scratch)]
        if args.before_tree:
            trees.insert(0, Tree("before", args.before_tree.resolve(), bytecode=False, scratch=scratch))
        if "imports" not in args.skip:
            found = imports(trees, args.repeats)
            if args.before_tree:
                ratio = found["now"][1] / found["before"][1]
                print(f"code location import now / before: {ratio:.2f} (target < 0.33)", flush=True)
        if "sql" not in args.skip:
            sql(trees, args.repeats, scratch)
        if "fly" not in args.skip:
            fly(trees, max(1, args.repeats // 2), args.missions, scratch)
        if args.demo:
            demo(trees, args.nights, args.demo_cache_off, scratch)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
