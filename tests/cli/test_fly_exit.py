"""`reverie fly` ends its process without the interpreter's teardown (`cli.loop_commands._end_process`): what
it printed, its exit code and its run must all be there, as after a normal exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

REVERIE = Path(sys.executable).with_name("reverie")
DAY = "2026-11-20"


def test_the_reverie_script_ends_with_its_whole_output_and_a_finished_run(tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "REVERIE_LOG_LEVEL": "CRITICAL", "GX_ANALYTICS_ENABLED": "false"}
    done = subprocess.run(
        [str(REVERIE), "--home", str(home), "fly", "--date", DAY, "--missions", "2"],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""
    lines = done.stdout.rstrip().splitlines()
    assert lines[0].startswith(f"lunar missions {DAY}")
    assert any(line.startswith("│ logs") for line in lines)
    assert lines[-1].startswith("└")  # the table's last line: stdout was flushed before the process ended
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = instance.get_runs()
    assert [(r.job_name, r.status) for r in runs] == [("fly_job", dg.DagsterRunStatus.SUCCESS)]


def test_an_in_process_caller_carries_on_after_the_command(reverie_home):
    """A test's CliRunner is not the `reverie` script: the command returns to it."""
    from typer.testing import CliRunner

    from cli import app

    result = CliRunner().invoke(
        app, ["--home", str(reverie_home.root), "fly", "--date", DAY, "--missions", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "logs" in result.output
