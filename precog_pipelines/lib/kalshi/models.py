"""Kalshi objects as frozen dataclasses: prices and amounts in Decimal dollars, counts in
Decimal contracts, timestamps timezone-aware UTC. Built by :mod:`.parse` from the current
(fixed-point) contract of KALSHI_API.md section 6."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Series:
    """``tags`` and ``settlement_sources`` are lists (``{"name", "url"}`` objects), as the
    warehouse's ``text[]`` and ``jsonb`` columns take them."""

    ticker: str
    title: str
    category: str | None
    frequency: str | None
    tags: list[str]
    fee_type: str
    fee_multiplier: Decimal
    settlement_sources: list[dict[str, str | None]]
    last_updated_ts: datetime | None


@dataclass(frozen=True)
class Event:
    event_ticker: str
    series_ticker: str
    title: str
    sub_title: str | None
    mutually_exclusive: bool
    collateral_return_type: str | None
    strike_date: datetime | None
    strike_period: str | None
    fee_type_override: str | None
    fee_multiplier_override: Decimal | None
    last_updated_ts: datetime | None


@dataclass(frozen=True)
class Market:
    """One market snapshot; the fields the warehouse's ``markets`` table stores."""

    ticker: str
    event_ticker: str
    market_type: str
    title: str | None
    yes_sub_title: str | None
    no_sub_title: str | None
    status: str
    yes_bid: Decimal
    yes_ask: Decimal
    no_bid: Decimal
    no_ask: Decimal
    last_price: Decimal
    yes_bid_size: Decimal
    yes_ask_size: Decimal
    volume: Decimal
    volume_24h: Decimal
    open_interest: Decimal
    notional_value: Decimal
    result: str
    settlement_value: Decimal | None
    expiration_value: str | None
    open_time: datetime
    close_time: datetime
    expected_expiration_time: datetime | None
    latest_expiration_time: datetime | None
    occurrence_datetime: datetime | None
    settlement_ts: datetime | None
    can_close_early: bool | None
    updated_time: datetime | None


@dataclass(frozen=True)
class Balance:
    """``balance`` is exact (from ``balance_dollars``, else the integer cents)."""

    balance: Decimal
    balance_cents: int
    portfolio_value: Decimal
    updated_ts: int | None


@dataclass(frozen=True)
class Settlement:
    """One settled market in the portfolio; ``revenue`` and ``value`` arrive as integer cents."""

    ticker: str
    event_ticker: str
    market_result: str
    yes_count: Decimal
    no_count: Decimal
    yes_total_cost: Decimal
    no_total_cost: Decimal
    revenue: Decimal
    value: Decimal | None
    fee_cost: Decimal
    settled_time: datetime


@dataclass(frozen=True)
class OrderResponse:
    """The answer to a V2 order creation."""

    order_id: str
    client_order_id: str | None
    fill_count: Decimal
    remaining_count: Decimal
    average_fill_price: Decimal | None
    average_fee_paid: Decimal | None
    ts: datetime


@dataclass(frozen=True)
class Order:
    order_id: str
    client_order_id: str | None
    ticker: str
    outcome_side: str
    book_side: str
    type: str
    status: str
    yes_price: Decimal
    no_price: Decimal
    fill_count: Decimal
    remaining_count: Decimal
    initial_count: Decimal
    taker_fill_cost: Decimal
    maker_fill_cost: Decimal
    taker_fees: Decimal
    maker_fees: Decimal
    created_time: datetime | None
    last_update_time: datetime | None


@dataclass(frozen=True)
class CancelResponse:
    order_id: str
    client_order_id: str | None
    reduced_by: Decimal
    ts: datetime


@dataclass(frozen=True)
class Fill:
    fill_id: str
    order_id: str
    ticker: str
    outcome_side: str
    book_side: str
    count: Decimal
    yes_price: Decimal
    no_price: Decimal
    is_taker: bool
    fee_cost: Decimal
    created_time: datetime | None


@dataclass(frozen=True)
class MarketPosition:
    """``position`` is signed: positive holds YES, negative holds NO."""

    ticker: str
    position: Decimal
    total_traded: Decimal
    market_exposure: Decimal
    realized_pnl: Decimal
    fees_paid: Decimal
    last_updated_ts: datetime | None


@dataclass(frozen=True)
class Candle:
    """One candlestick of one market (``GET /series/{s}/markets/{t}/candlesticks``), with what
    Kalshi said about the market when it was fetched (close time, result). The ``price_*`` trade
    prices are None for a period in which nothing traded."""

    ticker: str
    event_ticker: str
    period_interval: int  # minutes: 1, 60 or 1440
    end_period_ts: datetime
    yes_bid_open: Decimal
    yes_bid_low: Decimal
    yes_bid_high: Decimal
    yes_bid_close: Decimal
    yes_ask_open: Decimal
    yes_ask_low: Decimal
    yes_ask_high: Decimal
    yes_ask_close: Decimal
    price_open: Decimal | None
    price_low: Decimal | None
    price_high: Decimal | None
    price_close: Decimal | None
    price_mean: Decimal | None
    price_previous: Decimal | None
    volume: Decimal
    open_interest: Decimal
    market_close_time: datetime
    market_result: str

    @property
    def key(self) -> str:
        """``TICKER/PERIOD/END`` (Unix seconds): the ``candle_key`` of its record."""
        return f"{self.ticker}/{self.period_interval}/{int(self.end_period_ts.timestamp())}"
