"""The Claude Code adapter's typed (msgspec) path reads every line exactly as its generic (orjson dict) path:
the same rows with the same values and types, the same rejects, the same tallies. Checked on every Claude
Code fixture and on lines damaged in the ways where msgspec and orjson part (integers past 64 bits, numbers
past a double, bad UTF-8 in a key the adapter ignores, duplicated keys, wrong types, deep nesting)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline.ingest import claude_code
from pipeline.ingest.base import RecordTally
from pipeline.ingest.claude_code import ClaudeCodeAdapter
from pipeline.ingest.registry import CERTAIN, SNIFF_BYTES, sniff_head

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TYPED, GENERIC = ClaudeCodeAdapter(), ClaudeCodeAdapter(typed_lines=False)
DAMAGED_SOURCES = [
    FIXTURES / "claude-code/marot-spotter/short.jsonl",
    FIXTURES / "real-world/claude-code/spotter/ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl",
]
RAW_MARK = "\x00raw\x00"
DUPLICATE_MARK = "\x00duplicate\x00"
WRONG_VALUES: list[Any] = [None, 0, -1, 1.5, True, "", "x", [], {}, [1, "a"], {"k": 1}, 2**70, -(2**70)]
RAW_VALUES = [
    b"1e400",  # orjson: "number is infinity"; msgspec skips it unchecked in a key it ignores
    b"9" * 400,  # an integer no float holds
    b"123456789012345678901234567890",  # past 64 bits: orjson reads a float, msgspec an int
    b"18446744073709551615",
    b'"\xff\xfe"',  # not UTF-8
    b'"\\ud800"',  # a lone surrogate
    b"[" * 300 + b"]" * 300,
]
DUPLICATED_VALUES = [b"1e400", b'"\xff\xfe"', b'"\\ud800"', b"123456789012345678901234567890", b"[1,]"]
"""Not an integer of 309 digits or more: `claude_code_lines` tells the one difference that remains."""


def _read(adapter: ClaudeCodeAdapter, path: Path, data: bytes | None = None) -> tuple[str, dict]:
    tally = RecordTally()
    items = [dataclasses.astuple(item) for item in adapter.parse(path, data, tally)]
    return repr(items), tally.as_dict()  # repr: 1 and 1.0, aware and naive times, differ


def _claude_code_files() -> list[Path]:
    return [
        path
        for path in sorted(FIXTURES.rglob("*.jsonl"))
        if sniff_head(path, path.read_bytes()[:SNIFF_BYTES]) is claude_code.ADAPTER
    ]


def test_both_paths_read_every_claude_code_fixture_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = []
    read_typed_line = claude_code.read_typed_line

    def counting(*args: Any) -> bool:
        taken.append(read_typed_line(*args))
        return taken[-1]

    monkeypatch.setattr(claude_code, "read_typed_line", counting)
    files = _claude_code_files()
    assert len(files) >= 10
    for path in files:
        assert _read(TYPED, path) == _read(GENERIC, path), path
    assert sum(taken) > 0.9 * len(taken) > 100, "the typed path should read nearly every line"


def _paths(value: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if depth < 6 and isinstance(value, dict | list):
        for key in value if isinstance(value, dict) else range(len(value)):
            yield from _paths(value[key], (*prefix, key), depth + 1)


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


def _dumps(value: Any, raw: bytes) -> bytes:
    # the standard library writes what orjson refuses to (integers past 64 bits); RAW_MARK becomes `raw`
    text = json.dumps(value, ensure_ascii=False).encode()
    return text.replace(json.dumps(RAW_MARK).encode(), raw)


def _damaged(line: bytes) -> Iterator[bytes]:
    """The line with each of its values (6 levels deep) replaced in turn by a wrong value, then by a raw
    one, with each object's last key written twice, first with a bad value (orjson keeps the last), and
    with a key the typed schema does not know."""
    record = orjson.loads(line)
    for number, path in enumerate(_paths(record)):
        yield _dumps(_replaced(record, path, WRONG_VALUES[number % len(WRONG_VALUES)]), b"")
        yield _dumps(_replaced(record, path, RAW_MARK), RAW_VALUES[number % len(RAW_VALUES)])
    for number, path in enumerate([(), *_paths(record)]):
        target: Any = record
        for key in path:
            target = target[key]
        if isinstance(target, dict) and target:
            last_key = next(reversed(target))
            doubled = _replaced(record, path, {DUPLICATE_MARK: RAW_MARK, **target})
            text = _dumps(doubled, DUPLICATED_VALUES[number % len(DUPLICATED_VALUES)])
            yield text.replace(json.dumps(DUPLICATE_MARK).encode(), json.dumps(last_key).encode())
            yield _dumps(_replaced(record, path, {**target, "keyFromANewerVersion": {"k": 1}}), b"")


@pytest.mark.parametrize("source", DAMAGED_SOURCES, ids=lambda path: path.name)
def test_both_paths_read_damaged_lines_alike(tmp_path: Path, source: Path) -> None:
    lines = source.read_bytes().split(b"\n")
    path = tmp_path / source.name
    cases = 0
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        for damaged in _damaged(line):
            data = b"\n".join([*lines[:index], damaged, *lines[index + 1 : index + 2]])
            assert _read(TYPED, path, data) == _read(GENERIC, path, data), (index + 1, damaged[:300])
            cases += 1
    assert cases > 200


def test_a_transcript_opening_with_a_snapshot_is_certain_and_ends_the_search() -> None:
    path = FIXTURES / "claude-code/marot-spotter/short.jsonl"
    head = path.read_bytes()
    assert orjson.loads(head.split(b"\n", 1)[0])["type"] == "file-history-snapshot"
    assert claude_code.ADAPTER.sniff(path, head) == CERTAIN
    assert claude_code.ADAPTER.sniff(path, head.split(b"\n", 1)[0]) == 0.6  # nothing confirms it yet


def test_sniffing_asks_no_adapter_after_a_certain_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.ingest import registry

    class Asked:
        def __init__(self, name: str, confidence: float) -> None:
            self.name, self.confidence, self.asked = name, confidence, 0

        def sniff(self, path: Path, head: bytes) -> float:
            self.asked += 1
            return self.confidence

    first, certain, later = Asked("first", 0.7), Asked("certain", CERTAIN), Asked("later", CERTAIN)
    monkeypatch.setattr(registry, "adapters", lambda: [first, certain, later])
    assert registry.sniff_head(Path("x.jsonl"), b"{}") is certain
    assert (first.asked, certain.asked, later.asked) == (1, 1, 0)
