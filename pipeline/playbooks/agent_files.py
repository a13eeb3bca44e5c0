"""Exports into the files coding agents read as they are: CLAUDE.md and AGENTS.md blocks, Claude Code's auto
memory folder, and an Agent Skill.

- CLAUDE.md (Claude Code) and AGENTS.md (Codex and other agents) are the user's files: the playbook lives
  between two marker comments, and an export replaces exactly that block, atomically, leaving every other
  line alone. No marker, no block: the block is appended.
- Claude Code's auto memory (`~/.claude/projects/<project>/memory/`) loads the first 200 lines of
  `MEMORY.md` (or 25 KB) at session start and reads topic files on demand: the index stays a short
  managed block, and each section's lessons go to a `reverie-*.md` topic file owned by the export.
- An Agent Skill follows the agentskills specification: a lowercase-hyphenated `name` equal to its folder,
  a description that says what the skill holds and when to use it, a body under 500 lines.

Only approved entries are exported; entries scoped to a project go only where that project's lessons are
asked for. Entry texts are already single-line templates with session values quoted as code; what could
still close a marker comment is neutralised here.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pipeline.playbooks.model import Entry, Playbook, Section

BEGIN = "<!-- reverie:begin playbook -->"
END = "<!-- reverie:end playbook -->"
MEMORY_INDEX_LINES = 200
SKILL_NAME = "reverie-playbook"
SKILL_MAX_LINES = 500
TOPICS = {
    Section.PROCEDURES: ("reverie-procedures.md", "Procedures and recoveries"),
    Section.MISTAKES: ("reverie-mistakes.md", "Mistakes to avoid"),
    Section.RULES: ("reverie-rules.md", "Rules"),
    Section.STRATEGIES: ("reverie-strategies.md", "Strategies"),
}


class NothingToExport(ValueError):
    """The version holds no approved entry for this scope: exporting would write an empty file."""


def entry_scope(entry: Entry) -> str | None:
    """The project an entry is scoped to (None: anywhere)."""
    if entry.rule is None:
        return None
    for condition in entry.rule.conditions:
        if condition.feature == "project" and condition.in_set:
            return str(condition.in_set[0])
    return None


def exported_entries(playbook: Playbook, project: str | None = None) -> list[Entry]:
    """Approved entries for `project` (its own and the anywhere ones; all of them when project is None),
    ordered anywhere-first then by project, section and id, so two exports of a version are identical."""
    chosen = [e for e in playbook.active_entries() if project is None or entry_scope(e) in (None, project)]
    if not chosen:
        where = f" for project {project!r}" if project else ""
        raise NothingToExport(f"playbook {playbook.version} has no approved entry{where}: nothing exported")
    return sorted(chosen, key=lambda e: (entry_scope(e) or "", list(Section).index(e.section), e.id))


def _plain(text: str) -> str:
    """One line that cannot end a marker comment or start a heading."""
    line = " ".join(text.split())
    return line.replace("<!--", "<!\u200b--").replace("-->", "-\u200b->").lstrip("#")


def _bullets(entries: list[Entry]) -> list[str]:
    return [f"- {_plain(e.text)} [{e.id}]" for e in entries]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_block(existing: str, block: list[str]) -> str:
    """`existing` with the managed block replaced (or appended): the user's lines are kept byte for byte."""
    body = "\n".join([BEGIN, *block, END])
    start, end = existing.find(BEGIN), existing.find(END)
    if start != -1 and end > start:
        return existing[:start] + body + existing[end + len(END) :]
    separator = (
        "" if not existing or existing.endswith("\n\n") else ("\n" if existing.endswith("\n") else "\n\n")
    )
    return existing + separator + body + "\n"


def _instruction_block(playbook: Playbook, entries: list[Entry]) -> list[str]:
    return [
        f"## Lessons from past sessions (playbook {playbook.version})",
        "",
        "Tested against the outcomes of earlier sessions; each ends with its evidence and entry id.",
        "Follow the ones that apply to the task at hand.",
        "",
        *_bullets(entries),
    ]


def export_instructions_file(playbook: Playbook, path: Path, project: str | None = None) -> Path:
    """Write the managed block into CLAUDE.md or AGENTS.md at `path` (created when absent)."""
    entries = exported_entries(playbook, project)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    _atomic_write(path, replace_block(existing, _instruction_block(playbook, entries)))
    return path


def export_claude_memory(playbook: Playbook, folder: Path, project: str | None = None) -> list[Path]:
    """Claude Code auto memory: a short index block in MEMORY.md and one topic file per section."""
    entries = exported_entries(playbook, project)
    written = []
    index = [f"Lessons from past sessions (playbook {playbook.version}), tested on their outcomes:"]
    for section, (name, title) in TOPICS.items():
        chosen = [e for e in entries if e.section == section]
        topic = folder / name
        if not chosen:
            topic.unlink(missing_ok=True)  # ours: an earlier export wrote it, this version has none
            continue
        _atomic_write(topic, "\n".join([f"# {title}", "", *_bullets(chosen)]) + "\n")
        written.append(topic)
        index.append(f"- {title}: {len(chosen)} lessons in {name}")
    memory = folder / "MEMORY.md"
    existing = memory.read_text(encoding="utf-8") if memory.exists() else ""
    text = replace_block(existing, index)
    if len(text.splitlines()) > MEMORY_INDEX_LINES:
        raise ValueError(
            f"{memory} would exceed the {MEMORY_INDEX_LINES} lines Claude Code loads: trim it first"
        )
    _atomic_write(memory, text)
    return [memory, *written]


def skill_description(entries: list[Entry]) -> str:
    kinds = {e.rule.kind for e in entries if e.rule}
    what = []
    if "precondition" in kinds:
        what.append("setup steps to run before tests or builds")
    if "substitution" in kinds:
        what.append("which command or tool to use instead of one that fails")
    if "recovery" in kinds:
        what.append("how to recover from known errors")
    if "hazard" in kinds:
        what.append("commands to avoid")
    held = ", ".join(what) or "tested rules from past sessions"
    return (
        f"Lessons learned from past agent sessions: {held}. Use before running tests, installing "
        "dependencies, editing files or retrying after an error in a repository these lessons cover."
    )


def export_skill(playbook: Playbook, skills_dir: Path, project: str | None = None) -> Path:
    """An Agent Skill folder `reverie-playbook/SKILL.md` under `skills_dir` (e.g. `.claude/skills`)."""
    entries = exported_entries(playbook, project)
    body = [
        f"# Lessons from past sessions (playbook {playbook.version})",
        "",
        "Each lesson says what to do, where it holds and the evidence behind it. Follow the ones whose",
        "scope matches the repository you are working in.",
        "",
        *_bullets(entries),
    ]
    if len(body) > SKILL_MAX_LINES - 5:
        raise ValueError(f"the skill body would exceed {SKILL_MAX_LINES} lines: export one project at a time")
    front = [
        "---",
        f"name: {SKILL_NAME}",
        f"description: {json.dumps(skill_description(entries))}",
        "---",
        "",
    ]
    path = skills_dir / SKILL_NAME / "SKILL.md"
    _atomic_write(path, "\n".join(front + body) + "\n")
    return path
