"""A small but real Reverie home for the review page's tests and screenshots.

Runs the lunar loop's plain engine functions night by night (fly the team with the playbook in force,
ingest the logs it wrote, build the lake, score, dream, evaluate on held-out seeds and auto-promote), then
adds a day of the coding-agent corpus so the dream also yields tool-sequence and recovery entries whose
evidence holds tool calls and errors. It skips Dagster (the e2e tests cover that wiring) so it costs
seconds, not minutes.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from pipeline.home import ReverieHome

START = date(2026, 3, 1)
TOKEN = "test-token-0123456789"
HOSTILE_SESSION = "hostile-0001"
HOSTILE_DAY = START + timedelta(days=1)
SCRIPT = "<script>alert('pwned')</script>"
FAKE_KEY = "AKIAIOSFODNN7EXAMPLE"


def _event(event_id: str, seconds: int, type_: str, **fields) -> dict:
    ts = datetime.combine(HOSTILE_DAY, time(12, 0, seconds), tzinfo=UTC).isoformat()
    return {
        "schema": "reverie.event/v1",
        "session_id": HOSTILE_SESSION,
        "event_id": event_id,
        "ts": ts,
        "agent": "coder",
        "type": type_,
        **fields,
    }


def write_hostile_session(folder: Path) -> Path:
    """A coding session whose text tries HTML and script, fails with an error and leaks a key into a result."""
    long_output = "\n".join(f"line {i}: <b>bold</b> {SCRIPT}" for i in range(40))
    events = [
        _event("e0", 0, "session_start", input={"task": "fix_failing_test", "context": {"repo_files": 12}}),
        _event(
            "e1",
            1,
            "message",
            role="user",
            content=f"Please fix the test {SCRIPT}<img src=x onerror=alert(1)>",
        ),
        _event("e2", 2, "tool_call", tool="run_tests", input={"cmd": "pytest -k '\"><script>x</script>'"}),
        _event(
            "e3",
            3,
            "tool_result",
            tool="run_tests",
            parent_event_id="e2",
            is_error=True,
            content="ModuleNotFoundError: No module named 'evil' at line 3\n" + long_output,
        ),
        _event("e4", 4, "tool_call", tool="read_file", input={"path": "config.py"}),
        _event(
            "e5",
            5,
            "tool_result",
            tool="read_file",
            parent_event_id="e4",
            content=f"aws_access_key_id = {FAKE_KEY}",
        ),
        _event("e6", 6, "session_end", input={"status": "failed"}),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{HOSTILE_SESSION}.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def build_loop_home(
    home: ReverieHome,
    *,
    nights: int = 2,
    missions: int = 40,
    eval_missions: int = 40,
    coding_sessions: int = 60,
    start: date = START,
) -> ReverieHome:
    from pipeline.dreaming.dream import dream
    from pipeline.evaluation import evaluate_candidate
    from pipeline.ingest.engine import ingest
    from pipeline.missions.lunar.batch import fly_batch
    from pipeline.outcomes import load_criteria, score_partition
    from pipeline.playbooks.store import PlaybookStore
    from tests.support.synthetic_coding import write_coding_corpus

    home.ensure()
    suite = load_criteria()
    store = PlaybookStore(home)
    for night in range(nights):
        day = start + timedelta(days=night)
        fly_batch(home, day, missions, playbook=store.in_force(day), workers=1)
        ingest(home, [home.landing / day.isoformat()], workers=1)
        score_partition(home, day, suite)
        dream(home, day)
        evaluate_candidate(home, day, n_missions=eval_missions, workers=1)
    coding_day = start + timedelta(days=nights)
    write_coding_corpus(home, coding_day, coding_sessions, seed=7)
    dream(home, coding_day)
    return home
