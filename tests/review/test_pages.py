"""Every page of the review app, as a reviewer reads it: token, content, escaping, marked evidence lines."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from html import unescape

import pytest
from loop_home import FAKE_KEY, HOSTILE_SESSION, SCRIPT, START, TOKEN

from pipeline import lake
from pipeline.error_signatures import error_signature
from pipeline.playbooks.model import Effect, Entry, EntryStatus, Playbook, Rule, Section
from pipeline.playbooks.store import PlaybookStore, version_for

pytestmark = pytest.mark.xdist_group("review")


def get(client, path: str, **params):
    return client.get(path, params={"token": TOKEN, **params})


def links(html: str, css_class: str) -> list[str]:
    return [unescape(h) for h in re.findall(rf'class="{css_class}" href="([^"]+)"', html)]


def test_every_request_needs_the_token(client):
    assert client.get("/").status_code == 403
    assert client.get("/", params={"token": "wrong"}).status_code == 403
    assert client.get("/nights").status_code == 403
    assert client.post("/versions/pb-2026-03-01/approve").status_code == 403
    assert client.get("/no/such/page").status_code == 403  # not even a 404 leaks without it
    assert get(client, "/").status_code == 200


@pytest.mark.parametrize("path", ["/", "/versions/pb-2026-03-02", "/diff", "/nights"])
def test_pages_load_nothing_from_outside(client, path):
    response = get(client, path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert policy.startswith("default-src 'self'") and "script-src 'none'" in policy
    # Every link, form and resource is this server (or an anchor); no CDN, no remote font or script.
    targets = re.findall(r'(?:href|src|action)="([^"]*)"', response.text)
    assert targets and all(t.startswith(("/", "#", "data:")) for t in targets), targets
    assert "<script" not in response.text


def test_versions_list_status_and_promotion_decision(client, review_home):
    html = get(client, "/").text
    store = PlaybookStore(review_home)
    assert store.versions() == ["pb-2026-03-01", "pb-2026-03-02", "pb-2026-03-03"]
    for version in store.versions():
        assert f'id="v-{version}"' in html
    con = lake.connect(review_home)
    decisions = dict(
        con.execute("select version, decision from evaluations where arm = 'candidate'").fetchall()
    )
    first = html[html.index('id="v-pb-2026-03-01"') :]
    assert f'class="badge {decisions["pb-2026-03-01"]}"' in first.split("</tr>")[0]
    assert "in force" in first.split("</tr>")[0]  # the first night's candidate was promoted
    assert "not evaluated" in html  # the coding day was dreamed but not evaluated


def test_version_page_groups_entries_with_statistics_rule_and_counters(client, review_home):
    book = PlaybookStore(review_home).load("pb-2026-03-03")
    html = get(client, "/versions/pb-2026-03-03").text
    headings = [unescape(h).split("<")[0].strip() for h in re.findall(r"<h2>(.*?)</h2>", html, re.DOTALL)]
    assert {"All agents", "guidance", "propulsion", "touchdown"} <= set(headings)
    for entry in book.entries:
        card = html[html.index(f'id="entry-{entry.id}"') :].split('<div class="card entry"')[0]
        assert unescape(entry.text) in unescape(card)
        assert f"helpful {entry.helpful}, harmful {entry.harmful}" in card
        assert f"support {entry.support} sessions" in card
        assert "rule {" in unescape(card)


def test_entry_page_lists_evidence_sessions_history_and_decisions(client, review_home):
    store = PlaybookStore(review_home)
    entry = next(e for e in store.load("pb-2026-03-02").entries if e.rule and e.rule.kind == "parameter")
    html = get(client, f"/versions/pb-2026-03-02/entries/{entry.id}").text
    sessions = links(html, "session-link")
    assert [s.split("?")[0].removeprefix("/sessions/") for s in sessions] == entry.evidence
    assert all(f"entry={entry.id}" in s and "version=pb-2026-03-02" in s for s in sessions)
    history = re.findall(r'<tr><td><a href="[^"]*">(pb-[\d-]+)</a>', html)
    assert history == [v for v in store.versions() if entry.id in {e.id for e in store.load(v).entries}]
    assert "auto-promotion" not in html  # decisions on pb-2026-03-01 are not this version's


def test_session_page_marks_the_decision_a_parameter_entry_is_about(client, review_home):
    entry = next(
        e for e in PlaybookStore(review_home).load("pb-2026-03-02").entries if e.rule.kind == "parameter"
    )
    session = entry.evidence[0]
    html = get(client, f"/sessions/{session}", version="pb-2026-03-02", entry=entry.id).text
    marked = re.findall(r'<div class="ev ([^"]*) support[^"]*" id="e-(\d+)">', html)
    assert marked, "the decision that set the entry's parameter is marked"
    con = lake.connect(review_home)
    decision_seqs = {
        seq
        for seq, raw in con.execute(
            "select seq, input from events where session_id = ? and type = 'decision'", [session]
        ).fetchall()
        if f'"parameter":"{entry.rule.parameter}"' in raw.replace(" ", "")
    }
    assert {int(seq) for kind, seq in marked if kind == "decision"} == decision_seqs
    assert f"sets {entry.rule.parameter} = " in html
    assert "outcome" in html  # the session's end is shown as the other half of the claim


def test_session_page_marks_the_error_and_the_recovery_steps(client, review_home):
    entry = next(
        e for e in PlaybookStore(review_home).load("pb-2026-03-03").entries if e.rule.kind == "recovery"
    )
    html = unescape(
        get(client, f"/sessions/{entry.evidence[0]}", version="pb-2026-03-03", entry=entry.id).text
    )
    assert f"error «{entry.rule.error_signature}»" in html
    for step, tool in enumerate(entry.rule.sequence, start=1):
        assert f"after the error, step {step} of {' -> '.join(entry.rule.sequence)}" in html, tool


def _hostile_version(home) -> str:
    """A version (written through the store) whose entry cites the hostile session and quotes its script."""
    store = PlaybookStore(home)
    base = store.load("pb-2026-03-03", with_reviews=False)
    day = START + timedelta(days=3)
    signature = error_signature(
        "ModuleNotFoundError: No module named 'evil' at line 3"
    )  # as the lake masks it
    entry = Entry(
        id="reco-hostile",
        agent="coder",
        section=Section.PROCEDURES,
        text=f"Quote: {SCRIPT} <b>bold</b>",
        rule=Rule(kind="recovery", error_signature=signature, sequence=["read_file"]),
        support=3,
        evidence=[HOSTILE_SESSION, *base.entries[0].evidence[:2]],
        effect=Effect(
            rate_with=0.5, rate_without=0.2, n_with=3, n_without=9, diff=0.3, ci_low=0.0, ci_high=0.6
        ),
        created_in=version_for(day),
        updated_in=version_for(day),
    )
    retired = base.entries[1].model_copy(
        update={"status": EntryStatus.RETIRED, "retired_reason": "contradicted by 9 newer sessions"}
    )
    book = base.model_copy(
        update={
            "version": version_for(day),
            "parent": base.version,
            "partition": day.isoformat(),
            "created_at": datetime.combine(day, time.max, tzinfo=UTC),
            "entries": [entry, retired, *base.entries[2:]],
        }
    )
    store.write(Playbook.model_validate(book.model_dump()))
    return book.version


def test_session_text_is_escaped_and_shown_as_stored(client, review_home):
    version = _hostile_version(review_home)
    response = get(client, f"/sessions/{HOSTILE_SESSION}", version=version, entry="reco-hostile")
    html = response.text
    assert "<script>" not in html and "<img src=x" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html  # shown as text
    assert FAKE_KEY not in html  # redacted at ingest, shown as stored
    assert "<details>" in html  # the 40-line error output is folded
    assert 'id="e-3"' in html and re.search(r'class="ev tool_result is-error support[^"]*" id="e-3"', html)
    entry_page = get(client, f"/versions/{version}/entries/reco-hostile").text
    assert "<script>" not in entry_page and "Quote: &lt;script&gt;" in entry_page


def test_diff_page_shows_old_and_new_values_and_retirements(client, review_home):
    version = _hostile_version(review_home)
    base = PlaybookStore(review_home).load("pb-2026-03-03")
    html = unescape(get(client, "/diff", old="pb-2026-03-03", new=version).text)
    assert "Added (1)" in html and "reco-hostile" in html
    assert "Retired (1)" in html and base.entries[1].id in html
    assert "reason: contradicted by 9 newer sessions" in re.sub(r"<[^>]+>", "", html)
    old_new = unescape(get(client, "/diff", old="pb-2026-03-01", new="pb-2026-03-02").text)
    rows = re.findall(
        r'<th>support</th><td class="old">(\d+)</td><td class="arrow">→</td><td class="new">(\d+)</td>',
        old_new,
    )
    assert rows and all(old != new for old, new in rows)


def test_nights_page_shows_success_by_night_for_each_mission(client, review_home):
    html = get(client, "/nights").text
    con = lake.connect(review_home)
    rows = con.execute(
        "select s.date, count(*), count(*) filter (where o.success) from sessions s "
        "join session_outcomes o using (session_id) where s.task = 'lunar_landing' group by 1 order by 1"
    ).fetchall()
    lunar = html[html.index("<code>lunar_landing</code>") :]
    for day, n, successes in rows:
        assert f'<td>{day.isoformat()}</td><td class="num">{n}</td><td class="num">{successes}</td>' in lunar
    assert "<code>fix_failing_test</code>" in html
    assert html.count('class="badge promoted"') + html.count('class="badge kept"') >= 2  # evaluated nights


def test_unknown_version_entry_and_session_are_404(client):
    assert get(client, "/versions/pb-1999-01-01").status_code == 404
    assert get(client, "/versions/pb-2026-03-01/entries/nope").status_code == 404
    assert get(client, "/sessions/nope").status_code == 404


def test_entries_are_grouped_by_the_project_their_evidence_comes_from(client, review_home):
    import polars as pl

    assert "Procedures and recoveries · anywhere" in get(client, "/versions/pb-2026-03-03").text
    coding = lake.read_table(review_home, "sessions", ["2026-03-03"])
    lake.write_partition(
        review_home, "sessions", "2026-03-03", coding.with_columns(pl.lit("acme-api").alias("project"))
    )
    html = get(client, "/versions/pb-2026-03-03").text
    assert (
        "Procedures and recoveries · in acme-api" in html
    )  # the recovery was learned from acme-api sessions
    assert "Strategies · anywhere" in html  # lunar entries: no project recorded
