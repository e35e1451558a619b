"""Set-based SCD Type 2 merges: COPY a snapshot into a staging table, then two statements.

For a table versioned by a business key, a snapshot of current values is merged by

1. COPYing the snapshot into a temporary staging table shaped like the target;
2. closing, in one UPDATE, every current version whose tracked columns differ from the
   snapshot (``row_current_ind = false``, ``row_end_ts = observed_at``);
3. inserting, in one INSERT ... SELECT, a version for every staged key that now has no
   current row: the keys just closed and the keys never seen before.

Keys absent from the snapshot keep their current version: a missing row says nothing.
Keys whose current version started at or after ``observed_at`` are skipped as superseded:
an older observation has nothing to add, and history is never rewritten.
Everything happens in the caller's transaction, under a transaction-scoped advisory lock
per table, so a crash leaves the table as it was and concurrent merges of one table run
one after the other (the second then finds nothing changed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
import psycopg.rows
from psycopg import sql
from psycopg.types.json import Jsonb

from precog_pipelines.lib.warehouse.bulk import column_list, copy_into_temp, require_transaction


class DuplicateKeyInSnapshot(ValueError):
    """The snapshot holds two rows for one business key."""


@dataclass(frozen=True)
class Scd2Table:
    """How one SCD Type 2 table is versioned.

    ``tracked`` columns start a new version when they change; ``carried`` columns are stored
    with each version (as of its start) but never start one on their own. A ``retirable`` key
    may end without a successor (an edge that no longer exists) and come back later, so it may
    lack a current version and have gaps between versions.
    """

    name: str
    business_key: tuple[str, ...]
    tracked: tuple[str, ...] = ()
    carried: tuple[str, ...] = ()
    retirable: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """Column order of the rows passed to :func:`merge_snapshot`."""
        return self.business_key + self.tracked + self.carried

    @property
    def lock_key(self) -> int:
        digest = hashlib.sha256(f"precog.scd2.{self.name}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class MergeResult:
    staged: int
    inserted: int
    closed: int
    superseded: int = 0
    retired: int = 0

    @property
    def new_keys(self) -> int:
        """Keys seen for the first time."""
        return self.inserted - self.closed

    @property
    def unchanged(self) -> int:
        return self.staged - self.superseded - self.inserted


def _key_match(table: Scd2Table, left: str, right: str) -> sql.Composed:
    return sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(sql.Identifier(left, k), sql.Identifier(right, k)) for k in table.business_key
    )


def stage_snapshot(conn: psycopg.Connection, table: Scd2Table, rows: Iterable[Sequence[Any]]) -> str:
    """COPY ``rows`` (tuples in ``table.columns`` order) into a staging table; return its name."""
    return copy_into_temp(conn, table.name, table.columns, rows)


def merge_staged(
    conn: psycopg.Connection,
    table: Scd2Table,
    staging: str,
    observed_at: datetime,
    retire_missing_where: sql.Composable | None = None,
    retire_params: dict[str, Any] | None = None,
) -> MergeResult:
    """Version ``table`` from an already staged snapshot observed at ``observed_at``.

    With ``retire_missing_where``, the snapshot is complete for the rows that condition
    selects (on alias ``t``): their current versions whose key is absent from the snapshot
    are closed too (``retired``), e.g. edges that no longer exist.
    """
    if observed_at.tzinfo is None:
        raise ValueError("observed_at must be timezone-aware")
    require_transaction(conn)
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (table.lock_key,))
    target, stage = sql.Identifier(table.name), sql.Identifier(staging)
    keys = column_list(table.business_key)

    duplicate = conn.execute(
        sql.SQL("SELECT {keys} FROM {stage} GROUP BY {keys} HAVING count(*) > 1 LIMIT 1").format(
            keys=keys, stage=stage
        )
    ).fetchone()
    if duplicate is not None:
        raise DuplicateKeyInSnapshot(
            f"{table.name} snapshot holds more than one row for {dict(zip(table.business_key, duplicate, strict=True))}"
        )
    superseded = conn.execute(
        sql.SQL(
            "DELETE FROM {stage} s USING {target} t "
            "WHERE {match} AND t.row_current_ind AND t.row_start_ts >= %(at)s"
        ).format(target=target, stage=stage, match=_key_match(table, "t", "s")),
        {"at": observed_at},
    ).rowcount

    closed = conn.execute(
        sql.SQL(
            "UPDATE {target} t SET row_current_ind = false, row_end_ts = %(at)s "
            "FROM {stage} s WHERE {match} AND t.row_current_ind "
            "AND ({target_tracked}) IS DISTINCT FROM ({stage_tracked})"
        ).format(
            target=target,
            stage=stage,
            match=_key_match(table, "t", "s"),
            target_tracked=column_list(table.tracked, "t"),
            stage_tracked=column_list(table.tracked, "s"),
        ),
        {"at": observed_at},
    ).rowcount
    inserted = conn.execute(
        sql.SQL(
            "INSERT INTO {target} ({columns}, row_current_ind, row_start_ts) "
            "SELECT {stage_columns}, true, %(at)s FROM {stage} s "
            "WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {match} AND t.row_current_ind)"
        ).format(
            target=target,
            columns=column_list(table.columns),
            stage_columns=column_list(table.columns, "s"),
            stage=stage,
            match=_key_match(table, "t", "s"),
        ),
        {"at": observed_at},
    ).rowcount
    retired = 0
    if retire_missing_where is not None:
        retired = conn.execute(
            sql.SQL(
                "UPDATE {target} t SET row_current_ind = false, row_end_ts = %(at)s "
                "WHERE t.row_current_ind AND t.row_start_ts < %(at)s AND ({scope}) "
                "AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE {match})"
            ).format(target=target, stage=stage, scope=retire_missing_where, match=_key_match(table, "t", "s")),
            {"at": observed_at, **(retire_params or {})},
        ).rowcount
    staged = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(stage)).fetchone()[0] + superseded
    return MergeResult(staged=staged, inserted=inserted, closed=closed, superseded=superseded, retired=retired)


def merge_snapshot(
    conn: psycopg.Connection,
    table: Scd2Table,
    rows: Iterable[Sequence[Any]],
    observed_at: datetime,
    retire_missing_where: sql.Composable | None = None,
    retire_params: dict[str, Any] | None = None,
) -> MergeResult:
    """Stage ``rows`` (tuples in ``table.columns`` order) and merge them; see the module doc."""
    staging = stage_snapshot(conn, table, rows)
    return merge_staged(conn, table, staging, observed_at, retire_missing_where, retire_params)


_VALIDITY_COLUMNS = ("id", "row_current_ind", "row_start_ts", "row_end_ts")
# A revision that waited behind a later-stamped one starts this much after it: versions of one
# key never overlap and row_end_ts > row_start_ts holds.
_TICK = timedelta(microseconds=1)


def key_lock(conn: psycopg.Connection, table: str, key: dict[str, Any]) -> None:
    """Take the transaction-scoped advisory lock on one business key of ``table``.

    A row lock alone cannot serialize SCD2 revisions: under READ COMMITTED, a transaction that
    waited on ``SELECT ... FOR UPDATE`` of the current row re-checks that row after the holder
    commits, finds it closed and gets nothing, while the holder's new current row is invisible
    to its statement. Locking the key itself before the read makes the waiter's read start
    after the holder committed, so it sees the new current version.
    """
    require_transaction(conn)
    name = json.dumps([table, *(f"{k}={v}" for k, v in sorted(key.items()))])
    digest = hashlib.sha256(f"precog.scd2.key.{name}".encode()).digest()
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (int.from_bytes(digest[:8], "big", signed=True),))


def lock_current(conn: psycopg.Connection, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The current version of one key, read under the key's lock (held until the transaction
    ends) and locked FOR UPDATE; None when the key has no current version."""
    key_lock(conn, table, key)
    match = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in key)
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(
            sql.SQL("SELECT * FROM {} WHERE {} AND row_current_ind FOR UPDATE").format(sql.Identifier(table), match),
            list(key.values()),
        ).fetchone()


Changes = Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]]


def revise_current(conn: psycopg.Connection, table: str, key: dict[str, Any], changes: Changes,
                   at: datetime) -> dict[str, Any]:
    """Close the current version of one key and insert a copy with ``changes``; return the new row.

    ``changes`` is a mapping, or a function of the current row returning one (a read-modify-
    write, e.g. a balance plus a delta, computed under the lock). The key is locked before the
    current row is read (:func:`lock_current`), so concurrent revisions of one key run one after
    the other and each builds on the last. The new version starts at ``at``, or just after the
    current one when that started later (the revision waited behind a later-stamped one).
    Raises ``LookupError`` when the key has no current version.
    """
    current = lock_current(conn, table, key)
    if current is None:
        raise LookupError(f"{table} has no current version for {key}")
    at = max(at, current["row_start_ts"] + _TICK)
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        cursor.execute(
            sql.SQL("UPDATE {} SET row_current_ind = false, row_end_ts = %s WHERE id = %s").format(
                sql.Identifier(table)),
            (at, current["id"]),
        )
        revised = changes(current) if callable(changes) else changes
        row = {c: v for c, v in current.items() if c not in _VALIDITY_COLUMNS} | dict(revised)
        row["row_start_ts"] = at
        return cursor.execute(
            sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING *").format(
                sql.Identifier(table), column_list(row), sql.SQL(", ").join(sql.Placeholder() * len(row))),
            [_adapt(v) for v in row.values()],
        ).fetchone()


def _adapt(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, (dict, list)) else value
