"""What `reverie ingest DIR` reads: agent log folders inside hidden folders, only regular files of bounded size,
and a reason for every path it leaves out."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.ingest import discovery
from pipeline.ingest.engine import ingest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CLAUDE = FIXTURES / "claude-code" / "marot-spotter" / "short.jsonl"
CODEX = FIXTURES / "real-world" / "codex" / "codemie-code"


@pytest.fixture
def never_hang() -> Iterator[None]:
    """A FIFO or /dev/zero read by mistake blocks forever: fail the test instead of hanging the suite."""

    def stop(*_: object) -> None:
        raise TimeoutError("discovery or ingest blocked on a special file")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_home_folder_with_claude_and_codex_logs_is_followed(tmp_path: Path) -> None:
    user = tmp_path / "user"
    project = user / ".claude" / "projects" / "-home-user-app"
    project.mkdir(parents=True)
    shutil.copy(CLAUDE, project / CLAUDE.name)
    (user / ".claude" / "settings.json").write_text('{"model": "opus"}')  # not a log: never read
    sessions = user / ".codex" / "sessions" / "2026" / "05" / "11"
    sessions.mkdir(parents=True)
    rollout = next(CODEX.glob("*.jsonl"))
    shutil.copy(rollout, sessions / rollout.name)
    (user / ".git").mkdir()
    (user / ".git" / "packed.json").write_text("{}")

    found = discovery.discover([user])
    assert sorted(p.name for p in found.files) == sorted([CLAUDE.name, rollout.name])
    reasons = dict((Path(p).name, r) for p, r in found.skipped)
    assert reasons[".git"] == "hidden folder"

    home = ReverieHome.at(tmp_path / "home").ensure()
    report = ingest(home, [user], workers=1)
    assert report.by_format == {"claude_code": 1, "codex": 1}
    assert lake.read_table(home, "sessions").height == 2
    assert report.skipped_paths["hidden folder"]["count"] == 1


def test_nothing_found_says_what_was_skipped(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / ".cache").mkdir(parents=True)
    (logs / ".cache" / "a.jsonl").write_text("{}\n")
    (logs / "notes.txt").write_text("hello")
    report = ingest(ReverieHome.at(tmp_path / "home").ensure(), [logs], workers=1)
    assert report.nothing_ingested and report.files_seen == 0
    assert "skipped: 1 hidden folder; 1 not a log file name" in (report.failure_reason or "")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and symlinks")
def test_links_loops_fifos_and_devices_are_skipped_with_a_reason(tmp_path: Path, never_hang: None) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(CLAUDE, logs / "good.jsonl")
    (logs / "dangling.jsonl").symlink_to(tmp_path / "gone.jsonl")
    (logs / "loop.jsonl").symlink_to(logs / "loop.jsonl")
    os.mkfifo(logs / "pipe.jsonl")
    if Path("/dev/zero").exists():
        (logs / "zero.jsonl").symlink_to("/dev/zero")
    (logs / "sub").mkdir()
    (logs / "sub" / "back").symlink_to(logs)  # a folder loop

    found = discovery.discover([logs, logs / "loop.jsonl", logs / "pipe.jsonl"])
    assert [p.name for p in found.files] == ["good.jsonl"]
    reasons = {Path(p).name: r for p, r in found.skipped}
    assert reasons["dangling.jsonl"] == "dangling symlink"
    assert reasons["loop.jsonl"].startswith("unreadable")
    assert reasons["pipe.jsonl"] == "not a regular file (FIFO, device or socket)"
    assert reasons["back"] == "symlinked folder (not followed)"
    if Path("/dev/zero").exists():
        assert reasons["zero.jsonl"] == "not a regular file (FIFO, device or socket)"

    report = ingest(ReverieHome.at(tmp_path / "home").ensure(), [logs], workers=1)
    assert report.files_seen == 1 and report.events > 0


def test_files_over_the_size_bound_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(CLAUDE, tmp_path / "big.jsonl")
    monkeypatch.setattr(discovery, "MAX_SOURCE_BYTES", 100)
    found = discovery.discover([tmp_path])
    assert found.files == []
    assert found.skipped[0][1].startswith("larger than")
