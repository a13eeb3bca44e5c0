"""Review playbooks: show, diff, approve, reject, roll back, export.

Each mission has its own playbook line: `reverie playbook --mission coding list` works on the coding line,
and every sub-command works on lunar's by default.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import typer
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from cli.common import console, fail, home
from pipeline.missions.registry import DEFAULT_MISSION, mission_names
from pipeline.playbooks.store import PlaybookError

playbook_app = typer.Typer(help="Inspect, approve and roll back playbook versions.", no_args_is_help=True)
_line: dict[str, str] = {"mission": DEFAULT_MISSION}


@playbook_app.callback()
def choose_line(
    mission: str = typer.Option(
        DEFAULT_MISSION, "--mission", help=f"Whose playbook line: {' | '.join(mission_names())}."
    ),
) -> None:
    if mission not in mission_names():
        fail(f"--mission must be one of {', '.join(mission_names())}, got {mission!r}")
    _line["mission"] = mission


class ExportKind(StrEnum):
    memory = "memory"
    skill = "skill"
    prompt = "prompt"
    claude_md = "claude-md"
    agents_md = "agents-md"
    claude_memory = "claude-memory"
    agent_skill = "agent-skill"


AGENT_FILE_KINDS = {
    ExportKind.claude_md,
    ExportKind.agents_md,
    ExportKind.claude_memory,
    ExportKind.agent_skill,
}


def _store():
    from pipeline.playbooks.store import PlaybookStore

    mission = _line["mission"]
    store = PlaybookStore(home(), mission=mission)
    if not store.versions():
        fail(
            f"no {mission} playbook versions yet: run `reverie dream --mission {mission}` (or `reverie demo`)"
        )
    return store


def _version(store, version: str | None) -> str:
    if version is None:
        return store.versions()[-1]
    if version not in store.versions():
        fail(f"no playbook version {version!r}; versions: {', '.join(store.versions())}")
    return version


@playbook_app.command("list")
def list_versions() -> None:
    """Every version with its entry counts; the one in force from tomorrow on is marked."""
    from datetime import UTC, datetime, timedelta

    store = _store()
    in_force = store.in_force(datetime.now(UTC).date() + timedelta(days=1))
    reviews = store.reviews()
    table = Table("version", "parent", "entries", "approved", "rejected", "in force")
    for version in store.versions():
        book = store.load(version)
        review = reviews.get(version)
        table.add_row(
            version,
            book.parent or "-",
            str(sum(e.status != "retired" for e in book.entries)),
            str(len(review.approved) if review else 0),
            str(len(review.rejected) if review else 0),
            "*" if in_force and in_force.version == version else "",
        )
    console.print(table)


@playbook_app.command("show")
def show(version: str = typer.Option(None, "--version", help="Default: the latest version.")) -> None:
    """Render a version's PLAYBOOK.md."""
    store = _store()
    v = _version(store, version)
    console.print(Markdown(literal_markdown(store.markdown(v))))


_CODE_SPAN = re.compile(r"(`+)(.*?)\1", re.DOTALL)
_UNESCAPED_LT = re.compile(r"(?<!\\)<")  # PLAYBOOK.md already escapes session text; never twice


def literal_markdown(text: str) -> str:
    """Escape `<` outside code spans: Markdown reads `<n>` or `<str>` (the masks in error signatures) as HTML
    tags, which the terminal renderer drops, so an entry would lose the very words a reviewer checks."""
    parts, last = [], 0
    for match in _CODE_SPAN.finditer(text):
        parts.append(_UNESCAPED_LT.sub(r"\\<", text[last : match.start()]))
        parts.append(match.group(0))
        last = match.end()
    parts.append(_UNESCAPED_LT.sub(r"\\<", text[last:]))
    return "".join(parts)


@playbook_app.command("diff")
def diff(v1: str, v2: str) -> None:
    """Entries added, updated (old -> new values) and retired (with the reason) between two versions."""
    from pipeline.playbooks.changes import version_changes

    store = _store()
    result = version_changes(store.diff(_version(store, v1), _version(store, v2)))
    if result.is_empty:
        console.print(f"{v1} and {v2} have the same entries")
        return
    # Entry text comes from sessions (error signatures, Claude-written lessons): never read it as markup.
    table = Table("change", "entry", "agent / section", "field", "old -> new")
    for entry in result.added:
        table.add_row(
            "[green]added[/]",
            entry.id,
            f"{escape(entry.agent)} / {entry.section}",
            "text",
            escape(entry.text),
        )
    for change in result.updated:
        for index, field in enumerate(change.fields):
            table.add_row(
                "[yellow]updated[/]" if index == 0 else "",
                change.new.id if index == 0 else "",
                f"{escape(change.new.agent)} / {change.new.section}" if index == 0 else "",
                field.field,
                f"{escape(field.old)}\n[bold]->[/] {escape(field.new)}",
            )
    for change in result.retired:
        reason = change.new.retired_reason or "no reason recorded"
        table.add_row(
            "[red]retired[/]",
            change.new.id,
            f"{escape(change.new.agent)} / {change.new.section}",
            "reason",
            escape(reason),
        )
    for entry in result.removed:
        table.add_row(
            "[red]removed[/]",
            entry.id,
            f"{escape(entry.agent)} / {entry.section}",
            "text",
            escape(entry.text),
        )
    console.print(table)


@playbook_app.command("approve")
def approve(
    version: str, entries: list[str] = typer.Argument(None), reason: str = typer.Option("", "--reason")
) -> None:
    """Approve a version (or only some of its entries); it becomes the playbook in force from the next day."""
    store = _store()
    try:
        store.approve(
            _version(store, version),
            entry_ids=entries or None,
            by="cli",
            reason=reason or "approved by a person",
        )
    except PlaybookError as exc:
        fail(str(exc))
    console.print(f"approved {version}" + (f": {', '.join(entries)}" if entries else ""))


@playbook_app.command("reject")
def reject(version: str, entry: str, reason: str = typer.Option("", "--reason")) -> None:
    """Reject one entry of a version: it is never followed, and its history is kept."""
    store = _store()
    try:
        store.reject(_version(store, version), entry, by="cli", reason=reason or "rejected by a person")
    except (KeyError, PlaybookError) as exc:
        fail(str(exc))
    console.print(f"rejected {entry} in {version}")


@playbook_app.command("rollback")
def rollback(version: str, reason: str = typer.Option("", "--reason")) -> None:
    """Put an earlier approved version back in force (a pointer move; nothing is deleted)."""
    store = _store()
    try:
        store.rollback(_version(store, version), by="cli", reason=reason or "rolled back by a person")
    except PlaybookError as exc:
        fail(str(exc))
    console.print(f"{version} is in force again")


@playbook_app.command("export")
def export(
    kind: ExportKind = typer.Option(
        ..., "--as", help="memory | skill | prompt | claude-md | agents-md | claude-memory | agent-skill"
    ),
    to: Path = typer.Option(..., "--to"),
    version: str = typer.Option(None, "--version"),
    project: str = typer.Option(None, "--project", help="Only this project's lessons and the anywhere ones."),
) -> None:
    """Export a version: a Claude memory directory, an Agent Skill folder or a system-prompt snippet; or, for
    coding agents, the files they read as they are (claude-md: CLAUDE.md block in the project folder --to;
    agents-md: AGENTS.md block; claude-memory: Claude Code's auto-memory folder --to; agent-skill: a skill
    under the skills folder --to). Coding-agent exports take the version in force unless --version is given."""
    store = _store()
    if to.exists() and not to.is_dir():
        fail(f"--to must be a folder, and {to} is a file")
    if kind in AGENT_FILE_KINDS:
        _export_agent_files(store, kind, to, version, project)
        return
    try:
        paths = store.export(_version(store, version), kind.value, to)
    except PlaybookError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write the export under {to}: {exc.strerror or exc}")
    console.print(f"wrote {len(paths)} file(s) under {to}")


def _export_agent_files(store, kind: ExportKind, to: Path, version: str | None, project: str | None) -> None:
    from datetime import date, timedelta

    from pipeline.playbooks import agent_files

    if version is None:
        playbook = store.in_force(date.today() + timedelta(days=1))
        if playbook is None:
            fail("no playbook is in force: approve a version first (`reverie playbook approve V`)")
    else:
        playbook = store.load(_version(store, version))
    try:
        if kind == ExportKind.claude_md:
            paths = [agent_files.export_instructions_file(playbook, to / "CLAUDE.md", project)]
        elif kind == ExportKind.agents_md:
            paths = [agent_files.export_instructions_file(playbook, to / "AGENTS.md", project)]
        elif kind == ExportKind.claude_memory:
            paths = agent_files.export_claude_memory(playbook, to, project)
        else:
            paths = [agent_files.export_skill(playbook, to, project)]
    except (agent_files.NothingToExport, ValueError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write the export under {to}: {exc.strerror or exc}")
    console.print(f"wrote {len(paths)} file(s) from {playbook.version} under {to}")
