"""Code versions that change when the code they name does.

An asset's `code_version` is a hash of the engine modules it calls (their source files on disk), so the UI
flags an asset built by older code, and a hand-kept "1" can never go stale. Files are hashed, not imported:
the code location stays quick to load.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_SOURCE_SUFFIXES = {".py", ".sql", ".yaml"}


def _sources(module: str) -> list[Path]:
    base = PROJECT_ROOT.joinpath(*module.split("."))
    if base.is_dir():
        return sorted(
            p for p in base.rglob("*") if p.suffix in _SOURCE_SUFFIXES and "__pycache__" not in p.parts
        )
    source = base.with_suffix(".py")
    if not source.exists():
        raise FileNotFoundError(f"code_version names {module}, which has no source under {PROJECT_ROOT}")
    return [source]


@cache
def engine_code_version(*modules: str) -> str:
    """First 12 hex of sha256 over the named modules' sources (folders: every .py, .sql and .yaml below them)."""
    digest = hashlib.sha256()
    for module in sorted(modules):
        for path in _sources(module):
            digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
