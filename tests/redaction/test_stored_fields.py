"""Not only message text: file paths, ids, tool names and reject reasons are stored too, and hold secrets too."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from planted import PLANTED

from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest
from pipeline.ingest.manifest import read_manifest
from pipeline.lake import read_table

GITHUB = PLANTED["github_token"][0]
GOOGLE = PLANTED["google_api_key"][0]
SENDGRID = PLANTED["sendgrid_key"][0]
NPM = PLANTED["npm_token"][0]
HUGGING_FACE = PLANTED["huggingface_token"][0]
SECRETS = (GITHUB, GOOGLE, SENDGRID, NPM, HUGGING_FACE)


def _native(session: str, **extra: object) -> str:
    line = {
        "schema": "reverie.event/v1",
        "session_id": session,
        "event_id": "e1",
        "ts": "2026-03-01T10:00:00Z",
        "type": "tool_call",
        "tool": f"deploy --token {HUGGING_FACE}",
        "content": "deploying",
    }
    return json.dumps({**line, **extra})


def _claude_code_with_bad_timestamp() -> str:
    base = {"sessionId": "00000000-0000-4000-8000-000000000001", "type": "user", "parentUuid": None}
    good = {
        **base,
        "uuid": "u1",
        "timestamp": "2026-03-01T10:00:00.000Z",
        "message": {"role": "user", "content": "hi"},
    }
    bad = {**base, "uuid": "u2", "timestamp": SENDGRID, "message": {"role": "user", "content": "again"}}
    return "\n".join(json.dumps(line) for line in (good, bad)) + "\n"


def _write(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "incoming" / GITHUB
    folder.mkdir(parents=True)
    native = folder / f"events-{GOOGLE}.jsonl"
    native.write_text(
        _native(f"sess-{NPM}") + "\n" + _native("sess-2", **{"event_id": "e2", GITHUB: "x"}) + "\n"
    )
    twin = folder / f"events-{GOOGLE[:-1]}Z.jsonl"  # a second path differing only inside the secret
    twin.write_text(_native("sess-3") + "\n")
    claude = folder / "session.jsonl"
    claude.write_text(_claude_code_with_bad_timestamp())
    return [native, twin, claude]


def test_paths_ids_tool_names_manifest_and_reject_reasons_are_redacted(tmp_path: Path) -> None:
    home = ReverieHome.at(tmp_path / "home").ensure()
    report = ingest(home, _write(tmp_path), workers=1)
    assert report.rejects == 2

    events = read_table(home, "events")
    manifest = read_manifest(home)
    rejects = read_table(home, "rejects")
    stored = [
        *events.select(pl.col(pl.String)).to_dicts(),
        *manifest.select(pl.col(pl.String)).to_dicts(),
        *rejects.select(pl.col(pl.String)).to_dicts(),
    ]
    text = json.dumps(stored)
    assert not [secret for secret in SECRETS if secret in text]
    for field in ("source_file", "session_id", "tool"):
        assert events[field].str.contains("[REDACTED:", literal=True).any(), field
    assert manifest["source_file"].str.contains("[REDACTED:github_token]", literal=True).all()
    # Two paths that differed only inside the secret stay two files, not one superseding the other.
    assert manifest.height == 3 and manifest["source_file"].n_unique() == 3
    reasons = sorted(rejects["reason"].to_list())
    assert any("[REDACTED:sendgrid_key]" in r and "timestamp" in r for r in reasons), reasons
    assert any("[REDACTED:github_token]" in r and "unknown field" in r for r in reasons), reasons

    again = ingest(home, _write(tmp_path.parent / f"{tmp_path.name}-again"), workers=1)
    assert again.events == report.events  # same content at new paths: deterministic, nothing lost


def test_reingesting_paths_with_secrets_skips_them_as_unchanged(tmp_path: Path) -> None:
    home = ReverieHome.at(tmp_path / "home").ensure()
    files = _write(tmp_path)
    ingest(home, files, workers=1)
    before = read_manifest(home)
    again = ingest(home, files, workers=1)
    assert again.files_skipped_unchanged == len(files)
    assert read_manifest(home).equals(before)


def test_a_secret_split_between_two_stored_blocks_is_gone_from_both(tmp_path: Path) -> None:
    """Claude Code keeps each text block of a prompt as its own event: the key is split across two rows."""
    cut = len(SENDGRID) // 2
    blocks = [
        {"type": "text", "text": f"the mailer key is {SENDGRID[:cut]}"},
        {"type": "text", "text": f"{SENDGRID[cut:]} and that is all"},
    ]
    line = {
        "sessionId": "00000000-0000-4000-8000-000000000002",
        "type": "user",
        "uuid": "u1",
        "parentUuid": None,
        "timestamp": "2026-03-01T10:00:00.000Z",
        "message": {"role": "user", "content": blocks},
    }
    path = tmp_path / "blocks.jsonl"
    path.write_text(json.dumps(line) + "\n")
    home = ReverieHome.at(tmp_path / "home").ensure()
    report = ingest(home, [path], workers=1)
    events = read_table(home, "events")
    stored = "\n".join(events["content"].drop_nulls().to_list())
    assert SENDGRID[:cut] not in stored and SENDGRID[cut:] not in stored
    assert "the mailer key is [REDACTED:sendgrid_key]" in stored and "and that is all" in stored
    # The split secret is counted once, on the block it starts in; the session's start event holds the
    # prompt whole (as content and as task) and counts its own two; session and run totals agree.
    blocks_count = events.filter(pl.col("type") == "message").sort("event_id")["n_redactions"]
    assert blocks_count.to_list() == [1, 0]
    total = events["n_redactions"].sum()
    assert total == 3 and read_table(home, "sessions")["n_redactions"].to_list() == [total]
    assert report.redactions == total


def test_secrets_in_identifiers_are_counted_on_their_events(tmp_path: Path) -> None:
    path = tmp_path / "native.jsonl"
    path.write_text(_native("plain-session") + "\n")  # its tool name holds a Hugging Face token
    home = ReverieHome.at(tmp_path / "home").ensure()
    report = ingest(home, [path], workers=1)
    events = read_table(home, "events")
    assert events["tool"].str.contains("[REDACTED:huggingface_token]", literal=True).all()
    assert events["n_redactions"].to_list() == [1] and report.redactions == 1
