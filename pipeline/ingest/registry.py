"""The known log formats, and sniffing which one a file is in.

Formats are recognised from content, never from file names alone: the same `.jsonl` suffix holds Claude
Code transcripts, Codex rollouts and our own events, and users point `reverie ingest` at whole folders.
"""

from __future__ import annotations

import importlib
import warnings
from functools import cache
from pathlib import Path

from pipeline.ingest.base import Adapter
from pipeline.ingest.jsonl import strip_bom

ADAPTER_MODULES = [
    "native",
    "claude_code",
    "anthropic_messages",
    "agent_sdk",
    "codex",
    "openai_agents",
    "otel_genai",
]
SNIFF_BYTES = 64 * 1024
MIN_CONFIDENCE = 0.5
"""Below this no adapter is trusted with the file: it is reported as an unknown format instead of being
half-parsed into misleading rows."""
CERTAIN = 1.0
"""A sniffer's answer for a file in its format's own shape. Nothing beats it and ties go to the earlier
adapter, so `sniff_head` asks no further: a Claude Code transcript (the common case) is decided without
running every other format's byte searches over its 64 KB head."""


def adapters() -> list[Adapter]:
    """Every installed adapter, in `ADAPTER_MODULES` order (which breaks confidence ties)."""
    return list(_load_adapters())


@cache
def _load_adapters() -> tuple[Adapter, ...]:
    found: list[Adapter] = []
    for name in ADAPTER_MODULES:
        module_name = f"pipeline.ingest.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                continue  # that format is not written yet; any other missing import is a real bug
            raise
        adapter = getattr(module, "ADAPTER", None)
        if adapter is None:
            warnings.warn(f"{module_name} defines no ADAPTER; that format is not registered", stacklevel=2)
            continue
        found.append(adapter)
    return tuple(found)


def get(name: str) -> Adapter:
    """The adapter whose `name` (the lake's `source_format`) is `name`."""
    for adapter in adapters():
        if adapter.name == name:
            return adapter
    known = ", ".join(a.name for a in adapters())
    raise KeyError(f"unknown log format {name!r} (known: {known})")


def sniff_head(path: Path, head: bytes) -> Adapter | None:
    """The most confident adapter for a file whose first bytes are `head`, or None if none is sure enough."""
    head = strip_bom(head)
    best: Adapter | None = None
    best_confidence = MIN_CONFIDENCE
    for adapter in adapters():
        try:
            confidence = adapter.sniff(path, head)
        except Exception:  # a buggy sniffer must not stop the other formats from being tried
            continue
        if confidence > best_confidence or (best is None and confidence >= best_confidence):
            best, best_confidence = adapter, confidence
            if confidence >= CERTAIN:
                break
    return best


def sniff(path: Path) -> Adapter | None:
    """Read the first 64 KB of `path` and pick its format (None: unknown)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    return sniff_head(path, head)
