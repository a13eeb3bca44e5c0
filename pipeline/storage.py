"""The lake on an object store (`REVERIE_LAKE=s3://bucket/prefix`): immutable files and per-partition commits.

An object store has no rename, so the local lake's "write a temp file, `os.replace` it into place" has no
equivalent. Instead (docs/ARCHITECTURE.md, "The lake on an object store"):

- every data file is written once under a unique name, `<table>/date=<day>/part-<uuid>.parquet`, and never
  changed;
- a partition becomes visible when its commit record `<table>/date=<day>/_commits/<seq>.json` is created with
  a conditional write (`If-None-Match: *`): the store refuses a second object at the same key, so two writers
  of one partition are ordered (the loser retries with the next number) and the highest number is in force;
- nothing is shared between partitions, so writers of different partitions never contend and can neither
  lose nor duplicate each other's rows.

Readers list a table once, read the newest commit of each partition and see whole files only. Commits and
data files never change, so both are cached forever in the process (commits) and on local disk (data files,
`REVERIE_HOME/cache/lake`), which keeps every Path-based reader of the local lake working unchanged.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

COMMITS_DIR = "_commits"
COMMIT_ATTEMPTS = 50  # same-partition writers racing: each lost race costs one listing
_COMMIT_KEY = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/" + COMMITS_DIR + r"/(\d{10})\.json$")
_immutable_objects: dict[str, bytes] = {}  # full path -> bytes of objects that are never rewritten


class StorageError(Exception):
    """The object store refused or lost a write; the message says which object."""


def object_filesystem(protocol: str) -> AbstractFileSystem:
    """The process's filesystem for a URL scheme (a forked worker gets its own: the client's event loop
    and connections do not survive a fork)."""
    return _filesystem(protocol, os.getpid())


@lru_cache(maxsize=8)
def _filesystem(protocol: str, pid: int) -> AbstractFileSystem:
    """The fsspec filesystem for a URL scheme, configured from the standard environment.

    For S3: credentials, region and `AWS_ENDPOINT_URL` (an S3-compatible server such as MinIO or moto) are
    read by botocore from the environment or the instance role, so secrets never pass through settings
    files. Directory listings are never cached: another worker's commit must be visible to the next listing.
    """
    import fsspec

    options: dict[str, object] = {"use_listings_cache": False, "skip_instance_cache": True}
    if protocol in {"s3", "s3a"}:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            options["endpoint_url"] = endpoint
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            options["client_kwargs"] = {"region_name": region}
    return fsspec.filesystem(protocol, **options)


def reset_filesystems() -> None:
    """Forget configured filesystems (after the endpoint or credentials in the environment changed)."""
    _filesystem.cache_clear()


@dataclass(frozen=True)
class ObjectLake:
    """A lake rooted at an object-store URL; keys are paths relative to that root."""

    url: str

    @cached_property
    def protocol(self) -> str:
        return self.url.partition("://")[0]

    @cached_property
    def fs(self) -> AbstractFileSystem:
        return object_filesystem(self.protocol)

    @cached_property
    def _root(self) -> str:
        return self.url.partition("://")[2].rstrip("/")

    def path(self, key: str) -> str:
        """The filesystem path (bucket/prefix/key) of a key."""
        return f"{self._root}/{key}"

    def uri(self, key: str) -> str:
        """The full URL of a key, as DuckDB and other engines name it."""
        return f"{self.protocol}://{self.path(key)}"

    def key_of(self, path: str) -> str:
        return path.removeprefix(self._root + "/")

    def keys(self, prefix: str) -> list[str]:
        """Every key under `prefix` (one recursive listing, paginated by the store)."""
        try:
            found = self.fs.find(self.path(prefix.rstrip("/")))
        except FileNotFoundError:
            return []
        return [self.key_of(p) for p in found]

    def read(self, key: str) -> bytes:
        return self.fs.cat_file(self.path(key))

    def read_immutable(self, keys: list[str]) -> dict[str, bytes]:
        """Several never-rewritten objects at once (fetched concurrently), cached for the process by their
        full path (one process may use several lakes)."""
        missing = [self.path(k) for k in keys if self.path(k) not in _immutable_objects]
        if missing:
            _immutable_objects.update(self.fs.cat(missing, on_error="omit"))
        return {k: _immutable_objects[self.path(k)] for k in keys if self.path(k) in _immutable_objects}

    def create(self, key: str, data: bytes) -> bool:
        """Write `key` only if no object is there (a conditional put); False when one already was."""
        try:
            self.fs.pipe_file(self.path(key), data, mode="create")
        except FileExistsError:
            return False
        return True

    def upload(self, local: Path, key: str) -> None:
        self.fs.put_file(str(local), self.path(key))

    def download(self, key: str, local: Path) -> Path:
        """Copy an immutable object to `local` through a temp name, so a cached copy is always whole."""
        if local.exists():
            return local
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(f".{local.name}.{uuid.uuid4().hex}.tmp")
        self.fs.get_file(self.path(key), str(tmp))
        os.replace(tmp, local)
        return local


# --- partition commits --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartitionCommit:
    """The record that makes one data file the content of a partition (`file=None`: the partition is dropped)."""

    table: str
    day: str
    seq: int
    file: str | None
    rows: int | None

    @property
    def data_key(self) -> str | None:
        return None if self.file is None else f"{self.table}/date={self.day}/{self.file}"


def _commit_key(table: str, day: str, seq: int) -> str:
    return f"{table}/date={day}/{COMMITS_DIR}/{seq:010d}.json"


def committed_partitions(store: ObjectLake, table: str) -> dict[str, PartitionCommit]:
    """The commit in force for every partition of `table` (dropped partitions left out), by ISO day."""
    newest: dict[str, tuple[int, str]] = {}
    for key in store.keys(table):
        match = _COMMIT_KEY.search("/" + key)
        if match and key.startswith(f"{table}/"):
            day, seq = match.group(1), int(match.group(2))
            if seq > newest.get(day, (-1, ""))[0]:
                newest[day] = (seq, key)
    records = store.read_immutable([key for _, key in newest.values()])
    commits = {}
    for day, (seq, key) in sorted(newest.items()):
        record = json.loads(records[key])
        if record.get("file") is not None:
            commits[day] = PartitionCommit(table, day, seq, record["file"], record.get("rows"))
    return commits


def _next_seq(store: ObjectLake, table: str, day: str) -> int:
    seqs = [
        int(m.group(2))
        for key in store.keys(f"{table}/date={day}/{COMMITS_DIR}")
        if (m := _COMMIT_KEY.search("/" + key))
    ]
    return max(seqs, default=-1) + 1


def commit_partition(
    store: ObjectLake, table: str, day: str, local_file: Path | None, rows: int | None
) -> PartitionCommit:
    """Upload `local_file` as a new immutable data file of the partition, then commit it (None: drop).

    The upload happens before the commit exists, so a crash leaves an unreferenced file and the previous
    commit in force. Losing a race for a commit number to another writer of the same partition only means
    trying the next number: the later commit replaces, as `os.replace` does locally.
    """
    file = None
    if local_file is not None:
        file = f"part-{uuid.uuid4().hex}.parquet"
        store.upload(local_file, f"{table}/date={day}/{file}")
    record = {"file": file, "rows": rows, "committed_at": datetime.now(UTC).isoformat()}
    body = (json.dumps(record, sort_keys=True) + "\n").encode()
    for _ in range(COMMIT_ATTEMPTS):
        seq = _next_seq(store, table, day)
        if store.create(_commit_key(table, day, seq), body):
            _immutable_objects[store.path(_commit_key(table, day, seq))] = body
            return PartitionCommit(table, day, seq, file, rows)
    raise StorageError(
        f"could not commit {table} partition {day} after {COMMIT_ATTEMPTS} attempts: other writers keep "
        "committing the same partition; run one writer per partition"
    )
