"""benchmarks/coding_loop.py runs its nights through the loop API (the real Dagster jobs, the real gate) and ends
without a traceback, on good arguments and bad ones."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "coding_loop.py"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--home", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_two_small_nights_go_through_the_gate_and_report(tmp_path):
    done = _run(tmp_path, "--start", "2026-11-01", "--nights", "2", "--per-night", "30", "--heldout", "20",
                "--report-tasks", "12")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    nights = re.findall(r"^night (\d): .* -> (promoted|kept|awaiting_approval|no_change) ", done.stdout, re.M)
    assert [n for n, _ in nights] == ["1", "2"]
    assert re.search(r"^outcome criteria agree with the world on (\d+)/60 ", done.stdout, re.M)
    assert "entries from injected text: 0" in done.stdout
    assert "final report suite (12 held-out tasks" in done.stdout
    # the history's own REVERIE_HOME holds the loop's runs: landing logs, lake and the coding playbooks
    home = tmp_path / "2026-11-01"
    assert (home / "landing" / "2026-11-01").is_dir() and (home / "landing" / "2026-11-02").is_dir()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--heldout", "5"], "--heldout must be at least 10"), (["--per-night", "0"], "--per-night must be")],
)
def test_bad_arguments_end_in_one_line(tmp_path, args, message):
    done = _run(tmp_path, *args)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}")
    assert not any(tmp_path.iterdir())  # nothing flown
