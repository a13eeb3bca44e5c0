"""Metadata every lake asset attaches when it runs: row count and a Markdown preview.

The column schema is definition-time metadata (`assets.shared.tables`), known before anything runs."""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl

PREVIEW_ROWS = 10
PREVIEW_CELL_CHARS = 60


def _as_text(column: str, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.List):
        return pl.col(column).list.eval(pl.element().cast(pl.String)).list.join(", ")
    if isinstance(dtype, pl.Struct):
        return pl.col(column).struct.json_encode()
    return pl.col(column).cast(pl.String)


def markdown_preview(frame: pl.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    """A small, readable preview: long text cells are cut so the UI stays usable."""
    if frame.height == 0:
        return "_no rows_"
    head = frame.head(rows).with_columns(
        _as_text(c, frame.schema[c]).str.slice(0, PREVIEW_CELL_CHARS) for c in frame.columns
    )
    header = "| " + " | ".join(head.columns) + " |"
    rule = "| " + " | ".join("---" for _ in head.columns) + " |"
    lines = [
        "| "
        + " | ".join("" if v is None else str(v).replace("|", "\\|").replace("\n", " ") for v in row)
        + " |"
        for row in head.iter_rows()
    ]
    return "\n".join([header, rule, *lines])


def frame_metadata(frame: pl.DataFrame | None) -> dict[str, Any]:
    if frame is None:
        return {"dagster/row_count": 0, "preview": dg.MetadataValue.md("_no rows_")}
    return {"dagster/row_count": frame.height, "preview": dg.MetadataValue.md(markdown_preview(frame))}
