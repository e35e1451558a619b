"""Opening positions from current edges, within a strategy's threshold and exposure limit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import psycopg
from psycopg.rows import dict_row

from precog_pipelines.lib.trading import ledger
from precog_pipelines.lib.trading.breakers import DEFAULT_MAX_ORDER_ERRORS, trip_on_order_errors
from precog_pipelines.lib.trading.fees import taker_fee
from precog_pipelines.lib.trading.halts import trading_state
from precog_pipelines.lib.trading.market_data import fee_multiplier
from precog_pipelines.lib.trading.money import ZERO, down_to_contracts
from precog_pipelines.lib.trading.strategy import Strategy

# The current edges worth acting on, best first, whose market version is still the current one
# (an edge computed from an older snapshot waits for the next edges run).
_CANDIDATES = """
SELECT e.*, m.event_ticker
  FROM edges_current e
  JOIN markets m ON m.id = e.market_version_id AND m.row_current_ind AND m.status = 'active'
 WHERE e.model_id = ANY(%(model_ids)s) AND e.edge >= %(min_edge)s
 ORDER BY e.edge DESC, e.ticker, e.side
"""


class EntryOrderFailed(RuntimeError):
    """An entry order request failed (recorded in entry_attempts); the run stops there."""


class BuyExecutor(Protocol):
    def buy(self, conn: psycopg.Connection, edge: dict[str, Any], quantity: Decimal,
            client_order_id: str) -> ledger.Fill | None:
        """Buy ``quantity`` of the edge's side at its execution price or better, or nothing."""


@dataclass
class OpeningReport:
    opened: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    exposure_before: Decimal = ZERO
    exposure_after: Decimal = ZERO

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def open_exposure(conn: psycopg.Connection, strategy_id: int) -> Decimal:
    """Dollars committed to the strategy's open positions (price paid plus entry fees)."""
    return conn.execute(
        "SELECT coalesce(sum(quantity * entry_price + entry_fee), 0) FROM positions "
        "WHERE strategy_id = %s AND row_current_ind AND status = 'open'", (strategy_id,),
    ).fetchone()[0]


def contracts_for_stake(stake: Decimal, price: Decimal, fee_per_contract: Decimal, available: Decimal) -> Decimal:
    """Contracts a stake buys at ``price`` plus the edge's fee per contract, capped by the resting size."""
    return min(down_to_contracts(stake / (price + fee_per_contract)), available)


def open_positions(conn: psycopg.Connection, strategy: Strategy, model_ids: Sequence[int], executor: BuyExecutor,
                   trading_mode: str, account: str, clock: Callable[[], datetime],
                   max_order_errors: int = DEFAULT_MAX_ORDER_ERRORS) -> OpeningReport:
    """Buy the best edges of the given model versions (the active ones) at or above the strategy's
    minimum until its exposure limit; at most one open position per game (its markets are two
    sides of one outcome, and two models' edges on one market are one bet). Each position opens in
    its own transaction; the strategy's lock keeps two runs from spending one limit twice.

    Nothing is bought while trading is halted, checked again before every order (a halt made
    mid-run stops the rest). Every order attempt is recorded in ``entry_attempts``; a failed one
    may trip the order-error breaker (``max_order_errors`` failures in a row) and stops the run
    with :class:`EntryOrderFailed`."""
    conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"precog.open.{strategy.id}",))
    conn.commit()
    report = OpeningReport()
    try:
        state = trading_state(conn)
        conn.commit()
        if not state.entries_allowed:
            # The kill switch: no entry order while halted, whatever the edges say.
            report.skip(state.describe())
            return report
        report.exposure_before = report.exposure_after = open_exposure(conn, strategy.id)
        with conn.cursor(row_factory=dict_row) as cursor:
            candidates = cursor.execute(_CANDIDATES, {"model_ids": list(model_ids),
                                                      "min_edge": strategy.min_edge}).fetchall()
        held_events = {row[0] for row in conn.execute(
            "SELECT DISTINCT t.event_ticker FROM positions p JOIN market_tickers t ON t.ticker = p.ticker "
            "WHERE p.strategy_id = %s AND p.row_current_ind AND p.status = 'open'", (strategy.id,))}
        conn.commit()
        for edge in candidates:
            if state.halted:
                report.skip(state.describe())
                continue
            if edge["event_ticker"] in held_events:
                report.skip("already holding this game")
                continue
            price = edge["execution_price"]
            quantity = contracts_for_stake(strategy.stake_per_trade, price, edge["fee_per_contract"],
                                           edge["available_size"])
            if quantity < 1:
                report.skip("stake buys less than one contract")
                continue
            cost = quantity * price + taker_fee(quantity, price, fee_multiplier(conn, edge["ticker"]))
            if report.exposure_after + cost > strategy.max_open_exposure:
                report.skip("exposure limit reached")
                continue
            # The kill switch again, right before the order: a person or a breaker may have
            # halted trading since this run started.
            state = trading_state(conn)
            conn.commit()
            if state.halted:
                report.skip(state.describe())
                continue
            client_order_id = f"entry-{strategy.name}-{strategy.version}-edge{edge['id']}"
            try:
                fill = executor.buy(conn, edge, quantity, client_order_id)
            except Exception as exc:  # recorded and counted, then the run stops: the attempt happened
                conn.rollback()
                error = f"{type(exc).__name__}: {exc}"
                ledger.record_entry_attempt(conn, strategy.id, edge, quantity, client_order_id, trading_mode,
                                            "error", error)
                conn.commit()
                state = trip_on_order_errors(conn, max_order_errors, actor=f"positions ({strategy.name})")
                conn.commit()
                raise EntryOrderFailed(f"entry order {client_order_id} failed: {error}"
                                       + (f"; trading is now {state.describe()}" if state.halted else "")) from exc
            if fill is None:
                conn.rollback()
                ledger.record_entry_attempt(conn, strategy.id, edge, quantity, client_order_id, trading_mode,
                                            "not_filled")
                conn.commit()
                report.skip("order did not fill")
                continue
            ledger.record_entry_attempt(conn, strategy.id, edge, quantity, client_order_id, trading_mode, "filled")
            key = ledger.open_position(conn, strategy, edge, fill, trading_mode, account, clock())
            conn.commit()
            if key is None:
                report.skip("already opened from this edge")
                continue
            report.opened.append(key)
            report.exposure_after += fill.quantity * fill.price + fill.fee
            held_events.add(edge["event_ticker"])
        return report
    finally:
        conn.rollback()
        conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (f"precog.open.{strategy.id}",))
        conn.commit()
