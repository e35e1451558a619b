"""An order is sent at most once: booking the orders a crash left without an outcome.

Every entry order is recorded in ``entry_orders`` and every exit order in ``exit_orders``, each
in its own committed transaction, before it is sent. Its outcome is stored after the exchange
answers: an ``entry_attempts`` row (and, when it filled, a position) or an ``exit_attempts``
row (and, when it filled, the closed position), under the same ``client_order_id``. A process
killed between the two leaves an order recorded but unconfirmed: it may or may not have reached
the exchange, and may or may not have filled.

Before a job sends anything it calls the functions here: each unconfirmed order of its kind is
looked up on the exchange by its client order id (``executor.find_order``; never a new order),
and what happened is booked: the fill opens the position (entries) or closes it (exits); an
order the exchange never received, or that filled nothing, is recorded ``not_filled``. The
client order id is never sent twice: the recovered order is done, and the next order of the job
has its own id. A recovered fill of part of the position is a partial exit like any other: the
contracts sold are booked and the position stays open with the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

from precog_pipelines.lib.trading import ledger
from precog_pipelines.lib.trading.executors import OrderExecutor
from precog_pipelines.lib.trading.money import ZERO
from precog_pipelines.lib.trading.strategy import Strategy

RECOVERED_NOTE = "recovered after a crash"

# Entry orders with no outcome: no entry_attempts row and no trade under their client order id.
_UNCONFIRMED_ENTRIES = """
SELECT o.*
  FROM entry_orders o
 WHERE o.strategy_id = %s AND o.trading_mode = %s
   AND NOT EXISTS (SELECT 1 FROM entry_attempts a WHERE a.client_order_id = o.client_order_id)
   AND NOT EXISTS (SELECT 1 FROM trades t WHERE t.client_order_id = o.client_order_id)
 ORDER BY o.id
"""

_UNCONFIRMED_EXITS = """
SELECT o.*
  FROM exit_orders o
 WHERE o.position_key = %s
   AND NOT EXISTS (SELECT 1 FROM exit_attempts a WHERE a.client_order_id = o.client_order_id)
   AND NOT EXISTS (SELECT 1 FROM trades t WHERE t.client_order_id = o.client_order_id)
 ORDER BY o.id
"""


@dataclass
class Recovery:
    """What recovery booked: client order ids by what the exchange said happened to them."""

    filled: list[str] = field(default_factory=list)
    not_filled: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)  # position keys opened from recovered fills

    @property
    def count(self) -> int:
        return len(self.filled) + len(self.not_filled)


def unconfirmed_entry_orders(conn: psycopg.Connection, strategy_id: int, trading_mode: str) -> list[dict[str, Any]]:
    """The strategy's entry orders recorded before a send whose outcome was never stored."""
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(_UNCONFIRMED_ENTRIES, (strategy_id, trading_mode)).fetchall()


def unconfirmed_exit_orders(conn: psycopg.Connection, position_key: str) -> list[dict[str, Any]]:
    """The position's exit orders recorded before a send whose outcome was never stored."""
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(_UNCONFIRMED_EXITS, (position_key,)).fetchall()


def recover_entry_orders(conn: psycopg.Connection, strategy: Strategy, executor: OrderExecutor, trading_mode: str,
                         account: str, clock: Callable[[], datetime]) -> Recovery:
    """Book every unconfirmed entry order of the strategy from what the exchange says happened.

    Takes the strategy's opening lock (the one :func:`open_positions` holds; a session holding it
    already takes it again), so no run is sending the strategy's entry orders meanwhile. Each
    order is booked in its own transaction, committed here.

    In live mode call it before syncing the balance from the exchange: the cash a recovered
    fill cost is then subtracted from the last balance that did not include it yet."""
    lock = f"precog.open.{strategy.id}"
    conn.commit()
    conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (lock,))
    conn.commit()
    try:
        return _recover_entry_orders(conn, strategy, executor, trading_mode, account, clock)
    finally:
        conn.rollback()
        conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (lock,))
        conn.commit()


def _recover_entry_orders(conn: psycopg.Connection, strategy: Strategy, executor: OrderExecutor, trading_mode: str,
                          account: str, clock: Callable[[], datetime]) -> Recovery:
    recovery = Recovery()
    for order in unconfirmed_entry_orders(conn, strategy.id, trading_mode):
        conn.commit()
        with conn.cursor(row_factory=dict_row) as cursor:
            edge = cursor.execute("SELECT * FROM edges WHERE id = %s", (order["edge_id"],)).fetchone()
        # The order was for the recorded quantity at the recorded price, whatever the edge shows now.
        edge = {**edge, "execution_price": order["limit_price"]}
        found = executor.find_order(conn, order["ticker"], order["side"], order["client_order_id"])
        quantity = order["quantity"]
        if found.fill is None:
            ledger.record_entry_attempt(conn, strategy.id, edge, quantity, order["client_order_id"], trading_mode,
                                        "not_filled")
            conn.commit()
            recovery.not_filled.append(order["client_order_id"])
            continue
        ledger.record_entry_attempt(conn, strategy.id, edge, quantity, order["client_order_id"], trading_mode,
                                    "filled")
        key = ledger.open_position(conn, strategy, edge, found.fill, trading_mode, account, clock())
        conn.commit()
        recovery.filled.append(order["client_order_id"])
        if key is not None:
            recovery.opened.append(key)
    conn.commit()
    return recovery


@dataclass(frozen=True)
class ExitRecovery:
    """The result of recovering one position's unconfirmed exit orders: the contracts their fills
    sold (booked), the last fill with its attempt number, their realized P&L, and what the
    position still holds afterwards (zero when they closed it; None when nothing was booked)."""

    recovered: int = 0
    fill: ledger.Fill | None = None
    attempt_number: int | None = None
    realized_pnl: Decimal | None = None
    sold: Decimal = ZERO
    remaining: Decimal | None = None


def recover_exit_orders(conn: psycopg.Connection, position_key: str, executor: OrderExecutor, account: str,
                        clock: Callable[[], datetime]) -> ExitRecovery:
    """Book every unconfirmed exit order of the position from what the exchange says happened.

    The caller holds the position's exit lock. A fill of everything held closes the position (the
    exit is done); a fill of part of it is booked as a partial exit (``partially_filled``: the
    position stays open with the rest, which the caller goes on selling); a fill of more than
    the position holds now cannot be booked and is recorded as an error attempt naming it.
    Commits each booking."""
    recovered, sold, realized = 0, ZERO, ZERO
    last: tuple[ledger.Fill, int, Decimal] | None = None
    for order in unconfirmed_exit_orders(conn, position_key):
        conn.commit()
        found = executor.find_order(conn, order["ticker"], order["side"], order["client_order_id"])
        position = ledger.lock_open_position(conn, position_key)
        if position is None:  # closed meanwhile (settled): record what the order did, book nothing
            position = _position_version(conn, order["position_id"])
        fill = found.fill
        error = None
        if fill is not None and position["status"] == "open" and fill.quantity > position["quantity"]:
            error = (f"exit of {position_key} filled {fill.quantity} contracts, more than the {position['quantity']} "
                     f"it holds (order {fill.external_order_id}, {RECOVERED_NOTE}); reconcile by hand")
        outcome = ledger.exit_attempt_outcome(fill, position["quantity"], error)
        number = ledger.record_exit_attempt(conn, position, order["exit_reason"], order["order_type"],
                                            order["limit_price"], outcome, fill, error, order["dagster_run_id"],
                                            client_order_id=order["client_order_id"])
        recovered += 1
        if outcome in ("filled", "partially_filled") and position["status"] == "open":
            fill = ledger.Fill(fill.price, fill.quantity, fill.fee, fill.client_order_id, fill.external_order_id,
                               fill.executed_at, order_type=order["order_type"])
            booking = ledger.book_exit_fill(conn, position, order["exit_reason"], fill, number, account, clock())
            sold += fill.quantity
            realized += booking.realized_pnl
            last = (fill, number, booking.remaining)
        conn.commit()
    conn.commit()
    if last is None:
        return ExitRecovery(recovered)
    fill, number, remaining = last
    return ExitRecovery(recovered, fill, number, realized, sold, remaining)


def _position_version(conn: psycopg.Connection, position_id: int) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute("SELECT * FROM positions WHERE id = %s", (position_id,)).fetchone()


def record_exit_order(conn: psycopg.Connection, position: dict[str, Any], rule: str, order_type: str,
                      limit_price: Decimal | None, client_order_id: str, run_id: str | None, at: datetime) -> None:
    """Log an exit order about to be sent (the caller commits before sending it)."""
    conn.execute(
        "INSERT INTO exit_orders (position_key, position_id, ticker, side, trading_mode, exit_reason, order_type, "
        "limit_price, quantity, client_order_id, dagster_run_id, sent_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (position["position_key"], position["id"], position["ticker"], position["side"], position["trading_mode"],
         rule, order_type, limit_price, position["quantity"], client_order_id, run_id, at),
    )
