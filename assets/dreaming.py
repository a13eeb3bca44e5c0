"""Dreaming: the nightly review that turns a window of sessions into a new candidate playbook."""

from datetime import date

import dagster as dg

from assets.partitions import daily_partitions
from pipeline.home import ReverieHome
from pipeline.lazy import deferred
from pipeline.playbooks.render import render_preview
from resources.lakehouse import LakehouseResource
from resources.llm import LLMResource

dream = deferred("pipeline.dreaming", "dream")  # scipy and the miners load when a night is dreamed


def playbook_location(home: ReverieHome, version: str) -> str:
    """The version's folder, or its URL on an object-store lake."""
    from pipeline.playbooks.store import PlaybookStore

    return PlaybookStore(home).location(version)


DEFAULT_WINDOW_DAYS = 7
_window = dg.TimeWindowPartitionMapping(
    start_offset=-(DEFAULT_WINDOW_DAYS - 1), allow_nonexistent_upstream_partitions=True
)


class DreamConfig(dg.Config):
    backend: str = "offline"  # offline (statistical) | claude
    window_days: int = DEFAULT_WINDOW_DAYS


@dg.asset(
    partitions_def=daily_partitions,
    deps=[
        dg.AssetDep("sessions", partition_mapping=_window),
        dg.AssetDep("outcome_scores", partition_mapping=_window),
        dg.AssetDep(
            "playbook",
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True
            ),
        ),
    ],
    group_name="dreaming",
    pool="dream",  # with a limit of 1 on the instance, two dreams never run at once (docs/operations.md)
    kinds={"python", "json", "markdown"},
    description="A new candidate playbook version: the previous version plus the delta operations the "
    "dreamer derived from the window's sessions and outcomes. Every entry cites its sessions.",
    code_version="2",
)
def playbook(
    context: dg.AssetExecutionContext, config: DreamConfig, lakehouse: LakehouseResource, llm: LLMResource
):
    home = lakehouse.reverie_home
    day = date.fromisoformat(context.partition_key)
    result = dream(
        home, day, window_days=config.window_days, backend=config.backend, llm_settings=llm.settings()
    )
    lakehouse.refresh_catalog()
    book, stats = result.playbook, result.stats
    claude = stats.extra.get("claude")
    # What Claude proposed and verification refused, with the reason each was dropped (claude backend only).
    checked = (
        {"llm_calls": stats.llm_calls, "dropped_ops": dg.MetadataValue.json(claude["dropped_ops"])}
        if claude
        else {}
    )
    return dg.MaterializeResult(
        metadata={
            **checked,
            "version": book.version,
            "parent": book.parent or "none",
            "sessions_reviewed": book.n_sessions_reviewed,
            "entries": sum(e.status != "retired" for e in book.entries),
            "entries_retired": sum(e.status == "retired" for e in book.entries),
            "ops": dg.MetadataValue.json(
                {
                    k: getattr(stats, k)
                    for k in ("added", "updated", "merged", "retired", "patterns_tested", "patterns_found")
                }
            ),
            "window": dg.MetadataValue.json(book.window),
            "dropped_by_safety_screen": len(stats.extra.get("screened", [])),
            "preview": dg.MetadataValue.md(render_preview(book)),
            "path": dg.MetadataValue.path(playbook_location(home, book.version)),
        }
    )
