"""Commands that need no run answer without loading Dagster or the other heavy libraries.

Each is measured in a fresh interpreter (this test process has loaded everything already): after every
command, the heavy modules present in `sys.modules` are recorded, so a regression names its command.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from pipeline.playbooks.model import Playbook
from pipeline.playbooks.store import PlaybookStore, version_for

HEAVY = ["dagster", "scipy", "gymnasium", "great_expectations", "anthropic", "matplotlib", "pandas"]
PROBE = """
import json, sys
from typer.testing import CliRunner
from cli import app

home, commands, heavy = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
seen = {}
for command in commands:
    result = CliRunner().invoke(app, ["--home", home, *command])
    seen[" ".join(command)] = {"exit": result.exit_code, "loaded": [m for m in heavy if m in sys.modules]}
print(json.dumps(seen))
"""


def test_commands_that_need_no_run_never_import_dagster_or_heavy_libraries(reverie_home):
    store = PlaybookStore(reverie_home)
    for day in (date(2026, 1, 1), date(2026, 1, 2)):
        store.write(
            Playbook(
                version=version_for(day),
                partition=day.isoformat(),
                created_at=datetime.combine(day, time.max, tzinfo=UTC),
            )
        )
    commands = [
        ["sql", "select count(*) as n from sessions"],
        ["sql", "--name", "failing_tools", "--format", "csv"],
        ["queries"],
        ["formats"],
        ["playbook", "list"],
        ["playbook", "show"],
        ["playbook", "diff", "pb-2026-01-01", "pb-2026-01-02"],
    ]
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(reverie_home.root), json.dumps(commands), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert {name: r["exit"] for name, r in seen.items()} == {" ".join(c): 0 for c in commands}
    assert {name: r["loaded"] for name, r in seen.items()} == {" ".join(c): [] for c in commands}


# What `reverie sql` once loaded beyond DuckDB: pydantic (typer converted every option through it, see
# cli.plain_values), the click package (typer vendors its own), filelock (only a Dagster instance takes a
# lock) and the object-store lake's commits (a local lake has none).
NOT_FOR_SQL = ["pydantic", "pydantic_core", "click", "filelock", "pipeline.storage"]


def modules_loaded_by(*args: str) -> set[str]:
    """Modules the installed `reverie` script imports for `args` (and their packages), as `-X importtime` lists them."""
    script = Path(sys.executable).with_name("reverie")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(script), *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = (
        line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    )
    return {name.split(".")[0] for name in lines}


@pytest.mark.parametrize(
    "command",
    [
        ["sql", "--name", "failing_tools"],
        ["sql", "select count(*) as n from sessions", "--format", "csv", "--limit", "5"],
        ["sql", "select 1", "--format", "json"],
    ],
)
def test_reverie_sql_loads_neither_pydantic_nor_click_nor_filelock(reverie_home, command):
    # The first query on a lake with empty tables writes their empty files once (with pyarrow and the
    # schemas' pydantic models); every later query reads what is there.
    modules_loaded_by("--home", str(reverie_home.root), "sql", "select 1")
    loaded = modules_loaded_by("--home", str(reverie_home.root), *command)
    assert "duckdb" in loaded  # the probe sees what the command imported
    assert sorted(loaded & set(NOT_FOR_SQL)) == []
    # rich draws tables (and errors); CSV and JSON need none of it
    assert ("rich" in loaded) == ("--format" not in command)


def test_the_lake_lists_the_tables_whose_schemas_it_defers():
    from pipeline import events, lake

    assert tuple(events.TABLE_SCHEMAS) == lake.TABLE_NAMES
    assert all(lake.TABLE_SCHEMAS[name] is events.TABLE_SCHEMAS[name] for name in lake.TABLE_NAMES)


def test_every_command_is_listed_and_loads():
    from typer.testing import CliRunner

    from cli import COMMANDS, app, load_command

    help_text = CliRunner().invoke(app, ["--help"]).output
    for name in COMMANDS:
        assert name in help_text
        assert load_command(name).name == name


def test_the_code_location_loads_no_library_it_only_needs_when_a_step_runs():
    """`dg dev`, every CLI run and every Celery worker import the code location: the Claude SDK, scipy and the
    simulator load when a step grades, dreams or flies, not at import (a module-level subclass of the SDK's
    client, or a top-level `import anthropic`, once cost every process about a second)."""
    probe = "import json, sys; import assets.definitions; print(json.dumps([m for m in sys.argv[1:] if m in sys.modules]))"
    lazy = ["anthropic", "scipy", "gymnasium", "matplotlib", "pandas"]
    result = subprocess.run([sys.executable, "-c", probe, *lazy], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
