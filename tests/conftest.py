"""Shared fixtures: every test gets its own REVERIE_HOME so nothing leaks between tests or into ./.reverie."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.pop("ANTHROPIC_API_KEY", None)  # default paths must run offline

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


@pytest.fixture
def reverie_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh, activated REVERIE_HOME (and DAGSTER_HOME inside it) for one test."""
    from pipeline.home import ReverieHome, activate

    home = activate(ReverieHome.at(tmp_path / "home"))
    monkeypatch.setenv("REVERIE_HOME", str(home.root))
    monkeypatch.setenv("DAGSTER_HOME", str(home.dagster_home))
    return home
