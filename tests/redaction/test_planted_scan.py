"""The whole home, byte by byte: credentials planted in every format and placement go through `reverie ingest`
(paths named after secrets typed on its command line included), `score`, `dream`, `playbook approve` and
`playbook export` (Dagster runs included), and none of them is anywhere under REVERIE_HOME or in an export
afterwards: not in a Parquet value, a SQLite row (Dagster's run config, tags, event log and snapshots too), a
JSON or Markdown file."""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from placements import planted_value, write_placements
from planted import CANARY, PLANTED, write_corpus
from typer.testing import CliRunner

from assets.runs import run_job
from cli import app
from cli.common import date_clusters
from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.playbooks.model import EntryStatus
from pipeline.playbooks.store import PlaybookStore
from tests.dreaming.attacker import Call, victim_sessions, write_session
from tests.dreaming.conftest import DAY

DAYS = [DAY - timedelta(days=offset) for offset in range(4)]

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


def _typed_paths(incoming: Path) -> list[str]:
    """What the user types after `reverie ingest`: every folder and a few files by their own names, so the
    folders and files named after secrets are command-line arguments themselves (the run's paths), plus a
    dangling link named after one inside a typed folder (reported as skipped, with examples, in the run's
    metadata)."""
    by_name = incoming / "by-name"
    (incoming / "placed" / f"{PLANTED['github_token'][0]}-gone.jsonl").symlink_to(incoming / "nowhere")
    named = sorted(by_name.iterdir())
    files = [f for folder in named for f in sorted(folder.iterdir())][:3]
    return [str(incoming / "formats"), str(incoming / "placed"), *map(str, named), *map(str, files)]


def _approvable_sessions(folder: Path) -> None:
    """Ordinary work over four days and two projects, whose lessons pass the approval rule, with a secret
    in the error text of one failing command per planted kind: what an approved entry and its exports are
    made from must hold none of them."""
    victim_sessions(folder, DAYS)
    for index, label in enumerate(PLANTED):
        error = f"ModuleNotFoundError: No module named 'yaml' ({planted_value(label)})"
        calls = [Call("Read"), Call("Bash", error), Call("Grep"), Call("Bash")]
        cwd = "/home/ana/acme-api" if index % 2 else "/home/bo/widgets"
        write_session(folder, f"leaky-{index:03d}", DAYS[index % len(DAYS)], cwd, calls, minute=30 + index)


def _files_of(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


def test_no_planted_secret_is_stored_anywhere_under_reverie_home(tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    write_corpus(incoming / "formats")
    placed = write_placements(incoming)
    _approvable_sessions(incoming / "approvable")
    typed = [*_typed_paths(incoming), str(incoming / "approvable")]
    assert any(secret in path for path in typed for secret, _ in PLANTED.values())
    home = tmp_path / "home"
    exports = tmp_path / "exports"
    runner = CliRunner()

    def reverie(*args: str) -> None:
        result = runner.invoke(app, ["--home", str(home), *args], catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
        assert not [s for s, _ in PLANTED.values() if s in result.output], args

    reverie("ingest", *typed)
    # Scoring through its Dagster job (what `reverie score` runs), day range by day range.
    reverie_home = ReverieHome.at(home)
    for first, last in date_clusters(lake.partitions(reverie_home, "sessions")):
        assert run_job("score_job", reverie_home, partition_range=(first, last)).success
    reverie("dream", "--date", "2026-03-04")  # the lunar line, over the planted corpus
    reverie("dream", "--mission", "coding", "--date", "2026-03-04")  # the line coding-agent logs dream into
    reverie(
        "dream", "--mission", "coding", "--date", DAY.isoformat()
    )  # the window of the approvable sessions
    store = PlaybookStore(reverie_home, mission="coding")
    version = store.versions()[-1]
    reverie("playbook", "--mission", "coding", "approve", version)
    approved = store.load(version).entries
    assert any(entry.status == EntryStatus.APPROVED for entry in approved)
    for kind in ("memory", "skill", "prompt", "claude-md", "agents-md", "claude-memory", "agent-skill"):
        reverie(
            "playbook",
            "--mission",
            "coding",
            "export",
            "--as",
            kind,
            "--to",
            str(exports / kind),
            "--version",
            version,
        )

    files = _files_of(home, exports)
    kinds = {p.suffix for p in files} | {"sqlite" for p in files if p.read_bytes()[:15] == b"SQLite format 3"}
    assert {".parquet", ".json", ".md", "sqlite"} <= kinds, kinds  # the scan covers what the brief says
    assert any("dagster" in p.parts for p in files)
    assert {kind for kind in ("memory", "skill", "prompt") if any(kind in p.parts for p in files)} == {
        "memory",
        "skill",
        "prompt",
    }

    needles = _needles()
    leaks: dict[str, set[str]] = {}
    seen_canary = False
    for path in files:
        for text in _decoded(path):
            seen_canary = seen_canary or CANARY in text
            for label, parts in needles.items():
                if any(part in text for part in parts):
                    leaks.setdefault(label, set()).add(str(path.relative_to(tmp_path)))
    assert leaks == {}
    assert seen_canary, "the scan read no session text at all"
    assert len(placed) >= 15 and len(PLANTED) >= 20
