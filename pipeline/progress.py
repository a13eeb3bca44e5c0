"""A progress hook that long steps report to, whoever is watching (a rich bar in the CLI, nothing in the UI).

Dagster runs the CLI's jobs in-process, so the CLI installs a reporter here before the run and the assets'
plain functions call it, without Dagster having to know.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

ProgressCallback = Callable[[int, int], None]
_reporters: dict[str, ProgressCallback] = {}


def reporter(task: str) -> ProgressCallback | None:
    """The callback for `task` ("ingest", "fly", ...), or None when nobody watches."""
    return _reporters.get(task)


@contextmanager
def reporting(task: str, callback: ProgressCallback) -> Iterator[None]:
    _reporters[task] = callback
    try:
        yield
    finally:
        _reporters.pop(task, None)
