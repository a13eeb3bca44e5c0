"""What `reverie ingest` says about what it could not read: the same failure on every run of the same input,
the paths it skipped and why, and record types it did not recognise."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
runner = CliRunner()

pytestmark = pytest.mark.xdist_group("dagster-cli")


def reverie(home, *args: str):
    return runner.invoke(app, ["--home", str(home.root), *args], catch_exceptions=False)


def test_an_unknown_format_file_exits_the_same_way_twice(reverie_home, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.jsonl").write_text('{"hello": "world"}\n')
    runs = [reverie(reverie_home, "ingest", str(notes)) for _ in range(2)]
    assert [r.exit_code for r in runs] == [1, 1]
    assert all("known log format" in r.output for r in runs)


def test_hidden_agent_folders_are_followed_and_skips_are_explained(reverie_home, tmp_path: Path) -> None:
    user = tmp_path / "user"
    project = user / ".claude" / "projects" / "-home-user-app"
    project.mkdir(parents=True)
    transcript = FIXTURES / "claude-code" / "marot-spotter" / "short.jsonl"
    with (project / "session.jsonl").open("w") as handle:
        handle.write(transcript.read_text())
        handle.write(json.dumps({"type": "brand-new-record", "sessionId": "x"}) + "\n")
    shutil.copytree(FIXTURES / "native", user / ".cache")
    result = reverie(reverie_home, "ingest", str(user))
    assert result.exit_code == 0, result.output
    assert "claude_code=1" in result.output
    assert "hidden folder" in result.output
    assert "brand-new-record=1" in result.output
