"""Marks: what each open position is worth now, kept as append-only history (``position_marks``),
and the open book as the ``open_positions`` view shows it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

from precog_pipelines.lib.warehouse.bulk import copy_into_temp

_MARK_COLUMNS = ("position_key", "position_id", "mark_price", "peak_price", "unrealized_pnl", "market_version_id")

# A staged mark is stored only when it differs from the position's latest mark (a new positions
# version counts as a difference: its quantity or fees changed what the mark is worth). The
# unchanged ones are dropped from the stage first, so the statement reading position_marks is not
# the one appending to it: one that did both rescanned the pages it was appending for every staged
# mark whenever the planner chose a sequential scan (a new or not yet analyzed position_marks),
# quadratic in the marks (1.5 s of PostgreSQL for 10,000 first marks, bench/exit_sensor.py).
_DROP_UNCHANGED = """
DELETE FROM stage_position_marks s
 WHERE EXISTS (
        SELECT FROM (SELECT k.position_id, k.mark_price, k.peak_price, k.unrealized_pnl
                       FROM position_marks k
                      WHERE k.position_key = s.position_key
                      ORDER BY k.marked_at DESC, k.id DESC
                      LIMIT 1) latest
         WHERE (latest.position_id, latest.mark_price, latest.peak_price, latest.unrealized_pnl)
               IS NOT DISTINCT FROM (s.position_id, s.mark_price, s.peak_price, s.unrealized_pnl))
"""
_INSERT_STAGED = """
INSERT INTO position_marks (position_key, position_id, mark_price, peak_price, unrealized_pnl, market_version_id,
                            marked_at)
SELECT position_key, position_id, mark_price, peak_price, unrealized_pnl, market_version_id, %(at)s
  FROM stage_position_marks
"""

OPEN_POSITION_COLUMNS = ("position_key", "position_id", "ticker", "side", "quantity", "entry_price", "entry_fee",
                         "mark_price", "peak_price", "unrealized_pnl", "cost", "strategy", "strategy_version",
                         "trading_mode", "opened_at", "age", "marked_at")


@dataclass(frozen=True)
class Mark:
    """One open position valued at the bid of the side held (``mark_price``)."""

    position_key: str
    position_id: int
    mark_price: Decimal
    peak_price: Decimal
    unrealized_pnl: Decimal
    market_version_id: int


def record_marks(conn: psycopg.Connection, marks: Sequence[Mark], at: datetime) -> int:
    """Append the marks that changed since each position's latest one, stamped ``at``; returns
    how many were stored. One COPY and two statements, in the caller's transaction."""
    if not marks:
        return 0
    copy_into_temp(conn, "position_marks", _MARK_COLUMNS,
                   ([getattr(mark, column) for column in _MARK_COLUMNS] for mark in marks))
    conn.execute(_DROP_UNCHANGED)
    return conn.execute(_INSERT_STAGED, {"at": at}).rowcount


def open_positions(conn: psycopg.Connection, trading_mode: str | None = None) -> list[dict[str, Any]]:
    """The ``open_positions`` view (oldest first), optionally of one trading mode."""
    columns = ", ".join(OPEN_POSITION_COLUMNS)
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(
            f"SELECT {columns} FROM open_positions WHERE %(mode)s::text IS NULL OR trading_mode = %(mode)s "
            "ORDER BY opened_at, position_key", {"mode": trading_mode}).fetchall()


@dataclass(frozen=True)
class Book:
    """The state of the positions of one trading mode: open ones with their marks, and totals."""

    open: list[dict[str, Any]]
    exposure: Decimal
    unrealized_pnl: Decimal
    unmarked: int
    realized_pnl_to_date: Decimal
    by_status: dict[str, int]


def book(conn: psycopg.Connection, trading_mode: str) -> Book:
    """Open positions with marks; exposure (price paid plus entry fees of the open ones); the
    unrealized P&L of those marked (``unmarked`` counts the others); realized P&L to date (every
    closed or settled position, and the exit fills of open ones partly exited); and the count of
    positions per status (every status listed)."""
    rows = open_positions(conn, trading_mode)
    by_status = dict.fromkeys(("open", "closed", "settled"), 0)
    realized = Decimal(0)
    # An open position partly exited has realized the P&L of its exit fills already.
    for status, count, pnl in conn.execute(
            "SELECT p.status, count(*), coalesce(sum(CASE p.status WHEN 'open' THEN x.realized "
            "ELSE p.realized_pnl END), 0) FROM positions p LEFT JOIN (SELECT position_key, sum(realized_pnl) "
            "AS realized FROM position_exits GROUP BY position_key) x ON x.position_key = p.position_key "
            "WHERE p.row_current_ind AND p.trading_mode = %s GROUP BY p.status", (trading_mode,)):
        by_status[status] = count
        realized += pnl
    return Book(
        open=rows,
        exposure=sum((r["cost"] for r in rows), Decimal(0)),
        unrealized_pnl=sum((r["unrealized_pnl"] for r in rows if r["unrealized_pnl"] is not None), Decimal(0)),
        unmarked=sum(r["mark_price"] is None for r in rows),
        realized_pnl_to_date=realized,
        by_status=by_status,
    )


def describe_age(age: timedelta) -> str:
    """``3d 4h``, ``2h 05m``, ``7m``: an open position's age at a glance."""
    minutes = int(age.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"
