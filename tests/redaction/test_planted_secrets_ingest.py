"""End to end: a planted-secret corpus in every supported format goes through the ingest engine, and no
planted secret is left anywhere under REVERIE_HOME: not in any Parquet value, not in any file's bytes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from planted import CANARY, FORMATS, KINDS, PLANTED, SECRETS, write_corpus

from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest
from pipeline.lake import read_table


def _all_string_values(path: Path) -> list[str]:
    values: list[str] = []
    table = pq.read_table(path)
    for column in table.columns:
        values.extend(str(v) for v in column.to_pylist() if v is not None)
    return values


def test_no_planted_secret_survives_ingest_and_the_rest_is_intact(tmp_path: Path) -> None:
    home = ReverieHome.at(tmp_path / "home")
    home.ensure()
    corpus = write_corpus(tmp_path / "incoming")
    report = ingest(home, corpus, workers=1)
    assert report.by_format == {name: 1 for name in FORMATS.values()}
    assert report.rejects == 0

    files = [p for p in home.root.rglob("*") if p.is_file()]
    parquet = [p for p in files if p.suffix == ".parquet"]
    assert parquet, "ingest wrote no Parquet"
    for path in files:
        data = path.read_bytes()
        assert not [s for s in SECRETS if s.encode() in data], f"secret bytes in {path}"
    for path in parquet:
        joined = "\n".join(_all_string_values(path))
        leaked = [s for s in SECRETS if s in joined]
        assert not leaked, f"secret value in {path}: {leaked}"

    events = read_table(home, "events")
    text = "\n".join(events["content"].drop_nulls().to_list() + events["input"].drop_nulls().to_list())
    assert CANARY in text
    for kind in set(KINDS.values()):
        assert f"[REDACTED:{kind}]" in text, f"no typed marker for {kind}"

    sessions = read_table(home, "sessions")
    assert sessions.height == len(FORMATS)
    per_format = dict(zip(sessions["source_format"], sessions["n_redactions"], strict=True))
    assert all(n >= len(PLANTED) for n in per_format.values()), per_format
    assert sessions.filter(pl.col("n_redactions") == 0).is_empty()


def test_a_broken_line_holding_a_secret_is_rejected_without_the_secret(tmp_path: Path) -> None:
    home = ReverieHome.at(tmp_path / "home")
    home.ensure()
    rollout = tmp_path / "incoming" / "rollout-broken.jsonl"
    rollout.parent.mkdir()
    secret = PLANTED["aws_access_key"][0]
    rollout.write_text(
        '{"timestamp":"2026-03-01T10:00:00Z","type":"session_meta","payload":{"id":"codex-broken"}}\n'
        f'{{"timestamp":"2026-03-01T10:00:01Z","type":"event_msg","payload":{{"type":"user_message","message":"key {secret}"\n'
        '{"timestamp":"2026-03-01T10:00:02Z","type":"event_msg","payload":{"type":"agent_message","message":"ok"}}\n'
    )
    report = ingest(home, [rollout], workers=1)
    assert report.rejects == 1
    rejects = read_table(home, "rejects")
    assert rejects.height == 1 and "[REDACTED:aws_access_key]" in rejects["raw"][0]
    assert not [p for p in home.root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
