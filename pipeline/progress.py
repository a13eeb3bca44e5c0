"""A progress hook that long steps report to, whoever is watching (a rich bar in the CLI, nothing in the UI).

Dagster runs the CLI's jobs in-process, so the CLI installs a reporter here before the run (`reporting`) and
the engine's long loops (`stage_files`, `fly_batch`, the evaluation's arms) call it through `progress_for`,
without Dagster or the assets having to know. An explicit callback passed by a caller wins over the hook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

ProgressCallback = Callable[[int, int], None]
Task = Literal["ingest", "fly", "evaluate"]
_reporters: dict[str, ProgressCallback] = {}


def progress_for(task: Task, explicit: ProgressCallback | None = None) -> ProgressCallback | None:
    """The callback a long step calls as `progress(done, total)`: the caller's own if it passed one, else the
    reporter installed for `task`, else None (nobody watches)."""
    return explicit if explicit is not None else _reporters.get(task)


@contextmanager
def reporting(task: Task, callback: ProgressCallback) -> Iterator[None]:
    """Install `callback` as the reporter for `task` while the block runs (the CLI's progress bars)."""
    _reporters[task] = callback
    try:
        yield
    finally:
        _reporters.pop(task, None)
