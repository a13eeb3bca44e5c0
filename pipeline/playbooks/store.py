"""Versioned playbooks on disk, and the review decisions that decide which one is in force.

Versions are immutable folders (`playbooks/<version>/playbook.json` + `PLAYBOOK.md`). Approvals, rejections
and rollbacks never edit a version: they are appended to `playbooks/decisions.jsonl` (who, when, what, why)
and replayed to know which entries are approved. So nothing is ever deleted, every pointer move is audited,
and a backfill that rewrites identical versions is a no-op.

Each mission has its own line of versions (`line_root`): lunar entries are parameter ranges, coding entries
scoped instructions, and one mission's sessions must never dream into the playbook the other's crew reads.
The lunar line stays where every home has always kept it (`playbooks/`), so existing homes need no
migration; another mission's line lives in `playbooks/<mission>/` with its own decision log.
On an object-store lake the same files live under the lake's `_playbooks/` (a mission's line under
`_playbooks/<mission>/`), written with conditional creates instead of renames and appends
(`pipeline.playbooks.object_files`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
from filelock import FileLock

from pipeline.events import PLAYBOOK_ENTRIES_SCHEMA
from pipeline.home import ReverieHome
from pipeline.lake import object_lake, replace_mission_rows
from pipeline.playbooks.export import ExportError, ExportKind, export_playbook
from pipeline.playbooks.model import Entry, EntryStatus, Playbook
from pipeline.playbooks.object_files import PLAYBOOKS_PREFIX, ObjectPlaybookFiles
from pipeline.playbooks.render import render_markdown
from pipeline.storage import COMMIT_ATTEMPTS

PLAYBOOK_JSON = "playbook.json"
PLAYBOOK_MD = "PLAYBOOK.md"
DECISIONS_LOG = "decisions.jsonl"
MIN_SUPPORT = 3
MIN_SOURCES = 2
AXIS_NAMES = {"days": "day", "source_files": "source file", "projects": "project", "users": "user"}
VERSION_PREFIX = "pb-"
DEFAULT_LINE = "lunar"  # the line in `playbooks/` itself (see the module docstring)
_log = logging.getLogger(__name__)


class PlaybookError(Exception):
    """A review or storage request that cannot be honoured; the message says what to do instead."""


def version_for(day: date) -> str:
    """Version ids come from the dream partition, never the clock, so backfills reproduce nightly runs."""
    return f"{VERSION_PREFIX}{day.isoformat()}"


def line_root(home: ReverieHome, mission: str = DEFAULT_LINE) -> Path:
    """Where a mission's playbook line lives: `playbooks/` for lunar, `playbooks/<mission>/` otherwise."""
    if mission == DEFAULT_LINE:
        return home.playbooks
    if not mission.isidentifier():
        raise PlaybookError(f"a mission name is a plain identifier (letters, digits, _), got {mission!r}")
    return home.playbooks / mission


def serialize(playbook: Playbook) -> str:
    return playbook.model_dump_json(indent=2) + "\n"


@dataclass
class ReviewState:
    """Replayed review decisions for one version."""

    approved: set[str] = field(default_factory=set)
    rejected: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class PlaybookDiff:
    old: str
    new: str
    added: list[Entry]
    removed: list[Entry]
    changed: list[tuple[Entry, Entry, list[str]]]  # (old, new, fields that differ)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


class PlaybookStore:
    def __init__(
        self, home: ReverieHome, min_support: int = MIN_SUPPORT, *, mission: str = DEFAULT_LINE
    ) -> None:
        self.home = home
        self.mission = mission
        self.root = line_root(home, mission)
        self.min_support = min_support
        remote = object_lake(home)
        prefix = PLAYBOOKS_PREFIX if mission == DEFAULT_LINE else f"{PLAYBOOKS_PREFIX}/{mission}"
        self.objects = ObjectPlaybookFiles(remote, prefix) if remote is not None else None

    # --- versions ---------------------------------------------------------------------------------------

    def versions(self) -> list[str]:
        """All written versions, oldest first (ids sort by their partition date)."""
        if self.objects is not None:
            return self.objects.versions(PLAYBOOK_JSON)
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / PLAYBOOK_JSON).is_file())

    def path(self, version: str) -> Path:
        return self.root / version

    def location(self, version: str) -> str:
        """Where a version's files are: a folder, or a URL on an object-store lake."""
        return self.objects.location(version) if self.objects is not None else str(self.path(version))

    def _read(self, version: str, name: str) -> str | None:
        if self.objects is not None:
            return self.objects.read(version, name)
        file = self.path(version) / name
        return file.read_text() if file.is_file() else None

    def load(self, version: str, *, with_reviews: bool = True) -> Playbook:
        """A version as written, with entry statuses from the review log unless `with_reviews` is False."""
        text = self._read(version, PLAYBOOK_JSON)
        if text is None:
            raise PlaybookError(
                f"no playbook version {version!r}; known versions: {', '.join(self.versions()) or 'none'}"
            )
        playbook = Playbook.model_validate_json(text)
        return self._with_reviews(playbook) if with_reviews else playbook

    def markdown(self, version: str) -> str:
        """A version's PLAYBOOK.md (rendered again if its writer stopped before writing it)."""
        text = self._read(version, PLAYBOOK_MD)
        return text if text is not None else render_markdown(self.load(version, with_reviews=False))

    def write(self, playbook: Playbook) -> Path:
        """Write a new version atomically (temp folder + rename). Rewriting identical content is a no-op;
        different content under an existing version id is refused, because versions are immutable."""
        target = self.path(playbook.version)
        content = serialize(playbook)
        if self.objects is not None:
            return self._write_object(playbook, content)
        if (target / PLAYBOOK_JSON).is_file():
            if (target / PLAYBOOK_JSON).read_text() == content:
                return target
            raise PlaybookError(
                f"version {playbook.version} already exists with different content; versions are immutable "
                "(dream a later partition, or inspect the lake for changed sessions)"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{playbook.version}.{uuid.uuid4().hex}.tmp"
        tmp.mkdir()
        (tmp / PLAYBOOK_JSON).write_text(content)
        (tmp / PLAYBOOK_MD).write_text(render_markdown(playbook))
        try:
            os.rename(tmp, target)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if (target / PLAYBOOK_JSON).is_file() and (target / PLAYBOOK_JSON).read_text() == content:
                return target  # a concurrent writer produced the same version
            raise
        return target

    def _write_object(self, playbook: Playbook, content: str) -> Path:
        """The conditional create of playbook.json commits the version; PLAYBOOK.md follows (see `markdown`)."""
        assert self.objects is not None
        created = self.objects.create(playbook.version, PLAYBOOK_JSON, content)
        if not created and self.objects.read(playbook.version, PLAYBOOK_JSON) != content:
            raise PlaybookError(
                f"version {playbook.version} already exists with different content; versions are "
                "immutable (dream a later partition, or inspect the lake for changed sessions)"
            )
        self.objects.create(playbook.version, PLAYBOOK_MD, render_markdown(playbook))
        return self.path(playbook.version)

    def _partition(self, version: str) -> str:
        return version.removeprefix(VERSION_PREFIX)

    def latest(self, before: date | None = None) -> Playbook | None:
        """The newest version (any status) dreamed for a partition strictly before `before`."""
        candidates = [v for v in self.versions() if before is None or self._partition(v) < before.isoformat()]
        return self.load(candidates[-1]) if candidates else None

    def in_force(self, day: date) -> Playbook | None:
        """The playbook agents follow on `day`: the latest version dreamed before it with approved entries."""
        reviews = self.reviews()
        for version in reversed(self.versions()):
            if self._partition(version) < day.isoformat() and reviews.get(version, ReviewState()).approved:
                return self.load(version)
        return None

    # --- reviews ----------------------------------------------------------------------------------------

    def _log(self) -> Path:
        return self.root / DECISIONS_LOG

    def decisions(self) -> list[dict]:
        """Every decision in the log, oldest first.

        A line that does not parse is skipped with a warning rather than breaking every playbook command:
        the usual cause is a last line torn by a power cut, which the next append repairs (`_append`).
        """
        if self.objects is not None:
            lines = self.objects.decision_lines()
        elif self._log().exists():
            lines = self._log().read_bytes().split(b"\n")
        else:
            return []
        records = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict) or not {"action", "version", "entries"} <= record.keys():
                _log.warning(
                    "%s line %d is not a complete decision (torn write?); ignored", self._log(), number
                )
                continue
            records.append(record)
        return records

    def _append(self, action: str, version: str, entries: list[str], by: str, reason: str | None) -> None:
        """Append one decision unless it would change nothing (see `_already_decided`), under a file lock
        so two reviewers never interleave; a torn last line is moved aside first (`_repair_tail`)."""
        self.root.mkdir(parents=True, exist_ok=True)
        record = {
            "at": datetime.now(UTC).isoformat(),
            "by": by,
            "action": action,
            "version": version,
            "entries": entries,
            "reason": reason,
        }
        if self.objects is not None:
            self._append_object(record)
            return
        with FileLock(str(self._log()) + ".lock"):
            self._repair_tail()
            if self._already_decided(action, version, entries, by, reason):
                return
            with self._log().open("a") as log:
                log.write(json.dumps(record, sort_keys=True) + "\n")
                log.flush()
                os.fsync(log.fileno())

    def _append_object(self, record: dict) -> None:
        """Optimistic append: take the next number as seen, decide, create; on a lost race look again."""
        assert self.objects is not None
        line = json.dumps(record, sort_keys=True)
        for _ in range(COMMIT_ATTEMPTS):
            position = len(self.objects.decision_lines())
            if self._already_decided(
                record["action"], record["version"], record["entries"], record["by"], record["reason"]
            ):
                return
            if self.objects.append_decision(position, line):
                return
        raise PlaybookError(f"could not record the decision after {COMMIT_ATTEMPTS} attempts; try again")

    def _already_decided(
        self, action: str, version: str, entries: list[str], by: str, reason: str | None
    ) -> bool:
        """Re-running approve, reject or an evaluation that promotes must not add duplicate lines: a
        decision whose effect is already the replayed state is not appended again (a rollback, when the
        last decision is that very rollback), unless it gives a reason of its own: a reviewer who says why
        is a review worth keeping, so concurrent reviewers lose none. The same reviewer repeating the same
        reason is a re-run. A real change of mind (approve, reject, approve) is always recorded."""
        if not self._changes_nothing(action, version, entries):
            return False
        if reason is None:
            return True
        last = next((d for d in reversed(self.decisions()) if d.get("version") == version), None)
        return last is not None and (last.get("by"), last.get("reason")) == (by, reason)

    def _changes_nothing(self, action: str, version: str, entries: list[str]) -> bool:
        if action == "rollback":
            last = self.decisions()[-1:] or [{}]
            return last[0].get("action") == "rollback" and last[0].get("version") == version
        state = self.reviews().get(version, ReviewState())
        if action == "approve":
            return set(entries) <= state.approved
        if action == "reject":
            return set(entries) <= state.rejected
        return False

    def _repair_tail(self) -> None:
        """A log not ending in a newline was cut mid-write: keep its last line if it is a whole decision
        (only the newline was lost), otherwise move the torn bytes to `decisions.jsonl.torn` and cut them."""
        log = self._log()
        if not log.exists():
            return
        data = log.read_bytes()
        if not data or data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        tail = data[cut:]
        try:
            whole = isinstance(json.loads(tail), dict)
        except ValueError:
            whole = False
        with log.open("r+b") as handle:
            if whole:
                handle.seek(0, os.SEEK_END)
                handle.write(b"\n")
            else:
                with log.with_name(log.name + ".torn").open("ab") as torn:
                    torn.write(tail + b"\n")
                handle.truncate(cut)
            handle.flush()
            os.fsync(handle.fileno())
        if not whole:
            _log.warning("%s: a torn last line was moved to %s.torn", log, log.name)

    def reviews(self) -> dict[str, ReviewState]:
        """Replay the decision log into the current approved/rejected entry sets per version."""
        states: dict[str, ReviewState] = {}
        for record in self.decisions():
            version, entries = record["version"], set(record["entries"])
            state = states.setdefault(version, ReviewState())
            if record["action"] == "approve":
                state.approved |= entries
                state.rejected -= entries
            elif record["action"] == "reject":
                state.approved -= entries
                state.rejected |= entries
            elif record["action"] == "rollback":
                for later, later_state in states.items():
                    if self._partition(later) > self._partition(version):
                        later_state.approved.clear()
        return states

    def _with_reviews(self, playbook: Playbook) -> Playbook:
        state = self.reviews().get(playbook.version, ReviewState())
        entries = [
            e.model_copy(update={"status": EntryStatus.APPROVED})
            if e.id in state.approved and e.status != EntryStatus.RETIRED
            else e
            for e in playbook.entries
        ]
        status = "approved" if state.approved else ("rejected" if state.rejected else playbook.status)
        return playbook.model_copy(update={"entries": entries, "status": status})

    def approval_problem(self, entry: Entry) -> str | None:
        """Why an entry may never be approved, or None. The rule (docs/playbooks.md, "Approval"): live;
        backed by at least `min_support` distinct sessions; and on every source axis the window could tell
        apart (days, source files, projects, users), drawn from at least `MIN_SOURCES` distinct origins.
        So neither one lucky session nor one source (a user, a repository, a day's worth of planted logs)
        can steer every future agent, whatever its statistics. An entry without recorded sources (written
        before they were recorded) fails closed."""
        if entry.status == EntryStatus.RETIRED:
            return "retired"
        if entry.support < self.min_support:
            return f"fewer than {self.min_support} distinct supporting sessions ({entry.support})"
        if entry.provenance is None:
            return "its sources were not recorded (dream a later partition to re-derive it)"
        scoped = any(
            c.feature == "project" and c.in_set for c in (entry.rule.conditions if entry.rule else [])
        )
        for spread in entry.provenance:
            # A lesson scoped to one project is exported only to that project, and its evidence can only come
            # from it: the projects axis guards the lessons that would reach every repository.
            if scoped and spread.axis == "projects":
                continue
            if spread.applies and spread.distinct < MIN_SOURCES:
                name = AXIS_NAMES[spread.axis]
                return (
                    f"all its supporting sessions come from one {name} (the window held {spread.in_window} "
                    f"{name}s); it needs evidence from at least {MIN_SOURCES} distinct {name}s"
                )
        return None

    def approvable(self, entry: Entry) -> bool:
        """Whether an entry may ever be approved (see `approval_problem`); CLI approval and auto-promotion
        both go through this rule."""
        return self.approval_problem(entry) is None

    def approve(
        self,
        version: str,
        entry_ids: list[str] | None = None,
        *,
        by: str = "reviewer",
        reason: str | None = None,
    ) -> list[str]:
        """Approve the given entries (default: every approvable entry); returns their ids.

        Entries that fail `approval_problem` can never be approved: named explicitly, the request is refused
        with the reason; by default they are skipped."""
        playbook = self.load(version, with_reviews=False)
        by_id = {e.id: e for e in playbook.entries}
        if entry_ids is None:
            chosen = [e.id for e in playbook.entries if self.approvable(e)]
        else:
            unknown = [i for i in entry_ids if i not in by_id]
            if unknown:
                raise PlaybookError(
                    f"unknown entries in {version}: {', '.join(unknown)} (see `reverie playbook show`)"
                )
            refused = [
                f"{i}: {why}" for i in entry_ids if (why := self.approval_problem(by_id[i])) is not None
            ]
            if refused:
                raise PlaybookError(f"cannot approve {'; '.join(refused)}")
            chosen = list(entry_ids)
        if not chosen:
            raise PlaybookError(
                f"{version} has no approvable entry (each needs at least {self.min_support} supporting sessions "
                f"from at least {MIN_SOURCES} distinct days, source files, projects and users wherever the "
                "window held more than one)"
            )
        self._append("approve", version, sorted(chosen), by, reason)
        return sorted(chosen)

    def reject(self, version: str, entry_id: str, *, by: str = "reviewer", reason: str | None = None) -> None:
        playbook = self.load(version, with_reviews=False)
        if entry_id not in {e.id for e in playbook.entries}:
            raise PlaybookError(f"unknown entry {entry_id!r} in {version}")
        self._append("reject", version, [entry_id], by, reason)

    def rollback(self, version: str, *, by: str = "reviewer", reason: str | None = None) -> None:
        """Put `version` back in force: later versions lose their approvals (a pointer move, nothing deleted)."""
        if not self.reviews().get(version, ReviewState()).approved:
            raise PlaybookError(
                f"{version} has no approved entries; approve it instead of rolling back to it"
            )
        self._append("rollback", version, [], by, reason)

    # --- comparison, exports, SQL -----------------------------------------------------------------------

    def diff(self, old: str, new: str) -> PlaybookDiff:
        before = {e.id: e for e in self.load(old).entries}
        after = {e.id: e for e in self.load(new).entries}
        changed = []
        for entry_id in sorted(before.keys() & after.keys()):
            a, b = before[entry_id].model_dump(), after[entry_id].model_dump()
            fields = sorted(k for k in a if a[k] != b[k] and k != "updated_in")
            if fields:
                changed.append((before[entry_id], after[entry_id], fields))
        return PlaybookDiff(
            old=old,
            new=new,
            added=[after[i] for i in sorted(after.keys() - before.keys())],
            removed=[before[i] for i in sorted(before.keys() - after.keys())],
            changed=changed,
        )

    def export(self, version: str, kind: ExportKind, to: Path) -> list[Path]:
        try:
            return export_playbook(self.load(version), kind, to)
        except ExportError as error:
            raise PlaybookError(str(error)) from error

    def entries_frame(self, version: str) -> pl.DataFrame:
        playbook = self.load(version)
        rows = [
            {
                "version": version,
                "entry_id": e.id,
                "agent": e.agent,
                "section": str(e.section),
                "text": e.text,
                "rule": e.rule.model_dump_json(exclude_none=True) if e.rule else None,
                "support": e.support,
                "confidence": e.confidence,
                "effect": e.effect.diff if e.effect else None,
                "evidence": e.evidence,
                "helpful": e.helpful,
                "harmful": e.harmful,
                "status": str(e.status),
                "created_in": e.created_in,
                "updated_in": e.updated_in,
                "mission": self.mission,
            }
            for e in playbook.entries
        ]
        return (
            pl.from_arrow(PLAYBOOK_ENTRIES_SCHEMA.empty_table())
            if not rows
            else pl.DataFrame(rows, schema=pl.from_arrow(PLAYBOOK_ENTRIES_SCHEMA.empty_table()).schema)
        )

    def write_entries_table(self, version: str) -> Path:
        """Publish a version's entries (with current review statuses) as this line's rows of the lake's
        `playbook_entries` partition for its dream date; re-run after a review to refresh the statuses SQL sees."""
        return replace_mission_rows(
            self.home, "playbook_entries", self._partition(version), self.mission, self.entries_frame(version)
        )
