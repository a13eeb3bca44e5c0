"""Fixtures for tests that run Reverie on real servers (an S3 server, Redis, Celery workers) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.distributed.servers import S3Server, moto_s3_server


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with moto_s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """This process pointed at the S3 server (credentials and endpoint as botocore reads them)."""
    from pipeline.storage import reset_filesystems

    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    reset_filesystems()
    yield s3_server
    reset_filesystems()


@pytest.fixture
def s3_home(tmp_path: Path, s3_env: S3Server, monkeypatch: pytest.MonkeyPatch):
    """An activated REVERIE_HOME whose lake is a fresh prefix of the S3 server's bucket."""
    from pipeline.home import ReverieHome, activate

    lake_url = f"s3://{s3_env.bucket}/{tmp_path.name}"
    home = ReverieHome.at(tmp_path / "home", lake=lake_url)
    monkeypatch.setenv("REVERIE_HOME", str(home.root))  # set here first, so teardown restores the originals
    monkeypatch.setenv("REVERIE_LAKE", lake_url)
    monkeypatch.setenv("DAGSTER_HOME", str(home.dagster_home))
    return activate(home)
