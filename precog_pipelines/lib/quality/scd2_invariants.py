"""SCD Type 2 invariants, checked with one SQL aggregate each.

The schema already enforces what a single row can (flag agrees with end timestamp, one current
row per key); these re-verify it as defence in depth, and add what needs several rows: versions
of one key never overlap, and follow each other without gaps.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from precog_pipelines.lib.quality.violations import Violations, find_violations
from precog_pipelines.lib.warehouse.scd2_merge import Scd2Table


def _keys(business_key: tuple[str, ...]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(k) for k in business_key)


def current_row_count_violations(conn: psycopg.Connection, table: Scd2Table) -> Violations:
    """Keys with more than one current version (or none, unless keys may be retired)."""
    having = sql.SQL("count(*) FILTER (WHERE row_current_ind) > 1") if table.retirable else sql.SQL(
        "count(*) FILTER (WHERE row_current_ind) <> 1")
    return find_violations(conn, sql.SQL(
        "SELECT {keys}, count(*) FILTER (WHERE row_current_ind) AS current_versions FROM {table} "
        "GROUP BY {keys} HAVING {having}").format(keys=_keys(table.business_key),
                                                  table=sql.Identifier(table.name), having=having))


def validity_violations(conn: psycopg.Connection, table: Scd2Table) -> Violations:
    """Current versions with an end, closed versions without one or ending before they start."""
    return find_violations(conn, sql.SQL(
        "SELECT id, row_current_ind, row_start_ts, row_end_ts FROM {} WHERE "
        "(row_current_ind AND row_end_ts IS NOT NULL) OR "
        "(NOT row_current_ind AND (row_end_ts IS NULL OR row_end_ts <= row_start_ts))").format(
        sql.Identifier(table.name)))


def _successions(table: Scd2Table) -> sql.Composed:
    return sql.SQL(
        "SELECT {keys}, id, row_start_ts, row_end_ts, "
        "lead(row_start_ts) OVER (PARTITION BY {keys} ORDER BY row_start_ts, id) AS next_start "
        "FROM {table}").format(keys=_keys(table.business_key), table=sql.Identifier(table.name))


def overlap_violations(conn: psycopg.Connection, table: Scd2Table) -> Violations:
    """Versions of one key whose validity ranges overlap: the next one starts before this one ends
    (or while this one is still current)."""
    return find_violations(conn, sql.SQL(
        "SELECT * FROM ({}) s WHERE next_start IS NOT NULL AND (row_end_ts IS NULL OR next_start < row_end_ts)"
    ).format(_successions(table)))


def gap_violations(conn: psycopg.Connection, table: Scd2Table) -> Violations:
    """Consecutive versions of one key with time between them: the next starts after this one ended."""
    return find_violations(conn, sql.SQL(
        "SELECT * FROM ({}) s WHERE next_start IS NOT NULL AND next_start > row_end_ts"
    ).format(_successions(table)))
