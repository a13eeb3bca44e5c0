"""Where a window's sessions come from, so an entry can say how many distinct sources stand behind it.

The approval rule (`PlaybookStore.approval_problem`) refuses an entry whose supporting sessions all share
one day, one ingested file, one project or one user, when the window held more than one: that is what one
attacker's planted logs, or one repository's poisoned instructions, look like from here. This module only
counts; the store decides.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl

from pipeline.home import ReverieHome
from pipeline.lake import scan_table
from pipeline.playbooks.model import SourceSpread

AXES = ("days", "source_files", "projects", "users")
# Context keys that name a session's project or user, most specific first (formats differ: Claude Code and
# Codex record `cwd`; native producers may say `project` or `repository`).
PROJECT_KEYS = ("project", "repository", "repo", "cwd")
USER_KEYS = ("user", "user_id", "username", "user_email")


def _first_key(keys: tuple[str, ...]) -> pl.Expr:
    return pl.coalesce(
        [pl.col("context").str.json_path_match(f"$.{key}").cast(pl.String, strict=False) for key in keys]
    )


def load_origins(home: ReverieHome, days: list[str], sessions: pl.DataFrame) -> pl.DataFrame:
    """session_id, days, source_files, projects, users for `sessions` (session_id, date, context);
    unknown values are null. A session's source file is the one its `session_start` came from."""
    files = (
        scan_table(home, "events", days)
        .filter(pl.col("type") == "session_start")  # one small row per session, not the whole transcript
        .select("session_id", "source_file")
        .group_by("session_id")
        .agg(pl.col("source_file").drop_nulls().min())
        .collect()
    )
    origins = sessions.select(
        "session_id",
        pl.col("date").cast(pl.String).alias("days"),
        _first_key(PROJECT_KEYS).alias("projects"),
        _first_key(USER_KEYS).alias("users"),
    )
    return origins.join(files.rename({"source_file": "source_files"}), on="session_id", how="left").select(
        "session_id", *AXES
    )


def source_spread(origins: pl.DataFrame | None, sessions: Iterable[str]) -> list[SourceSpread] | None:
    """Distinct known origins of `sessions` per axis, next to the window's; None without origins."""
    if origins is None:
        return None
    ids = pl.Series(
        "session_id", list(sessions) if not isinstance(sessions, np.ndarray) else sessions, pl.String
    )
    members = origins.filter(pl.col("session_id").is_in(ids))
    return [
        SourceSpread(
            axis=axis,
            distinct=members[axis].drop_nulls().n_unique(),
            in_window=origins[axis].drop_nulls().n_unique(),
        )
        for axis in AXES
    ]
