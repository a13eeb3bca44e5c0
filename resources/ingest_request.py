"""The paths one `reverie ingest` names, handed to the staging step in memory.

A module of the resources layer, not of `assets/`: the CLI may drop and re-import the `assets` modules to
widen the partition span (`assets.runs.cover_day`), and the paths must survive that.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

_requested_paths: list[str] = []


def requested_paths() -> list[str]:
    """The paths of the `ingest_request` in progress in this process (none outside one)."""
    return list(_requested_paths)


@contextmanager
def ingest_request(paths: Sequence[str]) -> Iterator[None]:
    """Hand the paths one `reverie ingest` names to the staging step of a run in this process, in memory.

    Not run config: Dagster stores run config, tags and metadata in the instance's run storage under
    REVERIE_HOME, and a path can hold a secret (a folder named after a token). CLI runs execute in process
    (`assets.runs.run_job`), so the step reads them here; staging stores paths only redacted.
    """
    _requested_paths[:] = list(paths)
    try:
        yield
    finally:
        _requested_paths.clear()
