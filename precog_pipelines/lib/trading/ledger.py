"""Writing trades, positions, exits, settlements and balances: one transaction per event.

Every function here runs inside the caller's transaction and takes the position's (or the
market's) lock first, so running it twice, or twice at once, records the event once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from precog_pipelines.lib.trading import pnl
from precog_pipelines.lib.trading.exits import entry_levels
from precog_pipelines.lib.trading.money import ZERO, price
from precog_pipelines.lib.trading.strategy import Strategy
from precog_pipelines.lib.warehouse.scd2_merge import lock_current, revise_current

PAPER_ACCOUNT = "kalshi:paper"


@dataclass(frozen=True)
class Fill:
    """An executed order, simulated (paper) or reported by the exchange (live)."""

    price: Decimal
    quantity: Decimal
    fee: Decimal
    client_order_id: str
    external_order_id: str | None
    executed_at: datetime
    order_type: str = "limit"
    time_in_force: str | None = "immediate_or_cancel"


def account_key(trading_mode: str, kalshi_env: str) -> str:
    return PAPER_ACCOUNT if trading_mode == "paper" else f"kalshi:{kalshi_env}"


def _lock(conn: psycopg.Connection, name: str) -> None:
    digest = hashlib.sha256(f"precog.ledger.{name}".encode()).digest()
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (int.from_bytes(digest[:8], "big", signed=True),))


def adjust_balance(conn: psycopg.Connection, account: str, delta: Decimal, reason: str, at: datetime) -> Decimal:
    """Record a new balance version ``delta`` dollars away from the current one.

    The balance is read under the account's lock (revise_current locks the key before reading),
    so concurrent settlements and exits on one account each add to the other's result.
    """
    try:
        row = revise_current(conn, "account_balance", {"account_key": account},
                             lambda current: {"balance": current["balance"] + delta, "change_reason": reason}, at)
    except LookupError:
        raise LookupError(f"account {account} has no balance yet; sync it from the exchange first") from None
    return row["balance"]


def record_balance(conn: psycopg.Connection, account: str, trading_mode: str, balance: Decimal,
                   portfolio_value: Decimal | None, at: datetime) -> None:
    """Store the exchange's balance, as a new version only when it differs (under the account's lock)."""
    current = lock_current(conn, "account_balance", {"account_key": account})
    if current is None:
        conn.execute(
            "INSERT INTO account_balance (account_key, trading_mode, balance, portfolio_value, change_reason, "
            "row_start_ts) VALUES (%s, %s, %s, %s, 'exchange_sync', %s)",
            (account, trading_mode, balance, portfolio_value, at))
    elif (current["balance"], current["portfolio_value"]) != (balance, portfolio_value):
        revise_current(conn, "account_balance", {"account_key": account},
                       {"balance": balance, "portfolio_value": portfolio_value, "change_reason": "exchange_sync"}, at)


def open_position(
    conn: psycopg.Connection, strategy: Strategy, edge: dict[str, Any], fill: Fill, trading_mode: str,
    account: str, at: datetime,
) -> str | None:
    """Record an entry fill as a new open position, its entry trade and the cash paid.

    ``edge`` is an ``edges`` row. The position key is derived from strategy and edge version,
    so opening from the same edge again returns None and writes nothing.
    """
    position_key = f"{strategy.name}-v{strategy.version}-edge{edge['id']}"
    _lock(conn, position_key)
    if conn.execute("SELECT 1 FROM positions WHERE position_key = %s", (position_key,)).fetchone():
        return None
    stop, target = entry_levels(fill.price, strategy.exit_rules)
    position_id = conn.execute(
        "INSERT INTO positions (position_key, strategy_id, ticker, side, trading_mode, status, quantity, "
        "entry_price, entry_fee, target_price, stop_loss_price, trailing_stop_distance, peak_price, "
        "current_price, edge_id, opened_at, row_start_ts) "
        "VALUES (%s, %s, %s, %s, %s, 'open', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (position_key, strategy.id, edge["ticker"], edge["side"], trading_mode, fill.quantity, fill.price,
         fill.fee, target, stop, strategy.exit_rules.trailing_stop_distance, fill.price, fill.price,
         edge["id"], fill.executed_at, at),
    ).fetchone()[0]
    _insert_trade(conn, position_key, position_id, strategy.id, edge["ticker"], trading_mode, "entry",
                  edge["side"], "buy", fill)
    adjust_balance(conn, account, -(fill.quantity * fill.price + fill.fee), "trade", at)
    return position_key


def _insert_trade(conn: psycopg.Connection, position_key: str, position_id: int, strategy_id: int, ticker: str,
                  trading_mode: str, purpose: str, side: str, action: str, fill: Fill) -> int:
    # Kalshi's order book is the YES book: buying YES or selling NO bids, the others ask.
    book_side = "bid" if (side, action) in {("yes", "buy"), ("no", "sell")} else "ask"
    return conn.execute(
        "INSERT INTO trades (position_key, position_id, strategy_id, ticker, trading_mode, purpose, side, action, "
        "book_side, order_type, time_in_force, quantity, price, fee, client_order_id, external_order_id, "
        "executed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (position_key, position_id, strategy_id, ticker, trading_mode, purpose, side, action, book_side,
         fill.order_type, fill.time_in_force, fill.quantity, fill.price, fill.fee, fill.client_order_id,
         fill.external_order_id, fill.executed_at),
    ).fetchone()[0]


def lock_open_position(conn: psycopg.Connection, position_key: str) -> dict[str, Any] | None:
    """The position's current version if it is still open, under the position's lock."""
    _lock(conn, position_key)
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(
            "SELECT * FROM positions WHERE position_key = %s AND row_current_ind AND status = 'open'",
            (position_key,),
        ).fetchone()


def record_entry_attempt(conn: psycopg.Connection, strategy_id: int, edge: dict[str, Any], quantity: Decimal,
                         client_order_id: str, trading_mode: str, outcome: str, error: str | None = None) -> int:
    """Append one entry order attempt (filled, not_filled or error) at the edge's price."""
    return conn.execute(
        "INSERT INTO entry_attempts (strategy_id, edge_id, ticker, side, trading_mode, quantity, limit_price, "
        "outcome, client_order_id, error_message) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (strategy_id, edge["id"], edge["ticker"], edge["side"], trading_mode, quantity, edge["execution_price"],
         outcome, client_order_id, error[:1000] if error else None),
    ).fetchone()[0]


def record_exit_attempt(conn: psycopg.Connection, position: dict[str, Any], rule: str, order_type: str,
                        limit_price: Decimal | None, outcome: str, fill: Fill | None, error: str | None,
                        run_id: str | None, *, client_order_id: str | None = None) -> int:
    """Append the next attempt for this position; returns its attempt number. ``client_order_id``
    is the order's (recorded even when nothing filled: it is how the attempt answers its
    ``exit_orders`` row); without it, the fill's."""
    attempt = conn.execute(
        "SELECT coalesce(max(attempt_number), 0) + 1 FROM exit_attempts WHERE position_key = %s",
        (position["position_key"],),
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO exit_attempts (position_key, position_id, exit_reason, attempt_number, order_type, "
        "limit_price, outcome, filled_quantity, fill_price, client_order_id, external_order_id, error_message, "
        "dagster_run_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (position["position_key"], position["id"], rule, attempt, order_type, limit_price, outcome,
         fill.quantity if fill else Decimal("0"), fill.price if fill else None,
         client_order_id or (fill.client_order_id if fill else None), fill.external_order_id if fill else None,
         error[:1000] if error else None, run_id),
    )
    return attempt


def exit_attempt_outcome(fill: Fill | None, held: Decimal, error: str | None) -> str:
    """An exit order's outcome: 'filled' (all ``held``), 'partially_filled', 'not_filled' or 'error'."""
    if fill is not None:
        return "filled" if fill.quantity >= held else "partially_filled"
    return "error" if error else "not_filled"


@dataclass(frozen=True)
class ExitBooking:
    """One exit fill booked: the P&L of the contracts it sold, what is still held (zero when the
    fill closed the position) and, once closed, the position's total realized P&L."""

    realized_pnl: Decimal
    remaining: Decimal
    position_realized_pnl: Decimal | None

    @property
    def closed(self) -> bool:
        return self.remaining == 0


def book_exit_fill(conn: psycopg.Connection, position: dict[str, Any], rule: str, fill: Fill, attempts: int,
                   account: str, at: datetime) -> ExitBooking:
    """Book a filled exit order, whole or partial: exit trade, a position_exits row for the
    contracts it sold, the cash received, and a new positions version: closed when nothing is
    left, else open with the remaining contracts and the unsold share of the entry fee.

    ``position`` is the current open version, read under its lock. The sold contracts carry
    their proportional share of the entry fee (:func:`pnl.entry_fee_share`), so the position's
    realized P&L (the sum of its exit rows, plus its settlement) is exact to the cent."""
    held = position["quantity"]
    if fill.quantity > held:
        raise ValueError(f"exit fill of {fill.quantity} contracts exceeds the {held} position "
                         f"{position['position_key']} holds (order {fill.client_order_id})")
    fee_share = pnl.entry_fee_share(position["entry_fee"], held, fill.quantity)
    realized = pnl.exit_pnl(fill.quantity, position["entry_price"], fee_share, fill.price, fill.fee)
    trade_id = _insert_trade(conn, position["position_key"], position["id"], position["strategy_id"],
                             position["ticker"], position["trading_mode"], "exit", position["side"], "sell", fill)
    conn.execute(
        "INSERT INTO position_exits (position_key, position_id, ticker, exit_reason, quantity, exit_price, fee, "
        "realized_pnl, trade_id, attempts, exited_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (position["position_key"], position["id"], position["ticker"], rule, fill.quantity, fill.price, fill.fee,
         realized, trade_id, attempts, fill.executed_at),
    )
    remaining = held - fill.quantity
    if remaining > 0:
        revise_current(conn, "positions", {"position_key": position["position_key"]}, {
            "quantity": remaining, "entry_fee": position["entry_fee"] - fee_share, "current_price": fill.price,
        }, at)
        total = None
    else:
        whole = _closing_fields(conn, position["position_key"])
        revise_current(conn, "positions", {"position_key": position["position_key"]}, {
            **whole, "status": "closed", "closed_at": fill.executed_at, "exit_reason": rule,
            "current_price": fill.price,
        }, at)
        total = whole["realized_pnl"]
    adjust_balance(conn, account, fill.quantity * fill.price - fill.fee, "exit", at)
    return ExitBooking(realized, remaining, total)


def _closing_fields(conn: psycopg.Connection, position_key: str, settled: Decimal = ZERO,
                    payout_per_contract: Decimal = ZERO, settlement_pnl: Decimal = ZERO) -> dict[str, Any]:
    """The closed (or settled) version describes the whole position: the quantity and entry fee
    of its first version, the average price its contracts left at (the exit fills' and the
    ``settled`` contracts' payout), and the realized P&L: its exit rows plus ``settlement_pnl``."""
    bought, entry_fee = conn.execute(
        "SELECT quantity, entry_fee FROM positions WHERE position_key = %s ORDER BY id LIMIT 1", (position_key,),
    ).fetchone()
    sold, proceeds, realized = conn.execute(
        "SELECT coalesce(sum(quantity), 0), coalesce(sum(quantity * exit_price), 0), coalesce(sum(realized_pnl), 0) "
        "FROM position_exits WHERE position_key = %s", (position_key,),
    ).fetchone()
    return {"quantity": bought, "entry_fee": entry_fee, "realized_pnl": realized + settlement_pnl,
            "exit_price": price((proceeds + settled * payout_per_contract) / (sold + settled))}


def record_settlement(conn: psycopg.Connection, ticker: str, market_result: str, settlement_value: Decimal,
                      settled_at: datetime, external_settlement_id: str | None, raw_response: Any) -> bool:
    """Append the market's settlement once; False when it was already recorded."""
    inserted = conn.execute(
        "INSERT INTO settlements (ticker, market_result, settlement_value, external_settlement_id, settled_at, "
        "raw_response) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (platform_id, ticker) DO NOTHING RETURNING id",
        (ticker, market_result, settlement_value, external_settlement_id, settled_at, Jsonb(raw_response)),
    ).fetchone()
    return inserted is not None


def settle_open_positions(conn: psycopg.Connection, ticker: str, settlement_value: Decimal,
                          settled_at: datetime, accounts: dict[str, str], at: datetime) -> list[tuple[str, Decimal]]:
    """Close every open position on ``ticker`` at the settlement value; pay out to its account.

    ``accounts`` maps trading mode to account key. A partly exited position settles what it
    still holds. Returns (position_key, the position's total realized P&L) pairs.
    """
    keys = [row[0] for row in conn.execute(
        "SELECT position_key FROM positions WHERE ticker = %s AND row_current_ind AND status = 'open' "
        "ORDER BY position_key", (ticker,))]
    # Every position is locked before any balance is touched: an exit holds its position's lock
    # while it waits for the balance, so taking a position lock after the balance lock could
    # deadlock. An exit may have closed one since we listed it; only the locked re-read counts.
    positions = [p for p in (lock_open_position(conn, key) for key in keys) if p is not None]
    settled = []
    for position in positions:
        # The current version holds what no exit sold: its quantity and its share of the entry fee.
        realized = pnl.settlement_pnl(position["side"], position["quantity"], position["entry_price"],
                                      position["entry_fee"], settlement_value)
        payout_per_contract = pnl.settlement_payout_per_contract(position["side"], settlement_value)
        whole = _closing_fields(conn, position["position_key"], position["quantity"], payout_per_contract, realized)
        revise_current(conn, "positions", {"position_key": position["position_key"]}, {
            **whole, "status": "settled", "closed_at": settled_at, "exit_reason": "settlement", "current_price": None,
        }, at)
        adjust_balance(conn, accounts[position["trading_mode"]], position["quantity"] * payout_per_contract,
                       "settlement", at)
        settled.append((position["position_key"], whole["realized_pnl"]))
    return settled
