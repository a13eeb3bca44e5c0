"""The columnar Claude Code path must yield exactly the reference adapter's rows, or hand the file back."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import polars as pl
import pytest

from pipeline.ingest.base import Reject
from pipeline.ingest.claude_code import ADAPTER
from pipeline.ingest.claude_code_columnar import ROW_COLUMNS, normalize_files
from pipeline.ingest.staging import _epoch_us, _json_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "claude-code"
BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "ingest.py"


def reference_rows(path: Path) -> pl.DataFrame:
    rows = [row for row in ADAPTER.parse(path) if not isinstance(row, Reject)]
    return pl.DataFrame(
        {
            "session_id": [r.session_id for r in rows],
            "event_id": [r.event_id for r in rows],
            "parent_event_id": [r.parent_event_id for r in rows],
            "ts": [_epoch_us(r.ts) for r in rows],
            "agent": [r.agent for r in rows],
            "type": [r.type for r in rows],
            "role": [r.role for r in rows],
            "tool": [r.tool for r in rows],
            "input": [_json_text(r.input) for r in rows],
            "content": [r.content for r in rows],
            "is_error": [r.is_error for r in rows],
            "tokens_in": [r.tokens_in for r in rows],
            "tokens_out": [r.tokens_out for r in rows],
            "source_line": [r.source_line for r in rows],
        },
        schema=ROW_COLUMNS,
    )


def assert_same_rows(files: list[Path]) -> None:
    fast = normalize_files(files, [f.read_bytes() for f in files])
    columns = list(ROW_COLUMNS)
    for path, frame in zip(files, fast, strict=True):
        assert frame is not None, f"{path} fell back"
        expected = reference_rows(path).sort(columns, nulls_last=True)
        assert frame.sort(columns, nulls_last=True).equals(expected), path


def test_every_fixture_gives_the_reference_rows() -> None:
    files = sorted(FIXTURES.rglob("*.jsonl"))
    assert len(files) >= 10
    assert_same_rows(files)


def test_generated_corpus_sample_gives_the_reference_rows(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("ingest_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    benchmark = importlib.util.module_from_spec(spec)
    sys.modules["ingest_benchmark"] = benchmark
    spec.loader.exec_module(benchmark)
    benchmark.generate_corpus(tmp_path / "corpus", 0.002)
    files = sorted((tmp_path / "corpus").rglob("*.jsonl"))
    assert any("subagents" in f.parts for f in files)
    assert_same_rows(files)


def _line(**fields: object) -> bytes:
    base = {
        "type": "user",
        "uuid": "u1",
        "sessionId": "s1",
        "timestamp": datetime(2026, 1, 5, tzinfo=UTC).isoformat().replace("+00:00", "Z"),
        "message": {"role": "user", "content": "hello"},
    }
    return orjson.dumps({**base, **fields})


@pytest.mark.parametrize(
    "lines",
    [
        [_line(), b'{"type": "user", "uuid": '],  # torn last line
        [_line(isSidechain="yes")],  # a truthy non-boolean
        [_line(timestamp="2026-01-05 10:00")],  # a timestamp the strict pattern does not cover
        [_line(uuid=None)],  # a line the adapter rejects
        [_line(), b"[1, 2]"],  # not an object
        [_line(message={"role": "user", "content": "NaN"})],  # bytes screened out
    ],
)
def test_unusual_files_go_back_to_the_adapter(tmp_path: Path, lines: list[bytes]) -> None:
    odd = tmp_path / "odd.jsonl"
    odd.write_bytes(b"\n".join(lines) + b"\n")
    normal = tmp_path / "normal.jsonl"
    normal.write_bytes(_line() + b"\n")
    odd_frame, normal_frame = normalize_files([odd, normal], [odd.read_bytes(), normal.read_bytes()])
    assert odd_frame is None
    assert normal_frame is not None and normal_frame["content"].to_list().count("hello") == 2
