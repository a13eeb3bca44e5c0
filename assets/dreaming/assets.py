"""Dreaming: the nightly review that turns a window of a mission's sessions into a new candidate version of
that mission's playbook line (config `mission`)."""

from datetime import date
from typing import Any

import dagster as dg

from assets.dreaming.preview import playbook_preview
from assets.dreaming.tables import report_table
from assets.shared.code_version import engine_code_version
from assets.shared.partitions import daily_partitions
from assets.shared.tables import OWNERS
from pipeline.lazy import deferred
from pipeline.loop_report import REPORT_METADATA, DreamReport
from pipeline.missions.registry import DEFAULT_MISSION, session_scope
from pipeline.playbooks.store import PlaybookStore
from resources.lakehouse import LakehouseResource
from resources.llm import LLMResource

dream = deferred("pipeline.dreaming", "dream")  # scipy and the miners load when a night is dreamed
DreamSettings = deferred("pipeline.dreaming.settings", "DreamSettings")

DEFAULT_WINDOW_DAYS = 7
_window = dg.TimeWindowPartitionMapping(
    start_offset=-(DEFAULT_WINDOW_DAYS - 1), allow_nonexistent_upstream_partitions=True
)


class DreamConfig(dg.Config):
    mission: str = DEFAULT_MISSION  # whose playbook line, learning from whose sessions
    backend: str = "offline"  # offline (statistical) | claude
    window_days: int = DEFAULT_WINDOW_DAYS
    settings: dict[str, Any] = {}  # DreamSettings fields to override (benchmarks' ablations)


@dg.asset(
    partitions_def=daily_partitions,
    deps=[
        dg.AssetDep("sessions", partition_mapping=_window),
        dg.AssetDep("outcomes", partition_mapping=_window),
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
    description="A new candidate version of a mission's playbook line: the previous version plus the delta "
    "operations the dreamer derived from the window's sessions of that mission and their outcomes. Every "
    "entry cites its sessions.",
    owners=OWNERS,
    tags={"layer": "playbook", "storage": "json"},
    code_version=engine_code_version("pipeline.dreaming", "pipeline.playbooks"),
)
def playbook(
    context: dg.AssetExecutionContext, config: DreamConfig, lakehouse: LakehouseResource, llm: LLMResource
):
    home = lakehouse.reverie_home
    day = date.fromisoformat(context.partition_key)
    result = dream(
        home, day, window_days=config.window_days, backend=config.backend, llm_settings=llm.settings(),
        settings=DreamSettings(**config.settings), line=config.mission, scope=session_scope(config.mission),
    )  # fmt: skip
    lakehouse.refresh_catalog()
    book, stats = result.playbook, result.stats
    store = PlaybookStore(home, mission=config.mission)
    path = store.location(book.version)  # a folder, or its URL on an object-store lake
    ops = {
        k: getattr(stats, k)
        for k in ("added", "updated", "merged", "retired", "patterns_tested", "patterns_found")
    }
    claude = stats.extra.get("claude")  # what Claude proposed and verification refused (claude backend only)
    report = DreamReport(
        mission=config.mission, day=day, version=book.version, parent=book.parent,
        sessions_reviewed=book.n_sessions_reviewed,
        entries=sum(e.status != "retired" for e in book.entries),
        entries_retired=sum(e.status == "retired" for e in book.entries),
        ops=ops, dropped_by_safety_screen=len(stats.extra.get("screened", [])), path=str(path),
        dropped_ops=claude["dropped_ops"] if claude else None,
    )  # fmt: skip
    checked = (
        {"llm_calls": stats.llm_calls, "dropped_ops": dg.MetadataValue.json(report.dropped_ops)}
        if report.dropped_ops is not None
        else {}
    )
    report_table(context, home, "playbook_entries", day)
    return dg.MaterializeResult(
        metadata={
            **checked,
            "mission": config.mission,
            "version": report.version,
            "parent": report.parent or "none",
            "sessions_reviewed": report.sessions_reviewed,
            "entries": report.entries,
            "entries_retired": report.entries_retired,
            "ops": dg.MetadataValue.json(ops),
            "window": dg.MetadataValue.json(book.window),
            "dropped_by_safety_screen": report.dropped_by_safety_screen,
            "preview": dg.MetadataValue.md(playbook_preview(book, store.path(book.version))),
            "path": dg.MetadataValue.path(report.path),
            REPORT_METADATA: dg.MetadataValue.json(report.model_dump(mode="json")),
        }
    )
