"""Metadata helpers for the UI: tables of rows, amounts Dagster can plot.

The asset page of Dagster 1.13 renders a table value (``MetadataValue.table``) in place, at any
size; Markdown only when it is under 1,000 characters, and behind a "[Show Markdown]" button
otherwise. What a person should see at a glance is therefore a table."""

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


def _column_type(values: Sequence[Any]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "bool"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "int"
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "float"
    return "string"


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # exact, as the warehouse holds it
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, limit: int = 200) -> dg.MetadataValue:
    """``rows`` as a table the asset page shows without a click: one column per key of the first
    row (or ``columns``, for an empty table to keep its shape), typed from its values."""
    names = list(columns if columns is not None else (rows[0] if rows else []))
    shown = rows[:limit]
    schema = dg.TableSchema(columns=[
        dg.TableColumn(name, _column_type([row.get(name) for row in shown])) for name in names])
    return dg.MetadataValue.table(
        [dg.TableRecord({name: _json_value(row.get(name)) for name in names}) for row in shown], schema=schema)
