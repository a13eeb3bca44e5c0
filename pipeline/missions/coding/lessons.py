"""Reading the lessons: the crew reads the CLAUDE.md / AGENTS.md block the playbook in force exports for its
repository, and turns each line back into something it can act on.

The export is rendered by `pipeline.playbooks.agent_files` exactly as `reverie playbook export` writes it
(scoped to the task's project: its own lessons and the anywhere ones), then parsed back from the file's
text: a bullet per entry, `- <instruction> [<entry id>]`. The instruction templates are the coding miners'
(`pipeline.dreaming.coding_miners.lesson_text`): "In `p`: run `A` before `B`", "after the error `E`, run `X`
next", "use `X`, not `Y`" (or "edit files with"), "avoid `X`". A line that matches none of them (a lunar
parameter rule, a hand-written note) is kept as text but never acted on.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pipeline.dreaming.coding_miners import code_literal
from pipeline.error_signatures import error_signature
from pipeline.evaluation_cache import playbook_identity
from pipeline.playbooks.agent_files import BEGIN, END, NothingToExport, export_instructions_file
from pipeline.playbooks.model import Playbook
from pipeline.playbooks.safe_text import clean_value

LessonKind = Literal["precondition", "recovery", "substitution", "hazard"]
_BULLET = re.compile(r"^- (?P<text>.*) \[(?P<id>[^\[\]\s]+)\]$")
_SCOPE = re.compile(r"^(?:Anywhere|In `(?P<project>[^`]*)`): (?P<rest>.*)$")
_TEMPLATES: tuple[tuple[LessonKind, re.Pattern[str]], ...] = (
    ("precondition", re.compile(r"^run `(?P<a>[^`]+)` before `(?P<b>[^`]+)`\.")),
    ("recovery", re.compile(r"^after the error `(?P<e>[^`]+)`, run `(?P<b>[^`]+)` next\.")),
    ("substitution", re.compile(r"^(?:edit files with|use) `(?P<b>[^`]+)`, not `(?P<a>[^`]+)`\.")),
    ("hazard", re.compile(r"^avoid `(?P<b>[^`]+)`\.")),
)
SIGNATURE_CHARS = 120  # as the dream window cleans error signatures (pipeline/dreaming/window.py)


@dataclass(frozen=True)
class Lesson:
    """One exported instruction the crew can act on. `action` is what to do (run next, use, avoid, or the
    command a prerequisite goes before); `other` is the prerequisite (precondition) or the action to replace
    (substitution); `error` the error a recovery answers; `error_marker` (oracle lessons only) a fragment of
    the tool output that identifies the error instead."""

    entry_id: str
    kind: LessonKind
    action: str
    scope: str | None = None
    other: str | None = None
    error: str | None = None
    error_marker: str | None = None
    text: str = ""

    def applies_to(self, project: str) -> bool:
        return self.scope is None or self.scope == project

    def answers(self, output: str) -> bool:
        """Whether a failed tool output shows the error this recovery is about."""
        if self.error_marker is not None:
            return self.error_marker in output
        if self.error is None:
            return False
        seen = observed_signature(output)
        wanted = self.error.removesuffix("\u2026")
        return seen == self.error or (self.error.endswith("\u2026") and seen.startswith(wanted))


def observed_signature(output: str) -> str:
    """A tool output's error signature in the form lesson texts quote it: the lake's signature, cleaned as the
    dream window cleans it, then made a code literal as the miners write it (without the backticks)."""
    literal = code_literal(clean_value(error_signature(output), SIGNATURE_CHARS)).strip("`")
    return literal.replace("\u2039", "<").replace("\u203a", ">")


def parse_instructions(text: str) -> list[Lesson]:
    """The actionable lessons in an exported CLAUDE.md / AGENTS.md: only the managed block is read."""
    start, end = text.find(BEGIN), text.find(END)
    if start == -1 or end < start:
        return []
    lessons = []
    for line in text[start + len(BEGIN) : end].splitlines():
        bullet = _BULLET.match(line.strip())
        scoped = _SCOPE.match(bullet.group("text")) if bullet else None
        if bullet is None or scoped is None:
            continue
        for kind, template in _TEMPLATES:
            found = template.match(scoped.group("rest"))
            if found is None:
                continue
            # Exports print placeholders as `‹path›` so no session text reads as markup; actions say `<path>`.
            groups = {
                k: v.replace("\u2039", "<").replace("\u203a", ">") if v else v
                for k, v in found.groupdict().items()
            }
            lessons.append(
                Lesson(
                    entry_id=bullet.group("id"),
                    kind=kind,
                    action=groups["b"],
                    scope=scoped.group("project"),
                    other=groups.get("a"),
                    error=groups.get("e"),
                    text=bullet.group("text"),
                )
            )
            break
    return lessons


def render_instructions(playbook: Playbook | None, project: str, filename: str = "CLAUDE.md") -> str:
    """The instructions file the export writes for `project` (empty when nothing approved applies)."""
    if playbook is None:
        return ""
    return _rendered(playbook_identity(playbook), playbook.model_dump_json(), project, filename)


@lru_cache(maxsize=256)
def _rendered(identity: str, playbook_json: str, project: str, filename: str) -> str:
    # Keyed by the playbook's identity (version + content hash): a batch renders each project's file once.
    playbook = Playbook.model_validate_json(playbook_json)
    with tempfile.TemporaryDirectory(prefix="reverie-coding-") as folder:
        path = Path(folder) / project / filename
        try:
            export_instructions_file(playbook, path, project=project)
        except NothingToExport:
            return ""
        return path.read_text(encoding="utf-8")


def lessons_for(playbook: Playbook | None, project: str, filename: str = "CLAUDE.md") -> list[Lesson]:
    """What a crew working in `project` reads and may follow: its export, parsed back, scope checked."""
    return [
        lesson
        for lesson in parse_instructions(render_instructions(playbook, project, filename))
        if lesson.applies_to(project)
    ]
