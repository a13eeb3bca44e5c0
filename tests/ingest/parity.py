"""The ingest parity corpus and its normalized output, shared by the parity test and the script that
records the expected output (`python tests/ingest/parity.py --record`).

The corpus is every fixture under `tests/fixtures/` (all formats, the real-world samples and the broken
files) plus the planted-secret corpus in every format, copied under one folder so stored paths can be made
relative. The expected tables under `tests/fixtures/ingest-parity/` were recorded from the ingest engine
as it was before the ingest speed work (commit b1b6007), so any change to what ingest stores shows up as
a row that differs.
"""

from __future__ import annotations

import shutil
import sys
from datetime import date
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
EXPECTED = FIXTURES / "ingest-parity"
TABLES = ("events", "sessions", "rejects")
INGEST_DATE = date(2026, 2, 1)
CORPUS_ROOT_TOKEN = "<corpus>"
_SKIPPED_FIXTURE_FOLDERS = {"ingest-parity"}


def write_parity_corpus(folder: Path) -> Path:
    """Copy the fixtures and write the planted-secret corpus (2 copies) under `folder`; return it."""
    sys.path.insert(0, str(HERE.parent / "redaction"))
    from planted import write_corpus

    for child in sorted(FIXTURES.iterdir()):
        if child.is_dir() and child.name not in _SKIPPED_FIXTURE_FOLDERS:
            shutil.copytree(child, folder / "fixtures" / child.name)
    write_corpus(folder / "planted", copies=2)
    return folder


def normalized_tables(home_root: Path, corpus: Path) -> dict[str, pl.DataFrame]:
    """Every lake table of the parity ingest, rows in a fixed order, the corpus's own location replaced by
    a token in every text column (the corpus lives in a temporary folder)."""
    from pipeline.home import ReverieHome
    from pipeline.lake import read_table

    home = ReverieHome.at(home_root)
    prefix = str(corpus)
    tables: dict[str, pl.DataFrame] = {}
    for name in TABLES:
        frame = read_table(home, name)
        strings = [c for c, dtype in frame.schema.items() if dtype == pl.String]
        frame = frame.with_columns(
            pl.col(c).str.replace_all(prefix, CORPUS_ROOT_TOKEN, literal=True) for c in strings
        )
        tables[name] = frame.sort(frame.columns, nulls_last=False, maintain_order=True)
    return tables


def run_parity_ingest(workdir: Path, workers: int = 1) -> dict[str, pl.DataFrame]:
    """Ingest the parity corpus into a fresh home under `workdir` and return its normalized tables."""
    from pipeline.home import ReverieHome
    from pipeline.ingest.engine import ingest

    corpus = write_parity_corpus(workdir / "corpus")
    home = ReverieHome.at(workdir / "home").ensure()
    ingest(home, [corpus], ingest_date=INGEST_DATE, workers=workers)
    return normalized_tables(home.root, corpus)


def _record(workdir: Path) -> None:
    EXPECTED.mkdir(parents=True, exist_ok=True)
    for name, frame in run_parity_ingest(workdir).items():
        frame.write_parquet(EXPECTED / f"{name}.parquet", compression="zstd")
        print(f"{name}: {frame.height} rows")


if __name__ == "__main__":
    import tempfile

    if sys.argv[1:] != ["--record"]:
        raise SystemExit("usage: python tests/ingest/parity.py --record")
    with tempfile.TemporaryDirectory() as tmp:
        _record(Path(tmp))
