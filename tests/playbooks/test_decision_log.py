"""The decision log survives a torn write and never records the same decision twice."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from pipeline.playbooks.store import PlaybookStore
from tests.playbooks.test_store import _entry, _playbook

V1 = "pb-2026-11-01"


@pytest.fixture
def store(tmp_path) -> PlaybookStore:
    from pipeline.home import ReverieHome

    store = PlaybookStore(ReverieHome.at(tmp_path / "home").ensure())
    store.write(_playbook(date(2026, 11, 1), [_entry("a"), _entry("b")]))
    return store


def test_a_torn_last_line_is_ignored_with_a_warning_and_repaired_by_the_next_append(store, caplog):
    store.approve(V1, ["a"], by="ana")
    log = store.root / "decisions.jsonl"
    whole = log.read_bytes()
    log.write_bytes(whole + b'{"action": "approve", "by": "bo", "entr')  # power cut mid-write
    with caplog.at_level(logging.WARNING):
        assert [d["by"] for d in store.decisions()] == ["ana"]
        assert store.in_force(date(2026, 11, 2)).version == V1
    assert "torn" in caplog.text
    store.approve(V1, ["b"], by="bo")
    assert log.read_bytes().startswith(whole)
    assert [json.loads(line)["by"] for line in log.read_text().splitlines()] == ["ana", "bo"]
    assert (store.root / "decisions.jsonl.torn").read_bytes().startswith(b'{"action": "approve", "by": "bo"')


def test_a_last_line_that_only_lost_its_newline_is_kept(store):
    store.approve(V1, ["a"], by="ana")
    log = store.root / "decisions.jsonl"
    log.write_bytes(log.read_bytes().rstrip(b"\n"))
    store.reject(V1, "a", by="bo")
    assert [(d["action"], d["by"]) for d in store.decisions()] == [("approve", "ana"), ("reject", "bo")]


def test_rerunning_approve_reject_or_rollback_appends_nothing(store):
    store.approve(V1, by="auto-promotion", reason="better on held-out seeds")
    store.approve(V1, by="auto-promotion", reason="better on held-out seeds")  # an evaluation re-run
    store.approve(V1, ["a"], by="cli")
    store.write(_playbook(date(2026, 11, 2), [_entry("c")]))
    store.approve("pb-2026-11-02")
    store.rollback(V1)
    store.rollback(V1)
    store.reject(V1, "b")
    store.reject(V1, "b")
    actions = [(d["action"], d["version"]) for d in store.decisions()]
    assert actions == [("approve", V1), ("approve", "pb-2026-11-02"), ("rollback", V1), ("reject", V1)]
    # a real change of mind is still recorded
    store.approve(V1, ["b"])
    assert store.decisions()[-1]["action"] == "approve"
