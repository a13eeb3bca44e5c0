"""Finding the log files under what the user pointed `reverie ingest` at, and saying what was left out and why.

Users point ingest at their home or a project folder, where the logs live in hidden folders
(`~/.claude/projects`, `~/.codex/sessions`) next to everything else. Hidden folders are skipped, except
those two, which are followed to where the transcripts are. Only regular files of bounded size are read:
a `.jsonl` that is a FIFO would block forever, a link to /dev/zero would never end, and dangling links and
link loops must not stop the run. Every path left out is reported with its reason, so "found 0 files" is
never the whole answer.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOG_SUFFIXES = {".jsonl", ".ndjson", ".json", ".log", ".jsonlines"}
MAX_SOURCE_BYTES = 2 * 1024**3
"""Bigger files are skipped with a reason: staging reads a file whole, and no session log is that big."""
AGENT_LOG_FOLDERS = {".claude": ("projects",), ".codex": ("sessions", "archived_sessions")}
"""Hidden folders that hold agent logs, and the subfolders of theirs that do (settings, caches and
credentials next to them are never read)."""
EXAMPLES_PER_REASON = 3


@dataclass
class Discovery:
    """The files to ingest, and every path left out with its reason."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def skipped_summary(self) -> dict[str, dict[str, object]]:
        """Skipped paths by reason: how many, and a few examples (what the CLI and asset metadata show)."""
        counts = Counter(reason for _, reason in self.skipped)
        return {
            reason: {
                "count": count,
                "examples": [p for p, r in self.skipped if r == reason][:EXAMPLES_PER_REASON],
            }
            for reason, count in counts.most_common()
        }


def discover(paths: Sequence[Path]) -> Discovery:
    """Log files under `paths`: named files as given, folders recursively (hidden entries and sidecar
    `*.meta.json` skipped, `.claude/projects` and `.codex/sessions` followed), resolved and sorted so runs
    are deterministic. Symlinked folders are not followed (a link loop could never end)."""
    result = Discovery()
    found: set[Path] = set()
    for given in paths:
        given = Path(given).expanduser()
        if given.is_dir() and not given.is_symlink():
            for path in _walk(given, result):
                _add(path, found, result)
        elif given.is_symlink() and given.is_dir():
            for path in _walk(Path(os.path.realpath(given)), result):
                _add(path, found, result)
        else:
            _add(given, found, result)
    result.files = sorted(found)
    return result


def discover_files(paths: Sequence[Path]) -> list[Path]:
    """Just the files of `discover`."""
    return discover(paths).files


def _walk(root: Path, result: Discovery) -> Iterator[Path]:
    pending = [root]
    seen_dirs: set[tuple[int, int]] = set()
    while pending:
        top = pending.pop()
        for dirpath, dirnames, filenames in os.walk(top, onerror=lambda e: _unreadable(e, result)):
            here = Path(dirpath)
            try:
                info = here.stat()
            except OSError:
                continue
            if (info.st_dev, info.st_ino) in seen_dirs:  # reached twice (a followed agent folder)
                dirnames[:] = []
                continue
            seen_dirs.add((info.st_dev, info.st_ino))
            kept = []
            for name in dirnames:
                child = here / name
                if child.is_symlink():
                    result.skipped.append((str(child), "symlinked folder (not followed)"))
                elif name in AGENT_LOG_FOLDERS:
                    followed = [child / sub for sub in AGENT_LOG_FOLDERS[name] if (child / sub).is_dir()]
                    pending.extend(followed)
                    if not followed:
                        result.skipped.append((str(child), f"hidden folder with no {name} logs"))
                elif name.startswith("."):
                    result.skipped.append((str(child), "hidden folder"))
                else:
                    kept.append(name)
            dirnames[:] = sorted(kept)
            for name in filenames:
                path = here / name
                if name.startswith("."):
                    result.skipped.append((str(path), "hidden file"))
                elif name.endswith(".meta.json"):
                    continue  # a subagent's sidecar: read by the Claude Code adapter with its transcript
                elif path.suffix.lower() not in LOG_SUFFIXES:
                    result.skipped.append((str(path), "not a log file name (.jsonl/.json/.ndjson/.log)"))
                else:
                    yield path


def _unreadable(error: OSError, result: Discovery) -> None:
    result.skipped.append((str(error.filename), f"unreadable folder ({error.strerror or error})"))


def _add(path: Path, found: set[Path], result: Discovery) -> None:
    """Keep `path` if it is (or links to) a regular file of bounded size; else record why not."""
    try:
        info = path.stat()  # follows links
    except FileNotFoundError:
        reason = "dangling symlink" if path.is_symlink() else "no such file"
        result.skipped.append((str(path), reason))
        return
    except OSError as error:  # a link loop (ELOOP), a permission error
        result.skipped.append((str(path), f"unreadable ({error.strerror or error})"))
        return
    if not stat.S_ISREG(info.st_mode):
        kind = "folder" if stat.S_ISDIR(info.st_mode) else "FIFO, device or socket"
        result.skipped.append((str(path), f"not a regular file ({kind})"))
        return
    if info.st_size > MAX_SOURCE_BYTES:
        result.skipped.append((str(path), f"larger than {MAX_SOURCE_BYTES // 1024**3} GB"))
        return
    try:
        found.add(path.resolve())
    except (OSError, RuntimeError) as error:
        result.skipped.append((str(path), f"unresolvable path ({error})"))
