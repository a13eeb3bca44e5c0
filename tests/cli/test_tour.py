"""The README's short tour, as a new user runs it, on an empty home and on an offline home with a little data:
every command ends with its output or one `error:` line and exit code 1, never a traceback.

Both homes have an apostrophe and a space in their path, as `/home/o'neil/My Drive/.reverie` would: paths
are spelled into DuckDB SQL, and such a home once broke every command.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DAY = "2026-11-20"
VERSION = f"pb-{DAY}"
runner = CliRunner()

pytestmark = pytest.mark.xdist_group("dagster-cli")


@pytest.fixture
def odd_home(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "o'neil's data" / ".reverie"
    monkeypatch.setenv("REVERIE_HOME", str(root))  # restored after the test: the CLI re-points it
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster"))
    monkeypatch.delenv("REVERIE_DEBUG", raising=False)
    return root


def tour(home: Path, tmp_path: Path) -> list[tuple[list[str], set[int]]]:
    """Each command of the tour with the exit codes that are right for it."""
    either = {0, 1}  # depends on what the home holds; either way it must end cleanly
    return [
        (["ingest", str(FIXTURES / "native")], either),
        (
            [
                "sql",
                "select source_format, count(*) as sessions, sum(n_events) as events from sessions group by 1",
            ],
            {0},
        ),
        (["sql", "--name", "failing_tools", "--format", "csv"], {0}),
        (["sql", "select * from sessions", "--format", "csv"], {0}),
        (["sql", "select * from no_such_table"], {1}),
        (["score"], either),
        (["outcomes", "show"], either),
        (["formats"], {0}),
        (["queries"], {0}),
        (["dream", "--date", DAY], either),
        (["evaluate", "--date", DAY, "--missions", "10"], either),
        (["playbook", "list"], either),
        (["playbook", "show"], either),
        (["playbook", "diff", VERSION, VERSION], either),
        (["playbook", "approve", VERSION], either),
        (["playbook", "reject", VERSION, "no-such-entry"], {1}),
        (["playbook", "rollback", VERSION], either),
        *[
            (["playbook", "export", "--as", kind, "--to", str(tmp_path / kind)], either)
            for kind in ("memory", "skill", "prompt")
        ],
        (
            ["playbook", "export", "--as", "memory", "--to", str(FIXTURES / "native" / "mission-0007.jsonl")],
            {1},
        ),
        (["backfill", "--start", DAY, "--end", DAY, "--eval-missions", "10"], either),
        (["dream", "--date", "20-11-2026"], {1}),
        (["ingest", str(tmp_path / "no such folder")], {1}),
    ]


def run_clean(home: Path, args: list[str], codes: set[int]) -> str:
    """Run one command; check it ended with output or exactly one error line, never a traceback."""
    # catch_exceptions=False: an exception escaping the command fails the test, as a traceback would
    result = runner.invoke(app, ["--home", str(home), *args], catch_exceptions=False)
    command = "reverie " + " ".join(args)
    assert "Traceback" not in result.output, command
    assert result.exit_code in codes, f"{command} -> {result.exit_code}: {result.output[-500:]}"
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    if result.exit_code:
        assert len(errors) == 1, f"{command}: {result.output[-500:]}"
        assert result.output.rstrip().splitlines()[-1] == errors[0], command
    else:
        assert not errors, command
    return result.output


def test_tour_on_an_empty_home(odd_home, tmp_path):
    for args, codes in tour(odd_home, tmp_path)[1:]:  # all but the ingest, which would fill the home
        run_clean(odd_home, args, codes)
    assert "reverie ingest" in run_clean(odd_home, ["score"], {1})
    # The tour's `dream` on an empty window writes an empty version (nothing learned, said so in its notes).
    assert "pb-" in run_clean(odd_home, ["playbook", "list"], {0})


def test_tour_on_an_offline_home_with_a_little_data(odd_home, tmp_path):
    run_clean(odd_home, ["fly", "--date", DAY, "--missions", "3"], {0})
    outputs = {" ".join(args): run_clean(odd_home, args, codes) for args, codes in tour(odd_home, tmp_path)}
    assert (
        "native"
        in outputs[
            "sql select source_format, count(*) as sessions, sum(n_events) as events from sessions group by 1"
        ]
    )
    assert "sessions scored" in outputs["score"]
    assert VERSION in outputs["playbook list"]
    assert (tmp_path / "prompt").is_dir()
    # Exit codes that must hold once there is data.
    run_clean(odd_home, ["score"], {0})
    run_clean(odd_home, ["dream", "--date", DAY], {0})
    run_clean(odd_home, ["evaluate", "--date", DAY, "--missions", "10"], {0})


def test_an_unexpected_failure_is_one_line_unless_debugging(odd_home, tmp_path, monkeypatch):
    run_clean(odd_home, ["fly", "--date", DAY, "--missions", "2"], {0})
    run_clean(odd_home, ["dream", "--date", DAY], {0})
    (odd_home / "playbooks" / VERSION / "playbook.json").write_text("{ torn")  # a disk that lost a write
    output = run_clean(odd_home, ["playbook", "list"], {1})
    assert "REVERIE_DEBUG=1" in output
    monkeypatch.setenv("REVERIE_DEBUG", "1")
    with pytest.raises(ValueError):  # pydantic's ValidationError, with its traceback, for a developer
        runner.invoke(app, ["--home", str(odd_home), "playbook", "list"], catch_exceptions=False)


def test_a_home_that_is_a_file_is_one_line(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    output = run_clean(blocker / "home", ["formats"], {1})
    assert "cannot use" in output and "REVERIE_HOME" in output
