"""Ingestion watermarks: when the last successful tick of a source started, per scope.

Read before a tick's fetch; advanced in the same transaction as the load it describes (so a
crash, or a batch refused by its contract, leaves it where it was), and only forward.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg


def read_watermarks(conn: psycopg.Connection, source: str, scopes: Sequence[str]) -> dict[str, datetime]:
    """The watermark of each of ``scopes`` that has one."""
    rows = conn.execute(
        "SELECT scope, watermark_ts FROM ingestion_watermarks WHERE source = %s AND scope = ANY(%s)",
        (source, list(scopes)),
    ).fetchall()
    return dict(rows)


def advance_watermarks(conn: psycopg.Connection, source: str, scopes: Sequence[str], at: datetime,
                       run_id: str | None) -> None:
    """Move the watermarks of ``scopes`` to ``at``, unless one is already later."""
    if at.tzinfo is None:
        raise ValueError("a watermark must be timezone-aware")
    conn.execute(
        "INSERT INTO ingestion_watermarks (source, scope, watermark_ts, run_id) "
        "SELECT %(source)s, scope, %(at)s, %(run_id)s FROM unnest(%(scopes)s::text[]) AS scope "
        "ON CONFLICT (source, scope) DO UPDATE SET watermark_ts = EXCLUDED.watermark_ts, "
        "run_id = EXCLUDED.run_id, updated_at = now() "
        "WHERE ingestion_watermarks.watermark_ts < EXCLUDED.watermark_ts",
        {"source": source, "scopes": list(scopes), "at": at, "run_id": run_id},
    )

