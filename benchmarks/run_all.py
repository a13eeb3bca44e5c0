"""Run every benchmark at a size that finishes in minutes on 2 cores; each prints ratios measured in-run.

The full-size figures in benchmarks/README.md come from running each script with its defaults.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK = [
    ["redaction.py", "--copies", "5", "--repeats", "3"],
    ["ingest.py", "--gb", "0.1", "1.0", "--repeats", "3"],
    ["outcomes.py", "--sessions", "200000", "--gx-sessions", "20000", "--repeats", "3"],
    ["missions.py", "--missions", "60", "--repeats", "3"],
    ["dream.py", "--sizes", "10000", "100000", "--claude-sizes", "200", "2000"],
    ["startup.py", "--repeats", "3", "--missions", "100"],
    ["soak.py", "--days", "4", "--sessions", "100"],
]


def main() -> int:
    full = "--full" in sys.argv
    failures = 0
    for args in QUICK:
        command = [sys.executable, str(HERE / args[0]), *([] if full else args[1:])]
        print(f"\n$ {' '.join(command[1:])}", flush=True)
        failures += subprocess.call(command) != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
