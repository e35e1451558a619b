"""Exiting one position: price-walked attempts, each logged, booked once when filled.

The flow holds a session-level advisory lock on the position for its whole life, so a second
exit of the same position (a rerun, or another rule firing) waits and then finds it closed.
Each attempt is committed on its own, so the audit trail survives a crash mid-exit.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

from precog_pipelines.lib.trading import ledger
from precog_pipelines.lib.trading.breakers import DEFAULT_MAX_ORDER_ERRORS, trip_on_order_errors
from precog_pipelines.lib.trading.execution import exit_order
from precog_pipelines.lib.trading.executors import OrderExecutor
from precog_pipelines.lib.trading.halts import trading_state
from precog_pipelines.lib.trading.kill_points import kill_point
from precog_pipelines.lib.trading.money import ZERO
from precog_pipelines.lib.trading.order_recovery import record_exit_order, recover_exit_orders


class ExitNotFilled(RuntimeError):
    """Every attempt, the final market order included, came back unfilled."""


class ExitsHalted(RuntimeError):
    """Trading is halted with exits blocked: no exit order was sent (the exit is requested again
    after the resume, while its rule still fires)."""


@dataclass(frozen=True)
class ExitOutcome:
    """What one exit run did. ``status``: 'exited' (nothing left), 'partially_exited' (this run
    sold part and no order sold the rest: the position stays open with ``remaining``
    contracts, and the exit sensor asks again), 'already_closed', 'market_closed'.
    ``sold`` and ``realized_pnl`` count the fills this run booked; ``fill_price`` is the last."""

    position_key: str
    status: str
    attempts: int = 0
    fill_price: Decimal | None = None
    realized_pnl: Decimal | None = None
    sold: Decimal = ZERO
    remaining: Decimal | None = None


def _session_lock_key(position_key: str) -> int:
    digest = hashlib.sha256(f"precog.ledger.{position_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def exit_position(
    conn: psycopg.Connection,
    position_key: str,
    rule: str,
    limit_attempts: int,
    executor: OrderExecutor,
    account: str,
    run_id: str | None,
    clock: Callable[[], datetime],
    pause_seconds: float = 0.0,
    max_order_errors: int = DEFAULT_MAX_ORDER_ERRORS,
) -> ExitOutcome:
    """Sell the position, walking the price; idempotent: a closed position is left alone.

    Before every attempt the kill switch is read: a halt that blocks exits stops the exit with
    :class:`ExitsHalted` (any other halt lets it go on). A failed order request is recorded,
    counted by the order-error breaker (``max_order_errors`` in a row halt trading), and raised.

    An order is sent at most once: each is recorded in ``exit_orders`` (committed) before it is
    sent, and before anything is sent the position's orders a crash left without an outcome are
    looked up on the exchange and booked (lib/trading/order_recovery.py); a recovered fill is
    the exit, a recovered partial fill is booked and the rest is sold.

    A fill of part of the position (the bid was thinner) is booked as it comes (a
    ``position_exits`` row, a new open version holding the rest) and the walk goes on for the
    rest; when the walk ends with contracts left, the outcome is ``partially_exited``."""
    lock = _session_lock_key(position_key)
    conn.execute("SELECT pg_advisory_lock(%s)", (lock,))
    conn.commit()
    try:
        return _walk(conn, position_key, rule, limit_attempts, executor, account, run_id, clock, pause_seconds,
                     max_order_errors)
    finally:
        conn.rollback()
        conn.execute("SELECT pg_advisory_unlock(%s)", (lock,))
        conn.commit()


@dataclass
class _Booked:
    """The fills one exit run booked (recovered ones included)."""

    sold: Decimal = ZERO
    realized: Decimal = ZERO
    last_price: Decimal | None = None
    last_attempt: int = 0
    remaining: Decimal | None = None

    def add(self, fill_quantity: Decimal, fill_price: Decimal, realized: Decimal, attempt: int,
            remaining: Decimal) -> None:
        self.sold += fill_quantity
        self.realized += realized
        self.last_price, self.last_attempt, self.remaining = fill_price, attempt, remaining

    def outcome(self, position_key: str, status: str, attempts: int) -> ExitOutcome:
        if not self.sold:
            return ExitOutcome(position_key, status, attempts)
        return ExitOutcome(position_key, status, attempts, self.last_price, self.realized, self.sold, self.remaining)


def _walk(conn: psycopg.Connection, position_key: str, rule: str, limit_attempts: int, executor: OrderExecutor,
          account: str, run_id: str | None, clock: Callable[[], datetime], pause_seconds: float,
          max_order_errors: int) -> ExitOutcome:
    booked = _Booked()
    recovered = recover_exit_orders(conn, position_key, executor, account, clock)
    if recovered.fill is not None:
        booked.add(recovered.sold, recovered.fill.price, recovered.realized_pnl, recovered.attempt_number,
                   recovered.remaining)
        if recovered.remaining == 0:
            return booked.outcome(position_key, "exited", recovered.attempt_number)
    # A partial fill does not restart the walk: the next attempt sells the rest one tick lower.
    for attempt in range(1, limit_attempts + 2):
        position = ledger.lock_open_position(conn, position_key)
        if position is None:
            conn.rollback()
            return booked.outcome(position_key, "already_closed", attempt - 1)
        state = trading_state(conn)
        if not state.exits_allowed:
            conn.rollback()
            raise ExitsHalted(f"exit of {position_key} ({rule}) not sent: {state.describe()} (exits blocked)")
        if not executor.is_trading(conn, position):
            # Trading stopped (the game ended): nothing to sell into; the settlement pays out.
            conn.rollback()
            return booked.outcome(position_key, "market_closed", attempt - 1)
        bid, _ = executor.best_bid(conn, position)
        order = exit_order(attempt, bid, limit_attempts)
        # Numbered by the position's exit orders so far: a rerun (or a manual exit) never
        # reuses an id an earlier, perhaps crashed, run sent.
        sent_before = conn.execute("SELECT count(*) FROM exit_orders WHERE position_key = %s",
                                   (position_key,)).fetchone()[0]
        client_order_id = f"exit-{position_key}-{sent_before + 1}-{run_id or 'manual'}"[:100]
        # Recorded and committed before it is sent; the commit ends the transaction holding
        # the position's lock, so it is taken again (the session lock keeps other exits out;
        # a settlement may have closed the position in between: then nothing is sent, and the
        # next exit's recovery finds the order unknown to the exchange).
        record_exit_order(conn, position, rule, order.order_type, order.limit_price, client_order_id, run_id,
                          clock())
        conn.commit()
        position = ledger.lock_open_position(conn, position_key)
        if position is None:
            conn.rollback()
            return booked.outcome(position_key, "already_closed", attempt - 1)
        kill_point("exit_before_send")
        try:
            fill = executor.sell(conn, position, order, client_order_id)
            error = None
        except Exception as exc:  # recorded, then re-raised: the attempt happened
            fill, error = None, f"{type(exc).__name__}: {exc}"
        kill_point("exit_after_send")
        outcome = ledger.exit_attempt_outcome(fill, position["quantity"], error)
        number = ledger.record_exit_attempt(conn, position, rule, order.order_type, order.limit_price,
                                            outcome, fill, error, run_id, client_order_id=client_order_id)
        if fill is not None:
            booking = ledger.book_exit_fill(conn, position, rule, fill, number, account, clock())
            conn.commit()
            kill_point("exit_after_store")
            booked.add(fill.quantity, fill.price, booking.realized_pnl, number, booking.remaining)
            if booking.closed:
                return booked.outcome(position_key, "exited", number)
        else:
            conn.commit()
            kill_point("exit_after_store")
        if error is not None:
            halted = trip_on_order_errors(conn, max_order_errors, actor="position_exit_job")
            conn.commit()
            if halted.halted:
                error += f"; trading is now {halted.describe()}"
            raise RuntimeError(f"exit of {position_key} attempt {number} failed: {error}")
        if pause_seconds:
            time.sleep(pause_seconds)
    if booked.sold:
        return booked.outcome(position_key, "partially_exited", booked.last_attempt)
    raise ExitNotFilled(f"exit of {position_key} ({rule}) did not fill after {limit_attempts} limit orders "
                        "and a market order")

