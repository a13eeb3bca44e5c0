"""The lake tables the dreaming steps write as they run: `playbook_entries` (the dream) and `evaluations`.

Each is an asset named as its table, downstream of the step that writes it. The step reports the table's
materialization for its day as it writes it, so the table's page shows rows, preview and lineage without
a second step re-reading what the first just wrote.
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from assets.shared.code_version import PROJECT_ROOT, engine_code_version
from assets.shared.metadata import frame_metadata
from assets.shared.partitions import daily_partitions
from assets.shared.tables import OWNERS, table_metadata, table_tags
from pipeline import lake
from pipeline.home import ReverieHome


def writer_reference(module_file: str, table: str) -> dict[str, dg.CodeReferencesMetadataValue]:
    """A code reference to the line of the engine that writes `table` (found by text, not by importing)."""
    path = PROJECT_ROOT / module_file
    marker = f'"{table}"'
    line = next((n for n, text in enumerate(path.read_text().splitlines(), 1) if marker in text), 1)
    reference = dg.LocalFileCodeReference(file_path=str(path), line_number=line)
    return {"dagster/code_references": dg.CodeReferencesMetadataValue(code_references=[reference])}


playbook_entries_table = dg.AssetSpec(
    "playbook_entries",
    deps=["playbook"],
    partitions_def=daily_partitions,
    group_name="dreaming",
    kinds={"duckdb", "parquet"},
    owners=OWNERS,
    tags=table_tags("lake"),
    metadata={
        **table_metadata("playbook_entries"),
        **writer_reference("pipeline/playbooks/store.py", "playbook_entries"),
    },
    description="One row per entry of each night's playbook version (partition = the night), so SQL can "
    "compare versions and trace every lesson to the sessions it cites. Written by `playbook`.",
    code_version=engine_code_version("pipeline.playbooks"),
)

evaluations_table = dg.AssetSpec(
    "evaluations",
    deps=["playbook_evaluation"],
    partitions_def=daily_partitions,
    group_name="dreaming",
    kinds={"duckdb", "parquet"},
    owners=OWNERS,
    tags=table_tags("lake"),
    metadata={**table_metadata("evaluations"), **writer_reference("pipeline/evaluation.py", "evaluations")},
    description="Per night, one row per arm (candidate, in force, reference) with held-out successes, "
    "interval, paired p-value and the promotion decision. Written by `playbook_evaluation`.",
    code_version=engine_code_version("pipeline.evaluation"),
)

LAKE_TABLE_SPECS = [playbook_entries_table, evaluations_table]


def report_table(context: dg.AssetExecutionContext, home: ReverieHome, table: str, day: date) -> None:
    """Record the materialization of `table`'s partition for `day`, which the running step just wrote."""
    frame = (
        lake.read_table(home, table, [day.isoformat()])
        if day.isoformat() in lake.partitions(home, table)
        else None
    )
    context.log_event(
        dg.AssetMaterialization(asset_key=table, partition=day.isoformat(), metadata=frame_metadata(frame))
    )
