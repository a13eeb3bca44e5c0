"""Playbook versions and the decision log on an S3 lake: immutable, and no decision lost between reviewers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.playbooks.store import PlaybookError, PlaybookStore
from tests.playbooks.test_store import _entry, _playbook

pytestmark = pytest.mark.xdist_group("s3")
DAY = date(2026, 11, 1)


def test_versions_live_on_the_lake_and_stay_immutable(s3_home: ReverieHome) -> None:
    store = PlaybookStore(s3_home)
    playbook = _playbook(DAY, [_entry("a"), _entry("b")])
    store.write(playbook)
    store.write(playbook)  # an identical rewrite is a no-op
    with pytest.raises(PlaybookError, match="immutable"):
        store.write(playbook.model_copy(update={"entries": [_entry("a", high=0.7)]}))

    assert store.versions() == ["pb-2026-11-01"] and not s3_home.playbooks.exists()
    assert store.location("pb-2026-11-01").startswith(s3_home.lake_location)
    assert store.markdown("pb-2026-11-01").startswith("# Playbook pb-2026-11-01")
    other_process_view = PlaybookStore(
        ReverieHome.at(s3_home.root.parent / "other", lake=s3_home.lake_location)
    )
    assert other_process_view.load("pb-2026-11-01", with_reviews=False) == playbook


def test_concurrent_reviewers_are_all_recorded_in_one_order(s3_home: ReverieHome) -> None:
    store = PlaybookStore(s3_home)
    store.write(_playbook(DAY, [_entry(f"e{i}") for i in range(6)]))

    def review(i: int) -> None:
        # each reviewer has its own store object, as on its own machine
        PlaybookStore(s3_home).approve("pb-2026-11-01", [f"e{i}"], by=f"reviewer-{i}", reason=f"checked e{i}")

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(review, range(6)))
    decisions = store.decisions()
    assert sorted(d["by"] for d in decisions) == [f"reviewer-{i}" for i in range(6)]
    assert store.reviews()["pb-2026-11-01"].approved == {f"e{i}" for i in range(6)}
    store.approve("pb-2026-11-01", ["e0"])  # re-running changes nothing, so it records nothing
    assert len(store.decisions()) == 6
    assert store.in_force(date(2026, 11, 2)).version == "pb-2026-11-01"


def test_entries_table_is_published_to_the_remote_lake(s3_home: ReverieHome) -> None:
    store = PlaybookStore(s3_home)
    store.write(_playbook(DAY, [_entry("a")]))
    store.write_entries_table("pb-2026-11-01")
    con = lake.connect(s3_home)
    assert con.execute("SELECT entry_id, version FROM playbook_entries").fetchall() == [
        ("a", "pb-2026-11-01")
    ]
