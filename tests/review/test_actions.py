"""Decisions taken on the review page: the store's rules, the decision log's who and why, CSRF, concurrency."""

from __future__ import annotations

import json
import multiprocessing

import pytest
from loop_home import TOKEN

from pipeline.playbooks.model import EntryStatus
from pipeline.playbooks.store import PlaybookStore

pytestmark = pytest.mark.xdist_group("review")


def post(client, path: str, *, csrf: str | None = TOKEN, headers: dict | None = None, **form):
    data = {"reviewer": "ana", "next": "/", **form}
    if csrf is not None:
        data["csrf"] = csrf
    return client.post(
        path, params={"token": TOKEN}, data=data, headers=headers or {}, follow_redirects=False
    )


def _entries(home, version: str):
    return PlaybookStore(home).load(version, with_reviews=False).entries


def test_approve_an_entry_records_who_and_why(client, review_home):
    store = PlaybookStore(review_home)
    entry = next(e for e in _entries(review_home, "pb-2026-03-03") if store.approvable(e))
    response = post(
        client,
        f"/versions/pb-2026-03-03/entries/{entry.id}/approve",
        reason="checked 3 sessions",
        next=f"/versions/pb-2026-03-03/entries/{entry.id}",
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(
        f"/versions/pb-2026-03-03/entries/{entry.id}?token={TOKEN}"
    )
    last = PlaybookStore(review_home).decisions()[-1]
    assert (last["action"], last["by"], last["reason"], last["entries"]) == (
        "approve",
        "ana",
        "checked 3 sessions",
        [entry.id],
    )
    assert {e.id: e.status for e in PlaybookStore(review_home).load("pb-2026-03-03").entries}[
        entry.id
    ] == EntryStatus.APPROVED
    page = client.get(response.headers["location"]).text
    assert "approved " + entry.id in page and "checked 3 sessions" in page


def test_reject_an_entry_keeps_everything(client, review_home):
    store = PlaybookStore(review_home)
    entry = _entries(review_home, "pb-2026-03-01")[0]
    before = (store.path("pb-2026-03-01") / "playbook.json").read_bytes()
    response = post(client, f"/versions/pb-2026-03-01/entries/{entry.id}/reject", reason="range too wide")
    assert response.status_code == 303
    assert store.reviews()["pb-2026-03-01"].rejected == {entry.id}
    assert (store.path("pb-2026-03-01") / "playbook.json").read_bytes() == before  # nothing edited or deleted
    assert store.decisions()[-1]["reason"] == "range too wide"


def test_an_entry_with_fewer_than_three_sessions_cannot_be_approved(client, review_home):
    store = PlaybookStore(review_home)
    book = store.load("pb-2026-03-03", with_reviews=False)
    thin = book.entries[0].model_copy(
        update={"id": "thin-1", "support": 2, "evidence": book.entries[0].evidence[:2]}
    )
    store.write(
        book.model_copy(update={"version": "pb-2026-03-04", "partition": "2026-03-04", "entries": [thin]})
    )
    html = client.get("/versions/pb-2026-03-04", params={"token": TOKEN}).text
    assert "disabled" in html and "fewer than 3 distinct supporting sessions" in html
    before = store.decisions()
    response = post(client, "/versions/pb-2026-03-04/entries/thin-1/approve", reason="looks right")
    assert response.status_code == 409 and "fewer than 3" in response.text
    assert post(client, "/versions/pb-2026-03-04/approve", reason="all of it").status_code == 409
    assert store.decisions() == before


def test_approve_a_version_then_roll_back(client, review_home):
    store = PlaybookStore(review_home)
    assert post(client, "/versions/pb-2026-03-02/approve", reason="held-out 80%").status_code == 303
    approved = store.reviews()["pb-2026-03-02"].approved
    assert approved == {e.id for e in _entries(review_home, "pb-2026-03-02") if store.approvable(e)}
    assert post(client, "/versions/pb-2026-03-01/rollback", reason="02 crashed more").status_code == 303
    assert store.reviews()["pb-2026-03-02"].approved == set()  # a pointer move: 02 is kept, only unapproved
    assert [d["action"] for d in store.decisions()[-2:]] == ["approve", "rollback"]
    assert store.decisions()[-1]["by"] == "ana"
    assert "pb-2026-03-02" in store.versions()


def test_forms_without_the_token_a_reason_or_from_another_origin_change_nothing(client, review_home):
    store = PlaybookStore(review_home)
    entry = _entries(review_home, "pb-2026-03-02")[0]
    path = f"/versions/pb-2026-03-02/entries/{entry.id}/reject"
    before = store.decisions()
    assert post(client, path, csrf=None, reason="x").status_code == 403
    assert post(client, path, csrf="guess", reason="x").status_code == 403
    assert post(client, path, reason="x", headers={"origin": "http://evil.example"}).status_code == 403
    assert post(client, path, reason="   ").status_code == 400
    assert post(client, path, reviewer="", reason="x").status_code == 400
    assert store.decisions() == before


def test_reviewer_text_is_one_plain_line(client, review_home):
    entry = _entries(review_home, "pb-2026-03-02")[0]
    post(
        client,
        f"/versions/pb-2026-03-02/entries/{entry.id}/reject",
        reviewer="ana\nby: root",
        reason="<b>no</b>\r\nok",
    )
    last = PlaybookStore(review_home).decisions()[-1]
    assert last["by"] == "ana by: root" and last["reason"] == "<b>no</b>  ok"
    page = client.get(f"/versions/pb-2026-03-02/entries/{entry.id}", params={"token": TOKEN}).text
    assert "&lt;b&gt;no&lt;/b&gt;" in page and "<b>no</b>" not in page


def _review_many(root: str, reviewer: str, entry_ids: list[str], reason: str) -> None:
    from starlette.testclient import TestClient

    from pipeline.home import ReverieHome
    from pipeline.review.app import create_app

    with TestClient(create_app(ReverieHome.at(root), TOKEN, reviewer)) as client:
        for index, entry_id in enumerate(entry_ids * 10):
            action = "approve" if index % 2 else "reject"
            response = post(
                client,
                f"/versions/pb-2026-03-02/entries/{entry_id}/{action}",
                reviewer=reviewer,
                reason=f"{reason} {index}",
            )
            assert response.status_code == 303, response.text


def test_concurrent_reviewers_never_lose_a_decision(review_home):
    """Two review pages (two processes) deciding at once: every decision is in the log, each line whole."""
    store = PlaybookStore(review_home)
    ids = [e.id for e in _entries(review_home, "pb-2026-03-02") if store.approvable(e)][:3]
    before = len(store.decisions())
    context = multiprocessing.get_context("spawn")
    long_reason = "checked the evidence " * 90  # ~1.9 KB, close to the form's limit
    workers = [
        context.Process(target=_review_many, args=(str(review_home.root), name, ids, long_reason))
        for name in ("ana", "bo")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    lines = (review_home.playbooks / "decisions.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line parses: no interleaved writes
    new = records[before:]
    assert len(new) == 2 * 10 * len(ids)
    assert sorted((r["by"], r["reason"]) for r in new) == sorted(
        (name, f"{long_reason} {i}".strip()[:2000]) for name in ("ana", "bo") for i in range(10 * len(ids))
    )


def test_an_oversized_form_is_refused(client, review_home):
    before = PlaybookStore(review_home).decisions()
    response = post(client, "/versions/pb-2026-03-02/approve", reason="x" * 100_000)
    assert response.status_code == 413
    assert PlaybookStore(review_home).decisions() == before
