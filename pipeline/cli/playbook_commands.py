"""Review playbooks: show, diff, approve, reject, roll back, export."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.markdown import Markdown
from rich.table import Table

from pipeline.cli.common import console, fail, home

playbook_app = typer.Typer(help="Inspect, approve and roll back playbook versions.", no_args_is_help=True)


class ExportKind(StrEnum):
    memory = "memory"
    skill = "skill"
    prompt = "prompt"


def _store():
    from pipeline.playbooks.store import PlaybookStore

    store = PlaybookStore(home())
    if not store.versions():
        fail("no playbook versions yet: run `reverie dream` (or `reverie demo`)")
    return store


def _version(store, version: str | None) -> str:
    if version is None:
        return store.versions()[-1]
    if version not in store.versions():
        fail(f"no playbook version {version!r}; versions: {', '.join(store.versions())}")
    return version


@playbook_app.command("list")
def list_versions() -> None:
    """Every version with its status and entry counts; the one in force today is marked."""
    store = _store()
    in_force = store.in_force_now()
    table = Table("version", "parent", "status", "entries", "approved entries", "in force")
    for version in store.versions():
        book = store.load(version)
        table.add_row(version, book.parent or "-", store.status(version), str(len(book.entries)),
                      str(len(store.approved_view(version).active_entries())), "*" if in_force and in_force.version == version else "")
    console.print(table)


@playbook_app.command("show")
def show(version: str = typer.Option(None, "--version", help="Default: the latest version.")) -> None:
    """Render a version's PLAYBOOK.md."""
    store = _store()
    v = _version(store, version)
    console.print(Markdown((store.path(v) / "PLAYBOOK.md").read_text()))


@playbook_app.command("diff")
def diff(v1: str, v2: str) -> None:
    """Entries added, removed and changed between two versions."""
    store = _store()
    result = store.diff(_version(store, v1), _version(store, v2))
    console.print(result.render())


@playbook_app.command("approve")
def approve(version: str, entries: list[str] = typer.Argument(None), reason: str = typer.Option("", "--reason")) -> None:
    """Approve a version (or only some of its entries); it becomes the playbook in force from the next day."""
    store = _store()
    try:
        store.approve(_version(store, version), entry_ids=entries or None, by="cli", reason=reason or "approved by a person")
    except ValueError as exc:
        fail(str(exc))
    console.print(f"approved {version}" + (f": {', '.join(entries)}" if entries else ""))


@playbook_app.command("reject")
def reject(version: str, entry: str, reason: str = typer.Option("", "--reason")) -> None:
    """Reject one entry of a version: it is never followed, and its history is kept."""
    store = _store()
    try:
        store.reject(_version(store, version), entry, by="cli", reason=reason or "rejected by a person")
    except (KeyError, ValueError) as exc:
        fail(str(exc))
    console.print(f"rejected {entry} in {version}")


@playbook_app.command("rollback")
def rollback(version: str, reason: str = typer.Option("", "--reason")) -> None:
    """Put an earlier approved version back in force (a pointer move; nothing is deleted)."""
    store = _store()
    try:
        store.rollback(_version(store, version), by="cli", reason=reason or "rolled back by a person")
    except ValueError as exc:
        fail(str(exc))
    console.print(f"{version} is in force again")


@playbook_app.command("export")
def export(
    kind: ExportKind = typer.Option(..., "--as", help="memory | skill | prompt"),
    to: Path = typer.Option(..., "--to"),
    version: str = typer.Option(None, "--version"),
) -> None:
    """Export a version as a Claude memory directory, an Agent Skill folder, or a system-prompt snippet."""
    store = _store()
    path = store.export(_version(store, version), kind.value, to)
    console.print(f"wrote {path}")
