"""The whole home, byte by byte: credentials planted in every format and placement go through `reverie ingest`,
`score` and `dream` (Dagster runs included), and none of them is anywhere under REVERIE_HOME afterwards:
not in a Parquet value, a SQLite row (Dagster's run and event storage too), a JSON or Markdown file."""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from placements import write_placements
from planted import CANARY, PLANTED, write_corpus
from typer.testing import CliRunner

from assets.definitions import run_job
from cli import app
from cli.common import date_clusters
from pipeline import lake
from pipeline.home import ReverieHome

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dagster-cli")]


def _needles() -> dict[str, list[str]]:
    """Per label, the strings whose presence is a leak: the secret, its JSON-escaped form, and its parts
    (the lines of a multi-line key; the halves of a long one, so a secret redacted only in part is caught)."""
    needles: dict[str, list[str]] = {}
    for label, (secret, _) in PLANTED.items():
        parts = [secret, json.dumps(secret)[1:-1]]
        if "\n" in secret:
            parts += [line for line in secret.splitlines() if len(line) >= 16 and "-----" not in line]
        elif len(secret) >= 24:
            parts += [secret[: len(secret) // 2], secret[len(secret) // 2 :]]
        needles[label] = parts
    return needles


def _inflated(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return b""


def _sqlite_texts(path: Path) -> Iterator[str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in con.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            for row in con.execute(f'select * from "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        yield (value + b"\n" + _inflated(value)).decode("utf-8", "replace")
                    elif value is not None:
                        yield str(value)
    finally:
        con.close()


def _duckdb_texts(path: Path) -> Iterator[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "select table_name from information_schema.tables where table_type = 'BASE TABLE'"
        )
        for (table,) in tables.fetchall():
            yield from (str(row) for row in con.execute(f'select * from "{table}"').fetchall())
    finally:
        con.close()


def _decoded(path: Path) -> Iterator[str]:
    """Every way a file under the home could hold text: its bytes, and what its format decodes to."""
    data = path.read_bytes()
    yield data.decode("utf-8", "replace")
    yield _inflated(data).decode("utf-8", "replace")
    if path.suffix == ".parquet":
        yield json.dumps(pq.read_table(path).to_pylist(), default=str)
    elif data.startswith(b"SQLite format 3"):
        yield from _sqlite_texts(path)
    elif data[8:12] == b"DUCK":
        yield from _duckdb_texts(path)


def test_no_planted_secret_is_stored_anywhere_under_reverie_home(tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    write_corpus(incoming / "formats")
    placed = write_placements(incoming)
    home = tmp_path / "home"
    runner = CliRunner()

    def reverie(*args: str) -> None:
        result = runner.invoke(app, ["--home", str(home), *args], catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
        assert not [s for s, _ in PLANTED.values() if s in result.output], args

    reverie("ingest", str(incoming))
    # Scoring through its Dagster job (what `reverie score` runs), day range by day range.
    reverie_home = ReverieHome.at(home)
    for first, last in date_clusters(lake.partitions(reverie_home, "sessions")):
        assert run_job("score_job", reverie_home, partition_range=(first, last)).success
    reverie("dream", "--date", "2026-03-04")

    files = [p for p in home.rglob("*") if p.is_file()]
    kinds = {p.suffix for p in files} | {"sqlite" for p in files if p.read_bytes()[:15] == b"SQLite format 3"}
    assert {".parquet", ".json", ".md", "sqlite"} <= kinds, kinds  # the scan covers what the brief says
    assert any("dagster" in p.parts for p in files)

    needles = _needles()
    leaks: dict[str, set[str]] = {}
    seen_canary = False
    for path in files:
        for text in _decoded(path):
            seen_canary = seen_canary or CANARY in text
            for label, parts in needles.items():
                if any(part in text for part in parts):
                    leaks.setdefault(label, set()).add(str(path.relative_to(home)))
    assert leaks == {}
    assert seen_canary, "the scan read no session text at all"
    assert len(placed) >= 15 and len(PLANTED) >= 20
