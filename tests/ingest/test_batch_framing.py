"""A batch of source files is framed and redacted at once; when that raises, only the file at fault is
lost (as a `staging failed` reject) and its batch-mates are staged as usual."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.home import ReverieHome
from pipeline.ingest import staging
from pipeline.ingest.engine import ingest
from pipeline.lake import read_table

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code" / "marot-spotter"


def test_a_file_whose_rows_cannot_be_framed_is_rejected_and_the_others_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(FIXTURES / "short.jsonl", logs / "good.jsonl")
    shutil.copy(FIXTURES / "subagent.jsonl", logs / "bad.jsonl")
    framed = staging.events_frame

    def failing_for_bad(files, redactor):  # type: ignore[no-untyped-def]
        if any(one.path.name == "bad.jsonl" for one in files):
            raise ValueError("cannot frame")
        return framed(files, redactor)

    monkeypatch.setattr(staging, "events_frame", failing_for_bad)
    home = ReverieHome.at(tmp_path / "home").ensure()
    report = ingest(home, [logs], workers=1, ingest_date=date(2026, 2, 1))

    events = read_table(home, "events")
    assert events.height and set(events["source_file"].to_list()) == {str(logs.resolve() / "good.jsonl")}
    rejects = read_table(home, "rejects").filter(pl.col("source_file").str.ends_with("bad.jsonl"))
    assert rejects["reason"].to_list() == ["staging failed: ValueError"]
    assert report.files_staged == 2
