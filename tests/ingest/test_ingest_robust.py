"""Rows the lake cannot hold, spoofed event ids and late files never abort an ingest or corrupt a session."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest, session_start_dates

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
INGEST_DAY = date(2026, 3, 6)


def _event(session_id: str, event_id: str, ts: str, **fields: object) -> str:
    record = {
        "schema": "reverie.event/v1",
        "session_id": session_id,
        "event_id": event_id,
        "ts": ts,
        "type": "message",
        "role": "user",
        "content": f"text of {event_id}",
    }
    record.update(fields)
    return json.dumps(record)


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _rejects(home: ReverieHome) -> pl.DataFrame:
    return lake.read_table(home, "rejects", [INGEST_DAY]).sort("source_file", "source_line")


def test_input_nested_300_deep_is_quarantined_and_other_files_kept(home: ReverieHome, tmp_path: Path) -> None:
    deep: object = {"leaf": 1}
    for _ in range(300):
        deep = [deep]
    bad = _write(
        tmp_path / "logs/a.jsonl",
        [_event("a", "e1", "2026-03-05T10:00:00Z"), _event("a", "e2", "2026-03-05T10:00:01Z", input=deep)],
    )
    _write(tmp_path / "logs/b.jsonl", [_event("b", "e1", "2026-03-05T11:00:00Z")])
    report = ingest(home, [tmp_path / "logs"], ingest_date=INGEST_DAY)
    events = lake.read_table(home, "events")
    assert sorted(events.select("session_id", "event_id").rows()) == [("a", "e1"), ("b", "e1")]
    reject = _rejects(home).row(0, named=True)
    assert (reject["source_file"], reject["source_line"]) == (str(bad.resolve()), 2)
    assert reject["reason"].startswith("input cannot be stored as JSON")
    assert report.rejects == 1


def test_non_string_message_role_is_quarantined_and_the_rest_of_the_file_kept(
    home: ReverieHome, tmp_path: Path
) -> None:
    source = FIXTURES / "claude-code/drmaciver-coverage-test-fix/transcript.jsonl"
    lines = source.read_text().splitlines()
    target = next(
        i
        for i, line in enumerate(lines)
        if json.loads(line).get("type") == "user" and "message" in json.loads(line)
    )
    record = json.loads(lines[target])
    record["message"]["role"] = {"not": "a string"}
    lines[target] = json.dumps(record)
    broken = _write(tmp_path / "logs/transcript.jsonl", lines)
    clean_home = ReverieHome.at(tmp_path / "clean")
    ingest(clean_home, [source], ingest_date=INGEST_DAY)
    clean = lake.read_table(clean_home, "events")

    ingest(home, [broken], ingest_date=INGEST_DAY)
    events = lake.read_table(home, "events")
    rejected_lines = set(_rejects(home)["source_line"].to_list())
    assert target + 1 in rejected_lines
    assert any("role" in r for r in _rejects(home)["reason"])
    # every event of the other lines is kept
    kept_lines = set(clean.filter(pl.col("source_line") != target + 1)["source_line"].to_list())
    assert kept_lines <= set(events["source_line"].to_list())


def test_timestamps_before_1970_or_in_9999_are_rejected_and_the_good_lines_built(
    home: ReverieHome, tmp_path: Path
) -> None:
    log = _write(
        tmp_path / "logs/times.jsonl",
        [
            _event("s", "e1", "2026-03-05T10:00:00Z"),
            _event("s", "old", "1969-12-31T23:59:59Z"),
            _event("s", "far", "9999-12-31T23:59:59Z"),
            _event("s", "e2", "2026-03-05T10:00:01Z"),
        ],
    )
    _write(tmp_path / "logs/other.jsonl", [_event("o", "e1", "2026-03-04T09:00:00Z")])
    report = ingest(home, [tmp_path / "logs"], ingest_date=INGEST_DAY)
    # only valid daily partitions: the Dagster lake job would fail on any other key
    assert report.session_dates == {date(2026, 3, 4), date(2026, 3, 5)}
    assert lake.partitions(home, "events") == ["2026-03-04", "2026-03-05"]
    assert sorted(lake.read_table(home, "events")["event_id"].to_list()) == ["e1", "e1", "e2"]
    rejects = _rejects(home)
    assert rejects["source_file"].to_list() == [str(log.resolve())] * 2
    assert rejects["source_line"].to_list() == [2, 3]
    assert all(r.startswith("timestamp out of range") for r in rejects["reason"])


def test_a_later_file_reusing_event_ids_with_earlier_timestamps_does_not_replace_them(
    home: ReverieHome, tmp_path: Path
) -> None:
    victim = _write(
        tmp_path / "logs/victim.jsonl",
        [_event("s", "e1", "2026-03-05T10:00:00Z"), _event("s", "e2", "2026-03-05T10:00:05Z")],
    )
    ingest(home, [victim], ingest_date=INGEST_DAY)
    before = lake.read_table(home, "events").sort("event_id")
    spoof = _write(
        tmp_path / "drop/zz.jsonl",
        [
            _event("s", "e1", "2026-03-05T09:00:00Z", content="ignore previous instructions"),
            _event("s", "e2", "2026-03-05T09:00:01Z", content="run rm -rf ~"),
        ],
    )
    ingest(home, [spoof], ingest_date=INGEST_DAY)
    after = lake.read_table(home, "events").sort("event_id")
    assert after["content"].to_list() == before["content"].to_list() == ["text of e1", "text of e2"]
    assert after["source_file"].to_list() == [str(victim.resolve())] * 2
    assert after["ts"].to_list() == before["ts"].to_list()
    # the victim's file growing later keeps its place in line
    victim.write_text(victim.read_text() + _event("s", "e3", "2026-03-05T10:00:09Z") + "\n")
    ingest(home, [victim], ingest_date=INGEST_DAY)
    grown = lake.read_table(home, "events").sort("event_id")
    assert grown["content"].to_list() == ["text of e1", "text of e2", "text of e3"]


def test_a_session_arriving_out_of_order_across_midnight_ends_in_one_partition(
    home: ReverieHome, tmp_path: Path
) -> None:
    """The later file's earlier events join the session on the day its first file dated it: one
    partition, every event once (a later file never moves a session's date)."""
    late_half = _write(
        tmp_path / "logs/part2.jsonl",
        [_event("night", "e3", "2026-03-05T00:00:10Z"), _event("night", "e4", "2026-03-05T00:00:20Z")],
    )
    ingest(home, [late_half], ingest_date=INGEST_DAY)
    assert lake.partitions(home, "events") == ["2026-03-05"]
    early_half = _write(
        tmp_path / "logs/part1.jsonl",
        [
            _event("night", "e1", "2026-03-04T23:59:50Z"),
            _event("night", "e2", "2026-03-04T23:59:59Z"),
            _event("night", "e3", "2026-03-05T00:00:10Z"),
        ],
    )
    ingest(home, [early_half], ingest_date=INGEST_DAY)
    events = lake.read_table(home, "events")
    assert events.height == 4
    assert sorted(events["event_id"]) == ["e1", "e2", "e3", "e4"]
    assert set(events["date"]) == {date(2026, 3, 5)}
    assert session_start_dates(home) == {"night": date(2026, 3, 5)}
    sessions = lake.read_table(home, "sessions")
    assert sessions.height == 1 and sessions["n_events"].to_list() == [4]

    snapshot = {t: lake.read_table(home, t).sort(pl.all()) for t in ("events", "sessions")}
    again = ingest(home, [tmp_path / "logs"], ingest_date=INGEST_DAY)
    assert again.files_staged == 0 and again.session_dates == set()
    for table, frame in snapshot.items():
        assert lake.read_table(home, table).sort(pl.all()).equals(frame)


def test_a_later_file_reusing_a_session_id_with_earlier_timestamps_cannot_move_its_day(
    home: ReverieHome, tmp_path: Path
) -> None:
    victim = _write(
        tmp_path / "logs/victim.jsonl",
        [_event("s", "e1", "2026-03-05T10:00:00Z"), _event("s", "e2", "2026-03-05T10:00:05Z")],
    )
    ingest(home, [victim], ingest_date=INGEST_DAY)
    spoof = _write(tmp_path / "drop/aa.jsonl", [_event("s", "x1", "2026-03-01T08:00:00Z", content="hi")])
    report = ingest(home, [spoof], ingest_date=INGEST_DAY)
    assert session_start_dates(home) == {"s": date(2026, 3, 5)}
    assert report.session_dates == {date(2026, 3, 5)}
    assert lake.partitions(home, "events") == lake.partitions(home, "sessions") == ["2026-03-05"]
    assert lake.read_table(home, "sessions")["date"].to_list() == [date(2026, 3, 5)]


def _claude_line(uuid: str, ts: str, *, agent: str | None = None, parent: str | None = None) -> str:
    record: dict[str, object] = {
        "sessionId": "00000000-0000-4000-8000-0000000000aa",
        "type": "user",
        "uuid": uuid,
        "parentUuid": parent,
        "timestamp": ts,
        "cwd": "/work",
        "message": {"role": "user", "content": f"text of {uuid}"},
    }
    if agent:
        record.update(isSidechain=True, agentId=agent)
    return json.dumps(record)


def test_claude_code_subagent_files_join_their_session_and_its_transcript_dates_it(
    home: ReverieHome, tmp_path: Path
) -> None:
    """The legitimate case of one session over several files: a subagent's sidechain file, even staged
    before the main transcript, dates the session only until the transcript arrives; then a later file
    claiming to be the transcript (main-agent rows with earlier times) moves nothing."""
    session = "00000000-0000-4000-8000-0000000000aa"
    project = tmp_path / "projects/-work"
    subagent = _write(
        project / session / "subagents/agent-a1.jsonl",
        [_claude_line("s1", "2026-03-05T00:00:30.000Z", agent="a1")],
    )
    ingest(home, [subagent], ingest_date=INGEST_DAY)
    assert session_start_dates(home) == {session: date(2026, 3, 5)}
    main = _write(
        project / f"{session}.jsonl",
        [_claude_line("m1", "2026-03-04T23:59:50.000Z"), _claude_line("m2", "2026-03-05T00:00:40.000Z")],
    )
    ingest(home, [main], ingest_date=INGEST_DAY)
    assert session_start_dates(home) == {session: date(2026, 3, 4)}
    assert lake.partitions(home, "events") == ["2026-03-04", "2026-03-05"]
    assert lake.read_table(home, "events", ["2026-03-05"]).height == 0  # the old day lost the session
    events = lake.read_table(home, "events", ["2026-03-04"])
    assert {"s1", "m1", "m2"} <= set(events["event_id"].to_list())

    forged = _write(tmp_path / "drop/forged.jsonl", [_claude_line("f1", "2026-03-01T09:00:00.000Z")])
    ingest(home, [forged], ingest_date=INGEST_DAY)
    assert session_start_dates(home) == {session: date(2026, 3, 4)}
    assert lake.read_table(home, "sessions")["date"].to_list() == [date(2026, 3, 4)]
