"""The review page in a real browser: `reverie review` serving, Chromium driven by Playwright.

A reviewer goes from an entry to the exact lines of the sessions behind it and rejects or approves it. Skipped
(with the reason) where Debian's chromium is not installed; `.ci/run` installs it so CI runs this test.
Set REVIEW_SCREENSHOTS=<dir> to keep a screenshot of each page (docs/images/review-*.png come from here).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from loop_home import HOSTILE_SESSION

from pipeline.playbooks.store import PlaybookStore

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
pytestmark = [
    pytest.mark.xdist_group("review"),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture
def served(review_home):
    """`reverie review` as a user starts it; yields the URL it prints (with its token)."""
    env = {**os.environ, "REVERIE_HOME": str(review_home.root), "USER": "ana"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "reverie"), "review"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url, seen, deadline = None, [], time.monotonic() + 180
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            seen.append(line)
            match = re.search(r"(http://127\.0\.0\.1:\d+/\?token=[\w-]+)", line)
            url = match.group(1) if match else None
        assert url, "".join(seen)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _shoot(page, name: str) -> None:
    folder = os.environ.get("REVIEW_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"review-{name}.png"))


def test_from_an_entry_to_its_evidence_lines_then_reject_and_approve(served, browser, review_home):
    origin = served.split("/?")[0]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests, dialogs = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(served)
    assert page.locator("h1").inner_text() == "Playbook versions"
    _shoot(page, "versions")
    page.get_by_role("link", name="pb-2026-03-03", exact=True).first.click()
    _shoot(page, "version")
    store = PlaybookStore(review_home)
    entry = next(e for e in store.load("pb-2026-03-03").entries if e.rule and e.rule.kind == "recovery")
    page.locator(f"#entry-{entry.id} a", has_text=entry.id).first.click()
    assert entry.id in page.locator("h1").inner_text()
    _shoot(page, "entry")

    # Entry -> its first evidence session -> the lines that support it.
    page.locator("a.session-link").first.click()
    assert page.locator("h1").inner_text().startswith("Session")
    supporting = page.locator(".ev.support")
    assert supporting.count() >= 2
    assert "supports the entry: error «" in page.locator(".ev.support .why").first.inner_text() or any(
        "error «" in supporting.nth(i).inner_text() for i in range(supporting.count())
    )
    first_link = page.locator("ul.support-list a").first
    target = first_link.get_attribute("href")
    first_link.click()
    assert page.url.endswith(target)
    line = page.locator(target)
    assert "support" in line.get_attribute("class") and line.is_visible()
    line.scroll_into_view_if_needed()
    _shoot(page, "session")

    # Back to the entry: reject it with a reason, then change our mind and approve it.
    page.go_back()
    page.go_back()
    page.locator("form.decide:has(button.reject) input[name=reason]").fill("recovery seen only in easy repos")
    page.locator("button.reject").click()
    assert page.locator(".notice").inner_text() == f"rejected {entry.id} in pb-2026-03-03"
    assert "recovery seen only in easy repos" in page.locator("tr.decision-row").last.inner_text()
    approve = page.locator("button.approve")
    if store.approvable(entry):
        page.locator("form.decide:has(button.approve) input[name=reason]").fill("re-checked six sessions")
        approve.click()
        assert page.locator(".notice").inner_text() == f"approved {entry.id} in pb-2026-03-03"
        expected = [("reject", "ana", [entry.id]), ("approve", "ana", [entry.id])]
    else:  # the store's rules hold in the page: an entry from one day of sessions cannot be approved
        assert approve.is_disabled() and "cannot be approved" in approve.get_attribute("title")
        expected = [("reject", "ana", [entry.id])]
    decisions = store.decisions()[-len(expected) :]
    assert [(d["action"], d["by"], d["entries"]) for d in decisions] == expected

    page.goto(served.replace("/?", "/diff?old=pb-2026-03-01&new=pb-2026-03-02&"))
    assert page.locator("td.new").count() > 0
    _shoot(page, "diff")
    page.goto(served.replace("/?", "/nights?"))
    assert page.locator("svg.chart").count() >= 2
    _shoot(page, "nights")

    # A session holding HTML and script shows it as text, and runs nothing.
    page.goto(served.replace("/?", f"/sessions/{HOSTILE_SESSION}?"))
    assert "<script>alert('pwned')</script>" in page.locator("body").inner_text()
    assert dialogs == []
    assert all(url.startswith(origin) or url.startswith("data:") for url in requests), requests
