"""Playbook versions and the decision log on an object-store lake (`REVERIE_LAKE=s3://...`).

The local store renames a temp folder into place and appends to `decisions.jsonl` under a file lock; an
object store has neither rename, append nor locks shared between machines. Both keep their guarantees here
with conditional writes (`If-None-Match: *`, the store refuses to create a key that exists):

- a version is committed by creating `_playbooks/<version>/playbook.json`; a second writer of the same
  version cannot overwrite it and compares contents instead, so versions stay immutable;
- every decision is its own object `_playbooks/decisions/<seq>.json`. Appending means creating the next
  number; a reviewer who loses the race re-reads the log and tries the next one, so concurrent reviewers
  are totally ordered and none is lost, as under the local file lock.

The leading underscore keeps Spark, Trino and Hive-style readers from taking the folder for a table.
"""

from __future__ import annotations

import re

from pipeline.storage import ObjectLake

PLAYBOOKS_PREFIX = "_playbooks"
DECISIONS_FOLDER = "decisions"
_DECISION_NUMBER = re.compile(rf"^{DECISIONS_FOLDER}/(\d{{10}})\.json$")


class ObjectPlaybookFiles:
    """The store's file I/O when the lake lives on an object store."""

    def __init__(self, store: ObjectLake, prefix: str = PLAYBOOKS_PREFIX) -> None:
        self.store = store
        self.prefix = prefix  # `_playbooks`, or `_playbooks/<mission>` for a mission's own line

    def location(self, version: str) -> str:
        return self.store.uri(f"{self.prefix}/{version}")

    def versions(self, marker: str) -> list[str]:
        """Versions whose `marker` file (playbook.json, the commit) exists, oldest first."""
        names = []
        for key in self.store.keys(self.prefix):
            parts = key[len(self.prefix) + 1 :].split("/")
            if len(parts) == 2 and parts[1] == marker:
                names.append(parts[0])
        return sorted(names)

    def read(self, version: str, name: str) -> str | None:
        """A file of a version, or None if it was never written (versions never change: cached)."""
        key = f"{self.prefix}/{version}/{name}"
        found = self.store.read_immutable([key])
        return found[key].decode() if key in found else None

    def create(self, version: str, name: str, text: str) -> bool:
        """Create a file of a version unless it exists; False when another writer got there first."""
        return self.store.create(f"{self.prefix}/{version}/{name}", text.encode())

    def decision_lines(self) -> list[bytes]:
        """Every decision record, in the order they were committed."""
        numbered = sorted(
            (int(m.group(1)), key)
            for key in self.store.keys(f"{self.prefix}/{DECISIONS_FOLDER}")
            if (m := _DECISION_NUMBER.match(key[len(self.prefix) + 1 :]))
        )
        records = self.store.read_immutable([key for _, key in numbered])
        return [records[key].rstrip(b"\n") for _, key in numbered if key in records]

    def append_decision(self, position: int, line: str) -> bool:
        """Commit a decision as number `position` (the count the caller saw); False if that number was taken
        meanwhile, and the caller must re-read the log and decide again."""
        return self.store.create(
            f"{self.prefix}/{DECISIONS_FOLDER}/{position:010d}.json", (line + "\n").encode()
        )
