"""Metadata helpers for the UI: Markdown tables of rows, amounts Dagster can plot."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import dagster as dg


def markdown_table(rows: Sequence[dict[str, Any]], limit: int = 10) -> dg.MetadataValue:
    if not rows:
        return dg.MetadataValue.md("_none_")
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows[:limit]:
        lines.append("| " + " | ".join(_cell(row[c]) for c in columns) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def _cell(value: Any) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")[:80]


def plotted_amount(amount: Decimal) -> dg.MetadataValue:
    """A dollar amount as a number Dagster plots over time (its metadata has only int and
    float); display only: the warehouse keeps the exact Decimal."""
    return dg.MetadataValue.float(float(amount))
