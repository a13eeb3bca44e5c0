"""Where a session worked: the `project` and `branch` columns of `sessions`.

A lesson learned in one repository rarely holds in another ("run `pip install -e .` before `pytest`" is
about one repo's layout), so sessions carry the project and branch as categorical context the dreamers
can group by. Both come from what the agent recorded, never guessed from the task text:

- `project`: the name of the working folder, i.e. the last segment of the session's `cwd` (Claude Code's
  `cwd`, Codex's `session_meta.cwd`, the Agent SDK's init `cwd`), or of a `git_root`/`repo_root` context
  value when an adapter records one (preferred: a session started in `repo/src` belongs to `repo`). A cwd
  that is a home folder, `/`, `/tmp` or `/root` names no project. Without a cwd, a Claude Code transcript
  stored under `.../projects/<folder>/` gives its project folder: Claude Code encodes the cwd there with
  `/` and `.` replaced by `-`, which cannot be decoded exactly, so the folder name is used without its
  leading `-` (`-home-me-acme-api` -> `home-me-acme-api`). Otherwise null.
- `branch`: the git branch the agent recorded (Claude Code's `gitBranch`, Codex's `session_meta.git.branch`),
  else null.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

ROOT_KEYS = ("git_root", "repo_root")
BRANCH_KEYS = ("git_branch", "branch")
_NO_PROJECT = re.compile(r"^(?:/|/tmp|/root|/home/[^/]+|/Users/[^/]+|[A-Za-z]:\\Users\\[^\\]+|~)$")
_CLAUDE_PROJECT_FOLDER = re.compile(r"(?:^|/)projects/(-[^/]+)/[^/]+(?:/subagents/[^/]+)?$")


def folder_name(path: str) -> str | None:
    """The last segment of a POSIX or Windows path, or None when the path names no project folder."""
    cleaned = path.strip().rstrip("/\\") or path.strip()
    if not cleaned or _NO_PROJECT.match(cleaned):
        return None
    name = re.split(r"[/\\]", cleaned)[-1]
    return name or None


def _context(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str | bytes) and raw:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


def session_project(context: Any, source_file: str | None = None) -> str | None:
    """The session's project from its context (JSON text or dict) and first source file; see the module doc."""
    values = _context(context)
    for key in (*ROOT_KEYS, "cwd"):
        value = values.get(key)
        if isinstance(value, str) and value.strip():
            name = folder_name(value)
            if name is not None or key == "cwd":
                return name
    match = _CLAUDE_PROJECT_FOLDER.search((source_file or "").replace("\\", "/"))
    if match:
        return match.group(1).lstrip("-") or None
    return None


def session_branch(context: Any) -> str | None:
    """The git branch the agent recorded, or None."""
    values = _context(context)
    for key in BRANCH_KEYS:
        value = values.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
