"""Set-based SCD Type 2 merges: find what changed, send only that, in a few statements.

For a table versioned by a business key, a snapshot of current values is merged by

0. reading, under the table's lock, the business key, tracked-columns hash and start of every
   current version (:func:`snapshot_delta`), and dropping in Python the snapshot rows whose hash
   is unchanged or whose stored version is newer: they would write nothing;
1. COPYing the rows of keys whose current version has another hash (or none) into a temporary
   staging table;
2. closing, in one UPDATE, every current version whose tracked columns the server finds
   different from the staged row (``row_current_ind = false``, ``row_end_ts = observed_at``);
3. COPYing, straight into the table, a current version for every key that now has none: the
   keys never seen before and those just closed, with ids drawn from the table's identity
   sequence, and their hashes beside them.

Keys absent from the snapshot keep their current version: a missing row says nothing.
Keys whose current version started at or after ``observed_at`` are skipped as superseded:
an older observation has nothing to add, and history is never rewritten.
Everything happens in the caller's transaction, under a transaction-scoped advisory lock
per table taken before the hashes are read, so a crash leaves the table as it was and
concurrent merges of one table run one after the other (the second reads the first one's
versions and finds nothing changed). A key without a current version cannot gain one before
step 3 from another merge; from any other writer, the table's one-current-row index refuses the
COPY and the transaction rolls back.

The hash (16 bytes of BLAKE2b over the tracked values as :func:`_spelling` spells them) lives
beside the versions, in ``<table>_tracked_hashes`` keyed by version id (sql/0132). Only the merge writes
it, for a version it inserted from those values or for a current version whose tracked values
the server found equal to the staged ones, so an equal hash means values the merge's own
comparison would find equal. A version without one (written by other code, or before the hashes
existed) counts as changed; the merge then stores its hash, so such a key is staged once, not on
every snapshot. Closing a version deletes its hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from itertools import compress, count
from operator import itemgetter, ne
from typing import Any

import psycopg
import psycopg.rows
from psycopg import sql
from psycopg.types.json import Jsonb

from precog_pipelines.lib.warehouse.bulk import column_list, copy_into_temp, require_transaction

HASH_COLUMN = "tracked_hash"


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
    def hash_table(self) -> str:
        """Where merges keep the tracked-columns hash of each current version (sql/0132)."""
        return f"{self.name}_tracked_hashes"

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
    sent: int = 0
    """Rows of the snapshot sent to the server: new or changed by their hash (the rest cost nothing)."""

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


@dataclass(frozen=True)
class SnapshotDelta:
    """A snapshot less what it would not change, decided before anything is sent to the server.

    Rows are in ``table.columns`` order."""

    new: list[tuple]
    """Rows of keys with no current version: they become current versions as they are (and are
    hashed while they are written)."""
    changed: list[tuple]
    """Rows of keys whose current version has another hash, or none, each followed by its own
    hash: compared on the server."""
    keys: list[Any] = field(repr=False)
    """The business key of every row of the snapshot (a value, or a tuple for a composite key)."""
    unchanged: int
    superseded: int

    @property
    def rows(self) -> list[tuple]:
        """Every row to send: the new keys' and the changed ones'."""
        return self.new + self.changed

    def dropping(self, refused: Callable[[tuple], bool]) -> SnapshotDelta:
        """This delta without the rows ``refused`` is true of (a caller's own rejects); their keys
        stay in ``keys``, so a retiring merge does not retire them for being absent."""
        return replace(self, new=[r for r in self.new if not refused(r)],
                       changed=[r for r in self.changed if not refused(r)])


@cache
def _getters(table: Scd2Table) -> tuple[Callable[[Sequence[Any]], Any], Callable[[Sequence[Any]], tuple]]:
    """The business key of a row (a value, or a tuple for a composite key) and its tracked values (a tuple)."""
    width, tracked = len(table.business_key), len(table.tracked)
    key = itemgetter(0) if width == 1 else itemgetter(*range(width))
    return key, itemgetter(*range(width, width + tracked)) if tracked > 1 else lambda row: (row[width],)


# PostgreSQL type categories whose Python values str() spells faithfully: numbers (numeric, the
# price domain, integers) and booleans. str() of a Decimal is twice as fast as its repr().
_SPELLED_BY_STR = frozenset({"N", "B"})
_spellings: dict[str, str] = {}


def _spelling(conn: psycopg.Connection, table: Scd2Table) -> str:
    """The %-format that spells a row's tracked values for hashing, one field per column, read
    once per process from the table's column types: ``%s`` for numbers and booleans, ``%r`` for
    the rest (text, timestamps, jsonb). Every two values the merge could store differently are
    spelled differently: a Decimal's digits, a timestamp's zone and microseconds, None from
    'None' (a number's str() is never 'None'; a text's repr() is quoted). Some equal values are
    spelled differently too (0.5 and 0.5000), which costs only a comparison on the server. The
    fields cannot run into each other: ``\\x1f`` never occurs in a number's str() and repr()
    escapes it."""
    spelling = _spellings.get(table.name)
    if spelling is None:
        categories = dict(conn.execute(
            "SELECT a.attname, t.typcategory FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            (sql.Identifier(table.name).as_string(conn),)).fetchall())
        spelling = "\x1f".join("%s" if categories[column] in _SPELLED_BY_STR else "%r" for column in table.tracked)
        _spellings[table.name] = spelling
    return spelling


def _digests(tracked_values: Iterable[tuple], spelling: str) -> list[bytes]:
    # A comprehension, not a function per row: the call alone was a fifth of an identical
    # snapshot's hashing.
    blake2b = hashlib.blake2b
    return [blake2b((spelling % values).encode(), digest_size=16).digest() for values in tracked_values]


def snapshot_delta(
    conn: psycopg.Connection, table: Scd2Table, rows: Iterable[Sequence[Any]], observed_at: datetime
) -> SnapshotDelta:
    """Take the table's merge lock and keep the rows of the snapshot that may change it.

    The lock is held until the transaction ends: a concurrent merge cannot commit between the
    read of the current hashes and this merge's statements, so what is dropped here is exactly
    what the merge's statements would have found unchanged or superseded.
    """
    if observed_at.tzinfo is None:
        raise ValueError("observed_at must be timezone-aware")
    require_transaction(conn)
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (table.lock_key,))
    key_of, tracked_of = _getters(table)
    rows = list(rows)
    keys = list(map(key_of, rows))
    if len(set(keys)) != len(keys):
        seen: set[Any] = set()
        duplicate = next(k for k in keys if k in seen or seen.add(k))
        values = duplicate if isinstance(duplicate, tuple) else (duplicate,)
        raise DuplicateKeyInSnapshot(
            f"{table.name} snapshot holds more than one row for {dict(zip(table.business_key, values, strict=True))}"
        )
    spelling = _spelling(conn, table)
    # A table without current versions (a first load) has no hash to compare with: its rows are
    # all new, hashed only while they are COPYed in (_insert_versions), as the server ingests them.
    any_current = conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {} WHERE row_current_ind)").format(
        sql.Identifier(table.name))).fetchone()[0]
    with conn.pipeline(), conn.cursor(binary=True) as cursor:
        # Sent now, fetched after hashing: the server reads the current versions while Python
        # hashes the snapshot, instead of one waiting for the other.
        width = _send_current_hashes(cursor, table, observed_at)
        digests = _digests(map(tracked_of, rows), spelling) if any_current else None
        stored_rows = cursor.fetchall()
    if not stored_rows:
        return SnapshotDelta(new=rows, changed=[], keys=keys, unchanged=0, superseded=0)
    if digests is None:  # current versions written by another writer since the first query
        digests = _digests(map(tracked_of, rows), spelling)
    current = (dict(stored_rows) if width == 1  # type: ignore[arg-type]
               else {row[:width]: row[width] for row in stored_rows})
    stored = list(map(current.get, keys))
    new, changed, superseded = [], [], 0
    # Only the rows whose stored hash differs are looked at one by one: in a quiet snapshot,
    # nearly none (the comparison itself runs in C, over all rows at once).
    for index in compress(count(), map(ne, stored, digests)):
        if stored[index] is None:
            new.append(rows[index])
        elif stored[index] == _SUPERSEDED:
            superseded += 1
        else:
            changed.append((*rows[index], digests[index]))
    return SnapshotDelta(new=new, changed=changed, keys=keys,
                         unchanged=len(rows) - len(new) - len(changed) - superseded, superseded=superseded)


# What _send_current_hashes's query gives a key to when its current version started at or after the
# observation. One byte: never equal to a 16-byte digest, nor to the empty "no hash" marker.
_SUPERSEDED = b"\x00"


def _send_current_hashes(cursor: psycopg.Cursor, table: Scd2Table, observed_at: datetime) -> int:
    """Send the query for (business key..., stored hash) of every current version; return the
    key's width. The hash is empty bytes when the version has none, ``_SUPERSEDED`` when it
    started at or after ``observed_at``: the server decides, so no timestamp comes back to be
    decoded per row, and a single-column key's rows make the dict by ``dict()`` itself."""
    cursor.execute(
        sql.SQL(
            "SELECT {key}, CASE WHEN t.row_start_ts >= %(at)s THEN %(superseded)s "
            "ELSE coalesce(h.{hash}, ''::bytea) END FROM {target} t "
            "LEFT JOIN {hashes} h ON h.version_id = t.id WHERE t.row_current_ind"
        ).format(key=column_list(table.business_key, "t"), hash=sql.Identifier(HASH_COLUMN),
                 target=sql.Identifier(table.name), hashes=sql.Identifier(table.hash_table)),
        {"at": observed_at, "superseded": _SUPERSEDED},
    )
    return len(table.business_key)


def write_delta(
    conn: psycopg.Connection,
    table: Scd2Table,
    delta: SnapshotDelta,
    observed_at: datetime,
    retire_missing_where: sql.Composable | None = None,
    retire_params: dict[str, Any] | None = None,
) -> MergeResult:
    """Version ``table`` from ``delta`` (:func:`snapshot_delta`), a snapshot observed at
    ``observed_at``: changed keys staged and closed on the server where their values differ, then
    a current version COPYed in for them and for the new keys (see the module doc).

    With ``retire_missing_where``, the snapshot is complete for the rows that condition
    selects (on alias ``t``): their current versions whose key is absent from the snapshot
    are closed too (``retired``), e.g. edges that no longer exist.
    """
    if observed_at.tzinfo is None:
        raise ValueError("observed_at must be timezone-aware")
    require_transaction(conn)
    # Taken already by snapshot_delta in this transaction; taking it again costs nothing.
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (table.lock_key,))
    reversioned: list[tuple] = []
    superseded, closed, staged = 0, 0, 0
    if delta.changed:  # else each statement would still scan the table, to find nothing
        # Only what the server compares: the new versions are COPYed from these rows below.
        compared = len(table.business_key) + len(table.tracked)
        staging = copy_into_temp(conn, table.name, table.columns[:compared],
                                 [(*row[:compared], row[-1]) for row in delta.changed],
                                 extra_columns={HASH_COLUMN: "bytea"})
        superseded, closed_keys, staged = _close_changed(conn, table, staging, observed_at)
        closed = len(closed_keys)
        key_of, _ = _getters(table)
        reversioned = [row for row in delta.changed if key_of(row) in closed_keys]
    created = _insert_versions(conn, table, delta.new, reversioned, observed_at)
    retired = 0
    if retire_missing_where is not None:
        # Every key of the snapshot, the unchanged ones included: only the absent ones retire.
        snapshot_keys = copy_into_temp(conn, table.name, table.business_key,
                                       delta.keys if len(table.business_key) > 1 else ((k,) for k in delta.keys),
                                       staging=f"keys_{table.name}")
        retired = len(_closing(conn, table, sql.SQL(
            "UPDATE {target} t SET row_current_ind = false, row_end_ts = %(at)s "
            "WHERE t.row_current_ind AND t.row_start_ts < %(at)s AND ({scope}) "
            "AND NOT EXISTS (SELECT 1 FROM {keys} s WHERE {match}) RETURNING t.*"
        ).format(target=sql.Identifier(table.name), keys=sql.Identifier(snapshot_keys),
                 scope=retire_missing_where, match=_key_match(table, "t", "s")),
            {"at": observed_at, **(retire_params or {})}))
    return MergeResult(staged=len(delta.new) + staged + superseded + delta.unchanged + delta.superseded,
                       inserted=created, closed=closed, superseded=superseded + delta.superseded,
                       retired=retired, sent=len(delta.new) + len(delta.changed))


def _insert_versions(conn: psycopg.Connection, table: Scd2Table, new: list[tuple], reversioned: list[tuple],
                     observed_at: datetime) -> int:
    """COPY the rows of keys with no current version (``new`` ones, and ``reversioned`` ones closed
    by this merge, each followed by the hash it was compared by) into ``table`` as current versions
    from ``observed_at``, and their hashes into the hash table; return how many. The new rows are
    hashed a chunk at a time, after the chunk is written: the server, which takes several times
    longer to store a row than Python to send it, is then ingesting while Python hashes.

    No INSERT ... SELECT from a staging table: under the merge's lock these keys have no current
    version, so their rows go straight in, with ids drawn from the table's identity sequence
    beforehand (COPY writes a given identity value, as INSERT ... OVERRIDING SYSTEM VALUE would),
    which is how each hash finds its version. The table's constraints and triggers apply as to
    any insert; a current version another writer slipped in meanwhile fails the one-current index.
    """
    rows = new + [row[:-1] for row in reversioned]
    if not rows:
        return 0
    with conn.cursor(binary=True) as cursor:
        # One array, decoded in C, rather than a row per id.
        ids = cursor.execute(
            "SELECT array_agg(nextval((SELECT pg_get_serial_sequence(%s, 'id'))::regclass)) "
            "FROM generate_series(1, %s)", (sql.Identifier(table.name).as_string(conn), len(rows))).fetchone()[0]
    columns = ("id", *table.columns, "row_current_ind", "row_start_ts")
    spelling, (_, tracked_of) = _spelling(conn, table), _getters(table)
    digests: list[bytes] = []
    with conn.cursor() as cursor:
        with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table.name), column_list(columns))) as copy:
            for start in range(0, len(rows), _HASHED_AFTER_WRITING):
                chunk = rows[start:start + _HASHED_AFTER_WRITING]
                for version_id, row in zip(ids[start:start + _HASHED_AFTER_WRITING], chunk, strict=True):
                    copy.write_row((version_id, *row, True, observed_at))
                # New rows come first: past them, the slice is empty.
                digests += _digests(map(tracked_of, new[start:start + _HASHED_AFTER_WRITING]), spelling)
        digests += [row[-1] for row in reversioned]
        with cursor.copy(sql.SQL("COPY {} (version_id, {}) FROM STDIN").format(
                sql.Identifier(table.hash_table), sql.Identifier(HASH_COLUMN))) as copy:
            for version_id_and_digest in zip(ids, digests, strict=True):
                copy.write_row(version_id_and_digest)
    return len(rows)


# Rows written to a COPY between two hashing rounds (some hundreds of kilobytes): few enough that
# the server still has rows to ingest while Python hashes, enough that a round's overhead is nothing.
_HASHED_AFTER_WRITING = 1_000


def _close_changed(conn: psycopg.Connection, table: Scd2Table, staging: str,
                   observed_at: datetime) -> tuple[int, set[Any], int]:
    """Over the staged rows (keys with a current version and another hash, or none): drop the
    superseded ones, close the current versions whose tracked values the server finds
    different, and store the hash of those it finds equal. Returns (superseded, keys closed, left staged)."""
    target, stage = sql.Identifier(table.name), sql.Identifier(staging)
    match = _key_match(table, "t", "s")
    target_tracked, stage_tracked = column_list(table.tracked, "t"), column_list(table.tracked, "s")

    superseded = conn.execute(
        sql.SQL(
            "DELETE FROM {stage} s USING {target} t "
            "WHERE {match} AND t.row_current_ind AND t.row_start_ts >= %(at)s"
        ).format(target=target, stage=stage, match=match),
        {"at": observed_at},
    ).rowcount
    closed = _closing(conn, table, sql.SQL(
        "UPDATE {target} t SET row_current_ind = false, row_end_ts = %(at)s "
        "FROM {stage} s WHERE {match} AND t.row_current_ind "
        "AND ({target_tracked}) IS DISTINCT FROM ({stage_tracked}) RETURNING t.*"
    ).format(target=target, stage=stage, match=match, target_tracked=target_tracked, stage_tracked=stage_tracked),
        {"at": observed_at})
    staged = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(stage)).fetchone()[0]
    if staged > len(closed):
        # Staged, yet neither superseded nor closed: current versions found unchanged on the
        # server though their hash was missing or spelled the same values differently. Store
        # this one, so the next snapshot skips them in Python.
        hashes, hash_column = sql.Identifier(table.hash_table), sql.Identifier(HASH_COLUMN)
        conn.execute(
            sql.SQL(
                "INSERT INTO {hashes} AS h (version_id, {hash}) SELECT t.id, s.{hash} FROM {stage} s "
                "JOIN {target} t ON {match} AND t.row_current_ind "
                "AND ({target_tracked}) IS NOT DISTINCT FROM ({stage_tracked}) "
                "ON CONFLICT (version_id) DO UPDATE SET {hash} = EXCLUDED.{hash} "
                "WHERE h.{hash} IS DISTINCT FROM EXCLUDED.{hash}"
            ).format(hashes=hashes, hash=hash_column, stage=stage, target=target, match=match,
                     target_tracked=target_tracked, stage_tracked=stage_tracked)
        )
    return superseded, closed, staged


def _closing(conn: psycopg.Connection, table: Scd2Table, closing: sql.Composable,
             params: dict[str, Any]) -> set[Any]:
    """Run ``closing`` (an UPDATE closing versions, ``RETURNING t.*``), delete the closed versions'
    hashes in the same statement (so the hashes table keeps about one row per current key), and
    return the business keys closed, as :func:`snapshot_delta` spells them."""
    rows = conn.execute(sql.SQL(
        "WITH closed AS ({closing}), forgotten AS "
        "(DELETE FROM {hashes} h USING closed c WHERE h.version_id = c.id) SELECT {keys} FROM closed"
    ).format(closing=closing, hashes=sql.Identifier(table.hash_table), keys=column_list(table.business_key)),
        params).fetchall()
    return {row[0] for row in rows} if len(table.business_key) == 1 else set(rows)


def merge_snapshot(
    conn: psycopg.Connection,
    table: Scd2Table,
    rows: Iterable[Sequence[Any]],
    observed_at: datetime,
    retire_missing_where: sql.Composable | None = None,
    retire_params: dict[str, Any] | None = None,
) -> MergeResult:
    """Send the new and changed ``rows`` (tuples in ``table.columns`` order) and version them; see
    the module doc."""
    delta = snapshot_delta(conn, table, rows, observed_at)
    return write_delta(conn, table, delta, observed_at, retire_missing_where, retire_params)


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
