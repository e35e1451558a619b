"""The content of an SCD Type 2 table in a few characters, for Dagster's data versions."""

from __future__ import annotations

import psycopg
from psycopg import sql


def scd2_fingerprint(conn: psycopg.Connection, table: str) -> str:
    """``table``'s versions and current rows: history is never deleted, so any change adds a
    version, and retiring a key closes one; equal fingerprints mean an unchanged table."""
    total, current = conn.execute(sql.SQL("SELECT count(*), count(*) FILTER (WHERE row_current_ind) FROM {}")
                                  .format(sql.Identifier(table))).fetchone()
    return f"{table}:{total}:{current}"
