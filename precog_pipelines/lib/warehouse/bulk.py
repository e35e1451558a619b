"""Set-based loading: COPY rows into a temporary table, then one statement over the batch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql


def require_transaction(conn: psycopg.Connection) -> None:
    """Staged loads live in temporary tables dropped at commit, so they need a transaction."""
    if conn.autocommit:
        raise ValueError("a staged load needs a transaction; the connection is in autocommit mode")


def column_list(names: Iterable[str], prefix: str | None = None) -> sql.Composed:
    if prefix is None:
        return sql.SQL(", ").join(sql.Identifier(n) for n in names)
    return sql.SQL(", ").join(sql.Identifier(prefix, n) for n in names)


def copy_into_temp(
    conn: psycopg.Connection, like_table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
    staging: str | None = None,
    extra_columns: Mapping[str, str] | None = None,
) -> str:
    """COPY ``rows`` into ``staging`` (default ``stage_<like_table>``), a temporary table with
    ``like_table``'s column types, dropped at commit; return its name. ``extra_columns`` (name:
    SQL type) follow ``columns`` in the staging table and in each row."""
    require_transaction(conn)
    staging = staging or f"stage_{like_table}"
    extra = [sql.SQL(", NULL::{} AS {}").format(sql.SQL(kind), sql.Identifier(name))
             for name, kind in (extra_columns or {}).items()]
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(staging)))
    conn.execute(
        sql.SQL("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {}{} FROM {} WITH NO DATA").format(
            sql.Identifier(staging), column_list(columns), sql.Composed(extra), sql.Identifier(like_table)
        )
    )
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(staging), column_list([*columns, *(extra_columns or {})]))
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
    # Temporary tables have no statistics until analysed; the planner then guesses badly.
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(staging)))
    return staging


@dataclass(frozen=True)
class UpsertResult:
    staged: int
    inserted: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.staged - self.inserted - self.updated


def upsert_staged(
    conn: psycopg.Connection,
    table: str,
    key: Sequence[str],
    columns: Sequence[str],
    staging: str,
    touch_column: str | None = "updated_at",
) -> UpsertResult:
    """Insert new keys and update changed ones from ``staging`` in one statement.

    Rows whose values equal the stored ones are left alone, so an unchanged batch writes nothing.
    """
    value_columns = [c for c in columns if c not in key]
    assignments = [sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in value_columns]
    if touch_column:
        assignments.append(sql.SQL("{} = now()").format(sql.Identifier(touch_column)))
    statement = sql.SQL(
        "INSERT INTO {table} AS t ({columns}) SELECT {columns} FROM {staging} "
        "ON CONFLICT ({key}) DO UPDATE SET {assignments} "
        "WHERE ({stored}) IS DISTINCT FROM ({incoming}) "
        "RETURNING (xmax = 0) AS inserted"
    ).format(
        table=sql.Identifier(table),
        columns=column_list(columns),
        staging=sql.Identifier(staging),
        key=column_list(key),
        assignments=sql.SQL(", ").join(assignments),
        stored=column_list(value_columns, "t"),
        incoming=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in value_columns),
    )
    flags = [row[0] for row in conn.execute(statement).fetchall()]
    staged = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(staging))).fetchone()[0]
    inserted = sum(flags)
    return UpsertResult(staged=staged, inserted=inserted, updated=len(flags) - inserted)
