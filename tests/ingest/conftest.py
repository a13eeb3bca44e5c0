from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.home import ReverieHome

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def home(tmp_path: Path) -> ReverieHome:
    return ReverieHome.at(tmp_path / "home").ensure()


@pytest.fixture
def copy_fixture(tmp_path: Path):
    """Copy a fixture file or folder into tmp_path, so tests may append to or break it."""

    def copy(relative: str, name: str | None = None) -> Path:
        source = FIXTURES / relative
        target = tmp_path / "logs" / (name or source.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
        return target

    return copy
