"""Opening positions from current edges, within a strategy's threshold and risk limits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import psycopg
from psycopg.rows import dict_row

from precog_pipelines.lib.alerts import Alert
from precog_pipelines.lib.trading import ledger, risk
from precog_pipelines.lib.trading.breakers import DEFAULT_MAX_ORDER_ERRORS, trip_on_order_errors
from precog_pipelines.lib.trading.fees import taker_fee
from precog_pipelines.lib.trading.halts import trading_state
from precog_pipelines.lib.trading.kill_points import kill_point
from precog_pipelines.lib.trading.market_data import fee_multiplier
from precog_pipelines.lib.trading.money import ZERO, down_to_contracts
from precog_pipelines.lib.trading.order_recovery import Recovery, recover_entry_orders
from precog_pipelines.lib.trading.strategy import Strategy

# The current edges worth acting on, best first, whose market version is still the current one
# (an edge computed from an older snapshot waits for the next edges run).
_CANDIDATES = """
SELECT e.*, m.event_ticker, ev.series_ticker
  FROM edges_current e
  JOIN markets m ON m.id = e.market_version_id AND m.row_current_ind AND m.status = 'active'
  JOIN events ev ON ev.event_ticker = m.event_ticker
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
    refused: list[risk.Refusal] = field(default_factory=list)
    # The warning alerts the refusals raised (committed): the caller tells the alert routing's
    # channels once the run has traded, so that no channel delays an entry.
    alerts: list[Alert] = field(default_factory=list)
    exposure_before: Decimal = ZERO
    exposure_after: Decimal = ZERO
    realized_loss_today: Decimal = ZERO
    # Entry orders an earlier, crashed run left without an outcome, booked from the exchange.
    recovered: Recovery = field(default_factory=Recovery)

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
                   trading_mode: str, account: str, clock: Callable[[], datetime], *,
                   halt_on_daily_loss: bool = True, max_order_errors: int = DEFAULT_MAX_ORDER_ERRORS) -> OpeningReport:
    """Buy the best edges of the given model versions (the active ones) at or above the strategy's
    minimum, within its risk limits (lib/trading/risk.py: every entry order is checked before it
    is sent; a refusal is a ``risk_refusals`` row and a warning alert; reaching the daily loss
    limit halts trading); at most one open position per game (its markets are two sides of one
    outcome, and two models' edges on one market are one bet). Each position opens in its own
    transaction; the strategy's lock keeps two runs from spending one limit twice.

    Nothing is bought while trading is halted, checked again before every order (a halt made
    mid-run stops the rest). Every order is logged in ``entry_orders`` before it is sent and its
    outcome in ``entry_attempts`` after; a failed one may trip the order-error breaker
    (``max_order_errors`` failures in a row) and stops the run with :class:`EntryOrderFailed`.

    ``halt_on_daily_loss=False`` (backtests) still refuses entries once the day's loss limit is
    reached but records no halt: no person resumes a replay the next day.

    An order is sent at most once: before anything else (halted or not: booking is not
    trading), the strategy's entry orders a crash left without an outcome are looked up on the
    exchange by client order id and booked (lib/trading/order_recovery.py)."""
    conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"precog.open.{strategy.id}",))
    conn.commit()
    report = OpeningReport()
    limits = strategy.limits
    try:
        report.recovered = recover_entry_orders(conn, strategy, executor, trading_mode, account, clock)
        state = trading_state(conn)
        conn.commit()
        if not state.entries_allowed:
            # The kill switch: no entry order while halted, whatever the edges say.
            report.skip(state.describe())
            return report
        report.exposure_before = report.exposure_after = open_exposure(conn, strategy.id)
        report.realized_loss_today = loss = risk.realized_loss_today(conn, strategy.id, clock())
        game_exposure, series_exposure = risk.exposure_by_game_and_series(conn, strategy.id)
        orders_sent = risk.orders_in_last_minute(conn, strategy.id, clock())
        with conn.cursor(row_factory=dict_row) as cursor:
            candidates = cursor.execute(_CANDIDATES, {"model_ids": list(model_ids),
                                                      "min_edge": strategy.min_edge}).fetchall()
        held_events = {row[0] for row in conn.execute(
            "SELECT DISTINCT t.event_ticker FROM positions p JOIN market_tickers t ON t.ticker = p.ticker "
            "WHERE p.strategy_id = %s AND p.row_current_ind AND p.status = 'open'", (strategy.id,))}
        # An order is sent at most once: an edge whose order came back (filled or not) is not
        # ordered again under the same client order id (the exchange would refuse it with 409).
        answered = {row[0] for row in conn.execute(
            "SELECT client_order_id FROM entry_attempts WHERE strategy_id = %s AND outcome <> 'error'",
            (strategy.id,))}
        conn.commit()
        if halt_on_daily_loss and risk.daily_loss_reached(limits, loss):
            # The day's loss allowance is spent: halt every entry until a person resumes.
            halted = risk.halt_for_daily_loss(conn, strategy, loss, limits.max_daily_loss)
            conn.commit()
            report.skip(halted.describe())
        for edge in candidates:
            if state.halted:
                report.skip(state.describe())
                continue
            if edge["event_ticker"] in held_events:
                report.skip("already holding this game")
                continue
            price = edge["execution_price"]
            client_order_id = f"entry-{strategy.name}-{strategy.version}-edge{edge['id']}"
            if client_order_id in answered:
                report.skip("order already sent for this edge")
                continue
            quantity = contracts_for_stake(strategy.stake_per_trade, price, edge["fee_per_contract"],
                                           edge["available_size"])
            if quantity < 1:
                report.skip("stake buys less than one contract")
                continue
            cost = quantity * price + taker_fee(quantity, price, fee_multiplier(conn, edge["ticker"]))
            now = clock()
            refusal = risk.check_entry(limits, risk.RiskState(
                daily_realized_loss=loss, open_exposure=report.exposure_after,
                game_exposure=game_exposure.get(edge["event_ticker"], ZERO),
                series_exposure=series_exposure.get(edge["series_ticker"], ZERO),
                orders_last_minute=orders_sent), quantity, cost)
            if refusal is not None:
                alert = risk.refuse_entry(conn, strategy, edge, refusal, quantity, trading_mode, now)
                conn.commit()
                report.refused.append(refusal)
                report.alerts.append(alert)
                report.skip(f"risk limit: {refusal.limit}")
                if refusal.limit == "max_daily_loss":
                    break  # trading is halted: nothing else is proposed today
                continue
            # The kill switch again, right before the order: a person or a breaker may have
            # halted trading since this run started.
            state = trading_state(conn)
            conn.commit()
            if state.halted:
                report.skip(state.describe())
                continue
            # Logged and committed before it is sent: an order whose answer is lost still counts.
            risk.record_entry_order(conn, strategy.id, edge, quantity, client_order_id, trading_mode, now)
            conn.commit()
            kill_point("entry_before_send")
            orders_sent += 1
            try:
                fill = executor.buy(conn, edge, quantity, client_order_id)
            except Exception as exc:  # recorded and counted, then the run stops: the attempt happened
                kill_point("entry_after_send")
                conn.rollback()
                error = f"{type(exc).__name__}: {exc}"
                ledger.record_entry_attempt(conn, strategy.id, edge, quantity, client_order_id, trading_mode,
                                            "error", error)
                conn.commit()
                state = trip_on_order_errors(conn, max_order_errors, actor=f"positions ({strategy.name})")
                conn.commit()
                raise EntryOrderFailed(f"entry order {client_order_id} failed: {error}"
                                       + (f"; trading is now {state.describe()}" if state.halted else "")) from exc
            kill_point("entry_after_send")
            if fill is None:
                conn.rollback()
                ledger.record_entry_attempt(conn, strategy.id, edge, quantity, client_order_id, trading_mode,
                                            "not_filled")
                conn.commit()
                kill_point("entry_after_store")
                report.skip("order did not fill")
                continue
            ledger.record_entry_attempt(conn, strategy.id, edge, quantity, client_order_id, trading_mode, "filled")
            key = ledger.open_position(conn, strategy, edge, fill, trading_mode, account, clock())
            conn.commit()
            kill_point("entry_after_store")
            if key is None:
                report.skip("already opened from this edge")
                continue
            report.opened.append(key)
            spent = fill.quantity * fill.price + fill.fee
            report.exposure_after += spent
            game_exposure[edge["event_ticker"]] = game_exposure.get(edge["event_ticker"], ZERO) + spent
            series_exposure[edge["series_ticker"]] = series_exposure.get(edge["series_ticker"], ZERO) + spent
            held_events.add(edge["event_ticker"])
        return report
    finally:
        conn.rollback()
        conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (f"precog.open.{strategy.id}",))
        conn.commit()
