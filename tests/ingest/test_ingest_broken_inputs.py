"""Bad input never crashes a run and never loses the good lines around it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

BROKEN = FIXTURES / "broken"
INGEST_DAY = date(2026, 3, 6)


def _run(home: ReverieHome, path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    report = ingest(home, [path], ingest_date=INGEST_DAY)
    assert report.files_seen == 1
    events = lake.read_table(home, "events")
    rejects = lake.read_table(home, "rejects", [INGEST_DAY])
    assert rejects.height == report.rejects
    return events, rejects


@pytest.mark.parametrize(
    ("name", "line", "reason"),
    [
        ("invalid_json.jsonl", 2, "invalid JSON"),
        ("truncated_last_line.jsonl", 3, "truncated last line"),
        ("not_utf8.jsonl", 2, "not UTF-8"),
        ("missing_ids.jsonl", 2, "missing session_id"),
        ("wrong_types.jsonl", 2, "wrong type for ts"),
    ],
)
def test_bad_line_is_rejected_and_good_lines_kept(
    home: ReverieHome, name: str, line: int, reason: str
) -> None:
    events, rejects = _run(home, BROKEN / name)
    assert set(events["event_id"]) >= {"g1", "g2"}
    first = rejects.sort("source_line").row(0, named=True)
    assert first["source_line"] == line
    assert first["reason"].startswith(reason)
    assert first["source_file"] == str((BROKEN / name).resolve())
    assert first["date"] == INGEST_DAY


def test_missing_event_id_and_wrong_token_type_are_reported_too(tmp_path: Path) -> None:
    _, missing = _run(ReverieHome.at(tmp_path / "a"), BROKEN / "missing_ids.jsonl")
    assert sorted(missing["reason"]) == ["missing event_id", "missing session_id"]
    _, wrong = _run(ReverieHome.at(tmp_path / "b"), BROKEN / "wrong_types.jsonl")
    assert any(r.startswith("wrong type for tokens_in") for r in wrong["reason"])


def test_ten_megabyte_line_is_rejected_with_a_bounded_raw_preview(home: ReverieHome, tmp_path: Path) -> None:
    good = {
        "schema": "reverie.event/v1",
        "session_id": "big",
        "ts": "2026-03-05T12:00:00Z",
        "type": "message",
    }
    huge = dict(good, event_id="huge", content="x" * (10 * 1024 * 1024))
    path = tmp_path / "huge.jsonl"
    path.write_text(
        "\n".join(json.dumps(dict(good, event_id=e)) if e else json.dumps(huge) for e in ("a", None, "b"))
        + "\n"
    )
    events, rejects = _run(home, path)
    assert sorted(events["event_id"]) == ["a", "b"]
    assert rejects["reason"][0].startswith("line longer than 8 MB")
    assert len(rejects["raw"][0]) <= 2_000


def test_empty_file_is_a_reject_not_a_crash(home: ReverieHome) -> None:
    report = ingest(home, [BROKEN / "empty.jsonl"], ingest_date=INGEST_DAY)
    rejects = lake.read_table(home, "rejects", [INGEST_DAY])
    assert rejects["reason"].to_list() == ["empty file"]
    assert report.nothing_ingested


def test_unknown_format_is_reported_and_says_why_nothing_was_ingested(home: ReverieHome) -> None:
    report = ingest(home, [BROKEN / "unknown_format.jsonl"], ingest_date=INGEST_DAY)
    rejects = lake.read_table(home, "rejects", [INGEST_DAY])
    assert rejects["reason"][0].startswith("unknown format")
    assert rejects["source_format"][0] == "unknown"
    assert report.unknown_format == [str((BROKEN / "unknown_format.jsonl").resolve())]
    assert report.nothing_ingested
    assert "known log format" in report.failure_reason


def test_a_folder_of_broken_files_still_ingests_every_good_line(home: ReverieHome) -> None:
    report = ingest(home, [BROKEN], ingest_date=INGEST_DAY)
    assert report.files_seen == 7
    assert not report.nothing_ingested and report.failure_reason is None
    events = lake.read_table(home, "events")
    # five files with good lines g1, g2 (g3 is the truncated one); one session, deduplicated on event id
    assert sorted(events["event_id"]) == ["g1", "g2"]
    assert lake.read_table(home, "rejects").height == report.rejects >= 9


def test_a_secret_crossing_the_raw_preview_cut_is_redacted_not_cut_in_half(
    home: ReverieHome, tmp_path: Path
) -> None:
    key = "sk-ant-api03-Zq8Xw2Lr5Tn9Vb3Mk7Pc1Hd6Fg4Js0Ay2Qe8Wu5Ri9To3Yp7-Ls1Nk4Bm6Cv"
    good = {"schema": "reverie.event/v1", "session_id": "s", "ts": "2026-03-05T12:00:00Z", "type": "message"}
    prefix = '{"event_id": "broken", "content": "'
    # The key starts 12 characters before the 2,000-character cut: a preview cut first would keep
    # "sk-ant-api03", too short for any detector to recognise as a key.
    broken = prefix + "x" * (2_000 - 12 - len(prefix)) + " " + key + '"'  # no closing brace: invalid JSON
    path = tmp_path / "leaky.jsonl"
    path.write_text(
        "\n".join([json.dumps(dict(good, event_id="a")), broken, json.dumps(dict(good, event_id="b"))]) + "\n"
    )
    _, rejects = _run(home, path)
    raw = rejects["raw"][0]
    assert rejects["reason"][0].startswith("invalid JSON")
    assert len(raw) == 2_000
    assert "sk-ant" not in raw and raw[-12:].startswith(" [REDACTED")
