"""A real playbook home, built once per test session and copied per test (tests that decide write to it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from loop_home import HOSTILE_DAY, TOKEN, build_loop_home, write_hostile_session

from pipeline.home import ReverieHome


@pytest.fixture(scope="session")
def loop_template(tmp_path_factory: pytest.TempPathFactory) -> ReverieHome:
    """Two nights of the lunar loop, a day of coding sessions, and one hostile session, all ingested."""
    from pipeline.ingest.engine import ingest

    home = build_loop_home(ReverieHome.at(tmp_path_factory.mktemp("review") / "home"))
    landing = home.landing / HOSTILE_DAY.isoformat()
    ingest(home, [write_hostile_session(landing)], workers=1)
    return home


@pytest.fixture
def review_home(loop_template: ReverieHome, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReverieHome:
    from pipeline.home import activate

    home = ReverieHome.at(tmp_path / "home")
    shutil.copytree(loop_template.root, home.root)
    monkeypatch.setenv("REVERIE_HOME", str(home.root))
    return activate(home)


@pytest.fixture
def client(review_home: ReverieHome) -> Iterator:
    from starlette.testclient import TestClient

    from pipeline.review.app import create_app

    with TestClient(create_app(review_home, TOKEN, "ana"), base_url="http://127.0.0.1:8000") as test_client:
        yield test_client
