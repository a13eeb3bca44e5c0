from datetime import date

import pytest

from pipeline.home import ReverieHome

DAY = date(2026, 11, 5)


@pytest.fixture
def home(tmp_path) -> ReverieHome:
    return ReverieHome.at(tmp_path / "home").ensure()
