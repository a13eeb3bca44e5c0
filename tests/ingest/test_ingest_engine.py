"""Staging and partition building: idempotent, incremental, partitioned by session start, atomic."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.ingest import engine
from pipeline.ingest.engine import ingest, session_start_dates, stage_files, staged_dates

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

TABLES = ("events", "sessions", "rejects")


def _snapshot(home: ReverieHome) -> dict[str, list[tuple]]:
    """Every committed partition's rows, sorted, so two homes can be compared exactly."""
    snapshot = {}
    for table in TABLES:
        for path in sorted(home.table_dir(table).rglob("*.parquet")):
            rows = pq.read_table(path).to_pylist()
            key = f"{table}/{path.parent.name}"
            snapshot[key] = sorted(tuple(sorted((k, repr(v)) for k, v in r.items())) for r in rows)
    return snapshot


def test_ingesting_twice_gives_identical_tables(home: ReverieHome) -> None:
    inputs = [FIXTURES / "claude-code", FIXTURES / "native", FIXTURES / "broken"]
    first = ingest(home, inputs, ingest_date=date(2026, 3, 6))
    before = _snapshot(home)
    second = ingest(home, inputs, ingest_date=date(2026, 3, 6))
    for day in staged_dates(home):  # even a forced rebuild of every partition changes nothing
        engine.build_events_partition(home, day)
        engine.build_sessions_partition(home, day)
    engine.build_rejects_partition(home, date(2026, 3, 6))
    assert _snapshot(home) == before
    assert second.files_skipped_unchanged == first.files_seen and second.files_staged == 0
    assert second.events_already_staged == first.events and not second.nothing_ingested
    events = lake.read_table(home, "events")
    assert events.select("session_id", "event_id").is_unique().all()


def test_session_split_over_two_files_is_one_session(home: ReverieHome) -> None:
    ingest(home, [FIXTURES / "native/split"])
    sessions = lake.read_table(home, "sessions")
    assert sessions["session_id"].to_list() == ["mission-0008"]
    session = sessions.row(0, named=True)
    assert session["n_events"] == 3  # the decision present in both files is kept once
    assert session["final_status"] == "crashed"
    assert json.loads(session["context"])["mission_seed"] == 8
    assert session["task"] == "lunar_landing"


def test_sessions_are_partitioned_by_their_start_date_in_utc(home: ReverieHome) -> None:
    ingest(home, [FIXTURES / "native"])
    # mission-0007 starts 23:59:58 on March 1 and ends on March 2; mission-0008 spans March 3-4.
    assert session_start_dates(home) == {"mission-0007": date(2026, 3, 1), "mission-0008": date(2026, 3, 3)}
    assert lake.partitions(home, "events") == ["2026-03-01", "2026-03-03"]
    day_one = lake.read_table(home, "events", ["2026-03-01"])
    assert set(day_one["session_id"]) == {"mission-0007"} and day_one.height == 5
    assert day_one.sort("seq")["type"].to_list()[0] == "session_start"
    assert day_one.sort("seq")["type"].to_list()[-1] == "session_end"
    session = lake.read_table(home, "sessions", ["2026-03-01"]).row(0, named=True)
    assert session["final_status"] == "landed" and session["playbook_version"] == "2026-02-28.1"
    assert session["agents"] == ["flight_director", "guidance", "propulsion", "touchdown"]
    assert session["duration_s"] == 11.0


def test_a_late_file_adds_to_a_session_but_never_moves_its_date(home: ReverieHome, copy_fixture) -> None:
    """A session's date is set by the run that first staged it (see `manifest.session_starts_of`): a later
    file with earlier timestamps adds its events to the session's partition, and moves nothing."""
    part2 = copy_fixture("native/split/mission-0008.part2.jsonl")
    first = ingest(home, [part2])
    assert first.session_dates == {date(2026, 3, 3)}  # part2's earliest event is on March 3 already
    late = copy_fixture("native/split/mission-0008.part1.jsonl")
    events = json.loads(late.read_text().splitlines()[0])
    events["ts"] = "2026-03-02T22:00:00Z"
    late.write_text(json.dumps(events) + "\n")
    second = ingest(home, [late])
    assert second.session_dates == {date(2026, 3, 3)}
    assert session_start_dates(home)["mission-0008"] == date(2026, 3, 3)
    assert lake.partitions(home, "events") == ["2026-03-03"]
    day = lake.read_table(home, "events", ["2026-03-03"])
    assert str(late.resolve()) in day["source_file"].to_list()  # its events are kept, on the session's day


def test_a_grown_file_replaces_its_previous_staging(home: ReverieHome, copy_fixture) -> None:
    log = copy_fixture("native/mission-0007.jsonl")
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:3]))
    ingest(home, [log])
    log.write_text("".join(lines))
    report = ingest(home, [log])
    assert report.files_staged == 1 and report.events == 5
    assert len(list(home.staging.glob("*[0-9a-f].parquet"))) == 1
    assert lake.read_table(home, "events").height == 5


def test_a_grown_file_staged_with_others_replaces_only_its_own_rows(home: ReverieHome, copy_fixture) -> None:
    log = copy_fixture("native/mission-0007.jsonl")
    other = copy_fixture("native/split")
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:3]))
    first = ingest(home, [log, other])
    before = lake.read_table(home, "events")
    assert len(list(home.staging.glob("*[0-9a-f].parquet"))) == 1  # one batch, one staged file
    log.write_text("".join(lines))
    second = ingest(home, [log, other])
    assert second.files_staged == 1 and second.files_skipped_unchanged == first.files_staged - 1
    events = lake.read_table(home, "events")
    assert events.filter(pl.col("session_id") == "mission-0007").height == 5
    others = events.filter(pl.col("session_id") != "mission-0007").sort("session_id", "seq")
    assert others.drop("date").equals(
        before.filter(pl.col("session_id") != "mission-0007").sort("session_id", "seq").drop("date")
    )
    assert events.select("session_id", "event_id").is_unique().all()


def test_rejects_of_one_day_accumulate_across_runs(home: ReverieHome) -> None:
    day = date(2026, 3, 6)
    ingest(home, [FIXTURES / "broken/invalid_json.jsonl"], ingest_date=day)
    ingest(home, [FIXTURES / "broken/truncated_last_line.jsonl"], ingest_date=day)
    reasons = sorted(r.split(":")[0] for r in lake.read_table(home, "rejects", [day])["reason"])
    assert reasons == ["invalid JSON", "truncated last line"]


def test_no_temporary_files_are_left_visible(home: ReverieHome) -> None:
    ingest(home, [FIXTURES / "claude-code", FIXTURES / "broken"])
    leftovers = [p for p in home.root.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")]
    assert leftovers == []


def test_parallel_workers_stage_the_same_rows_as_one_process(tmp_path: Path, monkeypatch) -> None:
    inputs = [FIXTURES / "claude-code", FIXTURES / "native"]
    serial, parallel = ReverieHome.at(tmp_path / "serial"), ReverieHome.at(tmp_path / "parallel")
    ingest(serial, inputs, workers=1)
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    progress: list[tuple[int, int]] = []
    report = ingest(parallel, inputs, workers=2, progress=lambda done, total: progress.append((done, total)))
    assert progress[-1] == (report.files_seen, report.files_seen)
    assert _snapshot(serial) == _snapshot(parallel)


def test_discovery_skips_hidden_and_sidecar_files(tmp_path: Path) -> None:
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "a.jsonl").write_text("{}\n")
    (tmp_path / ".b.jsonl").write_text("{}\n")
    (tmp_path / "agent-x.meta.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "real.jsonl").write_text("{}\n")
    assert engine.discover_files([tmp_path]) == [(tmp_path / "real.jsonl").resolve()]


def test_staging_carries_redaction_counts(home: ReverieHome, copy_fixture) -> None:
    class CountingRedactor:
        def redact(self, text: str):
            from pipeline.redaction import Redacted

            hits = text.count("0.55")
            return Redacted(text.replace("0.55", "[REDACTED:test]"), {"test": hits} if hits else {})

    log = copy_fixture("native/mission-0007.jsonl")
    report = stage_files(home, [log], redactor=CountingRedactor())  # type: ignore[arg-type]
    assert report.redactions == 1
    for day in report.session_dates:
        engine.build_events_partition(home, day)
        engine.build_sessions_partition(home, day)
    events = lake.read_table(home, "events")
    assert events.filter(pl.col("input").str.contains("REDACTED")).height == 1
    assert lake.read_table(home, "sessions")["n_redactions"].to_list() == [1]
