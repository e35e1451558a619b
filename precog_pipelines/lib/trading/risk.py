"""Risk limits: what a strategy version may risk, checked before every entry order.

The limits are part of the strategy version's immutable config (``risk_limits``). Every entry
order, paper or live, passes :func:`check_entry` first; exits never do (a limit must never keep a
position from being closed). A refused entry is an append-only ``risk_refusals`` row and a
warning alert; reaching the daily loss limit also halts trading (source ``daily_loss``), which
only a person resumes.

Units: dollars for the loss and exposure limits (Decimal), contracts per order, orders per
trailing 60 seconds. Exposure is dollars committed to open positions: contracts times entry
price plus entry fees. The daily realized loss is the net realized P&L of the strategy's
positions closed (exited or settled) since midnight UTC, as a positive number when it is a loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg

from precog_pipelines.lib.alerts import Alert, fingerprint, raise_alert
from precog_pipelines.lib.trading.halts import TradingState, halt_trading
from precog_pipelines.lib.trading.money import ZERO

# Each limit's unit, in the order the checks run: the daily loss first (it halts trading).
LIMIT_UNITS = {
    "max_daily_loss": "dollars",
    "max_contracts_per_order": "contracts",
    "max_orders_per_minute": "orders",
    "max_open_exposure": "dollars",
    "max_series_exposure": "dollars",
    "max_game_exposure": "dollars",
}
ORDER_RATE_WINDOW = timedelta(seconds=60)
ALERT_COMPONENT = "trading.risk"


@dataclass(frozen=True)
class RiskLimits:
    """A strategy version's limits; None means no limit of that kind (only versions written
    before issue 14, which had the exposure limit alone)."""

    max_open_exposure: Decimal
    max_daily_loss: Decimal | None = None
    max_game_exposure: Decimal | None = None
    max_series_exposure: Decimal | None = None
    max_contracts_per_order: int | None = None
    max_orders_per_minute: int | None = None


@dataclass(frozen=True)
class RiskState:
    """What the strategy has at risk when an entry is proposed."""

    daily_realized_loss: Decimal = ZERO
    open_exposure: Decimal = ZERO
    game_exposure: Decimal = ZERO
    series_exposure: Decimal = ZERO
    orders_last_minute: int = 0


@dataclass(frozen=True)
class Refusal:
    """The first limit an entry would break: its value and the value the entry would bring."""

    limit: str
    limit_value: Decimal
    would_be: Decimal

    @property
    def unit(self) -> str:
        return LIMIT_UNITS[self.limit]

    def describe(self) -> str:
        if self.limit == "max_daily_loss":
            return (f"max_daily_loss reached: realized loss today {self.would_be} dollars, "
                    f"limit {self.limit_value} dollars")
        return f"{self.limit} {self.limit_value} {self.unit}: the entry would make it {self.would_be} {self.unit}"


def daily_loss_reached(limits: RiskLimits, daily_realized_loss: Decimal) -> bool:
    """The loss limit is reached at the limit itself: a strategy that has lost its whole daily
    allowance sends no more entries that day."""
    return limits.max_daily_loss is not None and daily_realized_loss >= limits.max_daily_loss


def check_entry(limits: RiskLimits, state: RiskState, quantity: Decimal, cost: Decimal) -> Refusal | None:
    """The first limit an entry of ``quantity`` contracts costing ``cost`` dollars (price plus
    fee) would break, or None. Each maximum is inclusive: an order that brings a value exactly
    to its limit passes; one cent, one contract or one order more is refused."""
    if daily_loss_reached(limits, state.daily_realized_loss):
        return Refusal("max_daily_loss", limits.max_daily_loss, state.daily_realized_loss)
    checks = (
        ("max_contracts_per_order", limits.max_contracts_per_order, quantity),
        ("max_orders_per_minute", limits.max_orders_per_minute, Decimal(state.orders_last_minute + 1)),
        ("max_open_exposure", limits.max_open_exposure, state.open_exposure + cost),
        ("max_series_exposure", limits.max_series_exposure, state.series_exposure + cost),
        ("max_game_exposure", limits.max_game_exposure, state.game_exposure + cost),
    )
    for name, limit, would_be in checks:
        if limit is not None and would_be > limit:
            return Refusal(name, Decimal(limit), would_be)
    return None


# ---- the warehouse side --------------------------------------------------------------------------


def day_start(now: datetime) -> datetime:
    """Midnight UTC of ``now``'s day: the daily loss limit's day."""
    return now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def realized_loss_today(conn: psycopg.Connection, strategy_id: int, now: datetime) -> Decimal:
    """The strategy's net realized loss (positive dollars) on positions closed since midnight
    UTC and on the parts of still open positions sold since then (partial exits); zero when the
    day's net is a gain."""
    net = conn.execute(
        "SELECT (SELECT coalesce(sum(realized_pnl), 0) FROM positions WHERE strategy_id = %(strategy)s "
        "        AND row_current_ind AND status IN ('closed', 'settled') AND closed_at >= %(since)s "
        "        AND closed_at <= %(now)s) "
        "     + (SELECT coalesce(sum(x.realized_pnl), 0) FROM position_exits x JOIN positions p "
        "          ON p.position_key = x.position_key AND p.row_current_ind AND p.status = 'open' "
        "        WHERE p.strategy_id = %(strategy)s AND x.exited_at >= %(since)s AND x.exited_at <= %(now)s)",
        {"strategy": strategy_id, "since": day_start(now), "now": now},
    ).fetchone()[0]
    return max(ZERO, -net)


def exposure_by_game_and_series(conn: psycopg.Connection, strategy_id: int) -> tuple[dict[str, Decimal],
                                                                                      dict[str, Decimal]]:
    """Dollars committed to the strategy's open positions per event (game) and per series."""
    games: dict[str, Decimal] = {}
    series: dict[str, Decimal] = {}
    for event_ticker, series_ticker, exposure in conn.execute(
        "SELECT t.event_ticker, e.series_ticker, sum(p.quantity * p.entry_price + p.entry_fee) FROM positions p "
        "JOIN market_tickers t ON t.ticker = p.ticker JOIN events e ON e.event_ticker = t.event_ticker "
        "WHERE p.strategy_id = %s AND p.row_current_ind AND p.status = 'open' GROUP BY 1, 2", (strategy_id,),
    ):
        games[event_ticker] = games.get(event_ticker, ZERO) + exposure
        series[series_ticker] = series.get(series_ticker, ZERO) + exposure
    return games, series


def orders_in_last_minute(conn: psycopg.Connection, strategy_id: int, now: datetime) -> int:
    """Entry orders the strategy sent in the 60 seconds before ``now`` (filled or not)."""
    return conn.execute(
        "SELECT count(*) FROM entry_orders WHERE strategy_id = %s AND sent_at > %s AND sent_at <= %s",
        (strategy_id, now - ORDER_RATE_WINDOW, now),
    ).fetchone()[0]


def record_entry_order(conn: psycopg.Connection, strategy_id: int, edge: dict[str, Any], quantity: Decimal,
                       client_order_id: str, trading_mode: str, at: datetime) -> None:
    """Log an entry order about to be sent (the caller commits before sending it, so an order
    whose response never comes back still counts against the rate)."""
    conn.execute(
        "INSERT INTO entry_orders (strategy_id, edge_id, ticker, side, trading_mode, quantity, limit_price, "
        "client_order_id, sent_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (strategy_id, edge["id"], edge["ticker"], edge["side"], trading_mode, quantity, edge["execution_price"],
         client_order_id, at),
    )


def refuse_entry(conn: psycopg.Connection, strategy: Any, edge: dict[str, Any], refusal: Refusal,
                 quantity: Decimal, trading_mode: str, at: datetime) -> Alert:
    """Record the refusal (``risk_refusals``) and raise a warning alert, in the caller's
    transaction. One open alert per strategy version and limit; repeats count occurrences."""
    label = f"{strategy.name} v{strategy.version}"
    message = f"entry refused for {label} on {edge['ticker']} {edge['side']}: {refusal.describe()}"
    conn.execute(
        "INSERT INTO risk_refusals (strategy_id, edge_id, ticker, side, trading_mode, limit_name, unit, "
        "limit_value, would_be_value, quantity, price, message, refused_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (strategy.id, edge["id"], edge["ticker"], edge["side"], trading_mode, refusal.limit, refusal.unit,
         refusal.limit_value, refusal.would_be, quantity, edge["execution_price"], message, at),
    )
    return raise_alert(
        conn, "warning", ALERT_COMPONENT, message,
        fingerprint("risk_refusal", strategy.name, strategy.version, refusal.limit),
        {"strategy": label, "limit": refusal.limit, "unit": refusal.unit, "limit_value": str(refusal.limit_value),
         "would_be_value": str(refusal.would_be), "ticker": edge["ticker"], "side": edge["side"],
         "edge_id": edge["id"]},
    )


def halt_for_daily_loss(conn: psycopg.Connection, strategy: Any, loss: Decimal, limit: Decimal) -> TradingState:
    """Halt trading (source ``daily_loss``), in the caller's transaction; only a person resumes.
    An existing halt stands (halt_trading keeps the first reason)."""
    return halt_trading(
        conn, f"daily loss limit reached: {strategy.name} v{strategy.version} lost {loss} dollars today "
              f"(limit {limit})", "daily_loss", "risk_limits",
        details={"strategy": f"{strategy.name} v{strategy.version}", "realized_loss_today": str(loss),
                 "max_daily_loss": str(limit)},
    )
