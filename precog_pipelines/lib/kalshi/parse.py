"""Raw Kalshi JSON objects into the dataclasses of :mod:`.models`, with no HTTP involved.

Each ``parse_*`` takes one decoded object and returns one dataclass, or raises
:class:`KalshiParseError` naming the ticker, the field and the value. Unknown fields are
ignored (Kalshi adds fields almost weekly). Prices come from ``*_dollars`` strings, counts from
``*_fp`` strings; the few integer-cents fields (balance, portfolio_value, settlement revenue
and value) are converted to dollars explicitly. The legacy integer price fields are never read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from precog_pipelines.lib.kalshi.errors import KalshiParseError
from precog_pipelines.lib.kalshi.models import (
    Balance,
    CancelResponse,
    Candle,
    Event,
    Fill,
    Market,
    MarketPosition,
    Order,
    OrderResponse,
    Series,
    Settlement,
)
from precog_pipelines.lib.wire_values import TICKER_PATTERN as WIRE_TICKER_PATTERN
from precog_pipelines.lib.wire_values import (
    contract_count,
    dollar_price,
    fixed_point,
    utc_timestamp,
    whole_number,
)

MARKET_STATUSES = frozenset(
    {"initialized", "active", "inactive", "closed", "determined", "disputed", "amended", "finalized"}
)
MARKET_RESULTS = frozenset({"yes", "no", "scalar", ""})
MARKET_TYPES = frozenset({"binary", "scalar"})
FEE_TYPES = frozenset({"quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees", "flat"})
SETTLEMENT_RESULTS = frozenset({"yes", "no", "scalar", "void"})
OUTCOME_SIDES = frozenset({"yes", "no"})
BOOK_SIDES = frozenset({"bid", "ask"})
ORDER_STATUSES = frozenset({"resting", "canceled", "executed"})
CANDLE_PERIODS = frozenset({1, 60, 1440})  # period_interval, in minutes
# The warehouse's CHECK on tickers (sql/0003_market_data.sql), the contract suite's pattern.
TICKER_PATTERN = re.compile(WIRE_TICKER_PATTERN)

_MISSING = object()
_PRICE_PLACES = 6  # "responses emit up to 6" decimals (KALSHI_API.md section 4)


class _Reader:
    """Typed access to one raw object; every failure names entity, key, field and value."""

    def __init__(self, entity: str, raw: Any, key_field: str) -> None:
        if not isinstance(raw, dict):
            raise KalshiParseError(entity, None, "<payload>", raw, "is not a JSON object")
        self.entity = entity
        self.raw = raw
        key = raw.get(key_field)
        self.key = key if isinstance(key, str) and key else None

    def fail(self, field: str, value: Any, reason: str) -> KalshiParseError:
        return KalshiParseError(self.entity, self.key, field, value, reason)

    def _get(self, field: str, required: bool) -> Any:
        value = self.raw.get(field, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise self.fail(field, None if value is _MISSING else value, "is missing")
            return _MISSING
        return value

    def ticker(self, field: str) -> str:
        value = self._get(field, True)
        if not isinstance(value, str) or not TICKER_PATTERN.match(value):
            raise self.fail(field, value, "is not a ticker (upper-case letters, digits, '.', '_', '-')")
        return value

    def text(self, field: str, *, required: bool = False) -> str | None:
        value = self._get(field, required)
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            raise self.fail(field, value, "is not a string")
        return value

    def choice(self, field: str, allowed: frozenset[str], *, required: bool = True, default: str | None = None):
        value = self._get(field, required)
        if value is _MISSING:
            return default
        if value not in allowed:
            raise self.fail(field, value, f"is not one of {sorted(allowed)}")
        return value

    def boolean(self, field: str, *, required: bool = True) -> bool | None:
        value = self._get(field, required)
        if value is _MISSING:
            return None
        if not isinstance(value, bool):
            raise self.fail(field, value, "is not a boolean")
        return value

    def _decimal(self, field: str, value: Any, places: int) -> Decimal:
        try:
            return fixed_point(value, max_places=places)
        except ValueError as error:
            raise self.fail(field, value, str(error)) from None

    def _fixed(
        self, field: str, required: bool, places: int, *, signed: bool = False
    ) -> Decimal | None:
        value = self._get(field, required)
        if value is _MISSING:
            return None
        number = self._decimal(field, value, places)
        if not signed and number < 0:
            raise self.fail(field, value, "is negative")
        return number

    def _wire(self, field: str, required: bool, read: Callable[[Any], Decimal]) -> Decimal | None:
        value = self._get(field, required)
        if value is _MISSING:
            return None
        try:
            return read(value)
        except ValueError as error:
            raise self.fail(field, value, str(error)) from None

    def price(self, field: str, *, required: bool = True) -> Decimal | None:
        """A ``*_dollars`` price: a decimal string from 0 to 1 (the wire format, exactly)."""
        return self._wire(field, required, dollar_price)

    def dollars(self, field: str, *, required: bool = True, signed: bool = False) -> Decimal | None:
        """A ``*_dollars`` amount (cost, fee, P&L): not bounded by 1."""
        return self._fixed(field, required, _PRICE_PLACES, signed=signed)

    def count(self, field: str, *, required: bool = True, signed: bool = False) -> Decimal | None:
        """A ``*_fp`` contract count string with at most two decimals (the wire format, exactly)."""
        return self._wire(field, required, lambda value: contract_count(value, signed=signed))

    def cents(self, field: str, *, required: bool = True, signed: bool = False) -> Decimal | None:
        """An integer-cents field as exact Decimal dollars (12345 -> 123.45)."""
        value = self._get(field, required)
        if value is _MISSING:
            return None
        try:
            cents = whole_number(value)
        except ValueError:
            raise self.fail(field, value, "is not an integer number of cents") from None
        if not signed and cents < 0:
            raise self.fail(field, value, "is negative")
        return Decimal(cents).scaleb(-2)

    def number(self, field: str, *, required: bool = True) -> Decimal | None:
        """A plain JSON number (e.g. ``fee_multiplier``), non-negative."""
        return self._fixed(field, required, 10)

    def timestamp(self, field: str, *, required: bool = False) -> datetime | None:
        value = self._get(field, required)
        if value is _MISSING:
            return None
        try:
            parsed = utc_timestamp(value)
        except ValueError as error:
            raise self.fail(field, value, str(error)) from None
        if parsed is None and required:
            raise self.fail(field, value, "is the zero time")
        return parsed

    def timestamp_ms(self, field: str) -> datetime:
        value = self._get(field, True)
        try:
            millis = whole_number(value)
        except ValueError:
            raise self.fail(field, value, "is not Unix milliseconds") from None
        return datetime.fromtimestamp(millis / 1000, tz=UTC)

    def integer(self, field: str, *, required: bool = False) -> int | None:
        value = self._get(field, required)
        if value is _MISSING:
            return None
        try:
            return whole_number(value)
        except ValueError:
            raise self.fail(field, value, "is not an integer") from None

    def string_list(self, field: str) -> list[str]:
        value = self._get(field, False)
        if value is _MISSING:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(field, value, "is not a list of strings")
        return list(value)

    def settlement_sources(self, field: str) -> list[dict[str, str | None]]:
        value = self._get(field, False)
        if value is _MISSING:
            return []
        if not isinstance(value, list) or not all(
            isinstance(item, dict) and isinstance(item.get("name"), str) for item in value
        ):
            raise self.fail(field, value, "is not a list of {name, url} objects")
        return [{"name": item["name"], "url": item.get("url")} for item in value]


def parse_series(raw: Any) -> Series:
    r = _Reader("series", raw, "ticker")
    return Series(
        ticker=r.ticker("ticker"),
        title=r.text("title", required=True),
        category=r.text("category"),
        frequency=r.text("frequency"),
        tags=r.string_list("tags"),
        fee_type=r.choice("fee_type", FEE_TYPES),
        fee_multiplier=r.number("fee_multiplier"),
        settlement_sources=r.settlement_sources("settlement_sources"),
        last_updated_ts=r.timestamp("last_updated_ts"),
    )


def parse_event(raw: Any) -> Event:
    r = _Reader("event", raw, "event_ticker")
    return Event(
        event_ticker=r.ticker("event_ticker"),
        series_ticker=r.ticker("series_ticker"),
        title=r.text("title", required=True),
        sub_title=r.text("sub_title"),
        mutually_exclusive=r.boolean("mutually_exclusive"),
        collateral_return_type=r.text("collateral_return_type"),
        strike_date=r.timestamp("strike_date"),
        strike_period=r.text("strike_period"),
        fee_type_override=r.choice("fee_type_override", FEE_TYPES, required=False),
        fee_multiplier_override=r.number("fee_multiplier_override", required=False),
        last_updated_ts=r.timestamp("last_updated_ts"),
    )


def parse_market(raw: Any) -> Market:
    """A market from ``GET /markets`` or ``/markets/{ticker}``.

    Required: the fields the warehouse stores NOT NULL (ticker, event, type, status, quotes,
    sizes, volumes, open interest, notional value, open and close time). A missing ``result``
    reads as ``""`` (not yet determined).
    """
    r = _Reader("market", raw, "ticker")
    return Market(
        ticker=r.ticker("ticker"),
        event_ticker=r.ticker("event_ticker"),
        market_type=r.choice("market_type", MARKET_TYPES),
        title=r.text("title"),
        yes_sub_title=r.text("yes_sub_title"),
        no_sub_title=r.text("no_sub_title"),
        status=r.choice("status", MARKET_STATUSES),
        yes_bid=r.price("yes_bid_dollars"),
        yes_ask=r.price("yes_ask_dollars"),
        no_bid=r.price("no_bid_dollars"),
        no_ask=r.price("no_ask_dollars"),
        last_price=r.price("last_price_dollars"),
        yes_bid_size=r.count("yes_bid_size_fp"),
        yes_ask_size=r.count("yes_ask_size_fp"),
        volume=r.count("volume_fp"),
        volume_24h=r.count("volume_24h_fp"),
        open_interest=r.count("open_interest_fp"),
        notional_value=r.dollars("notional_value_dollars"),
        result=r.choice("result", MARKET_RESULTS, required=False, default=""),
        settlement_value=r.price("settlement_value_dollars", required=False),
        expiration_value=r.text("expiration_value"),
        open_time=r.timestamp("open_time", required=True),
        close_time=r.timestamp("close_time", required=True),
        expected_expiration_time=r.timestamp("expected_expiration_time"),
        latest_expiration_time=r.timestamp("latest_expiration_time"),
        occurrence_datetime=r.timestamp("occurrence_datetime"),
        settlement_ts=r.timestamp("settlement_ts"),
        can_close_early=r.boolean("can_close_early", required=False),
        updated_time=r.timestamp("updated_time"),
    )


def parse_candle(raw: Any) -> Candle:
    """One candle record of :func:`precog_pipelines.lib.kalshi.candles.candle_record`: the wire
    candle flattened (``yes_bid.close_dollars``, ...) beside its market's ticker, period, close
    time and result. Quote prices are required; trade prices (``price.*``) may be null."""
    r = _Reader("candle", raw, "candle_key")
    period = r.integer("period_interval", required=True)
    if period not in CANDLE_PERIODS:
        raise r.fail("period_interval", period, f"is not one of {sorted(CANDLE_PERIODS)} minutes")
    end = r.integer("end_period_ts", required=True)
    if end <= 0:
        raise r.fail("end_period_ts", end, "is not a positive Unix time in seconds")
    return Candle(
        ticker=r.ticker("ticker"),
        event_ticker=r.ticker("event_ticker"),
        period_interval=period,
        end_period_ts=datetime.fromtimestamp(end, tz=UTC),
        **{f"{side}_{point}": r.price(f"{side}.{point}_dollars")
           for side in ("yes_bid", "yes_ask") for point in ("open", "low", "high", "close")},
        **{f"price_{point}": r.price(f"price.{point}_dollars", required=False)
           for point in ("open", "low", "high", "close", "mean", "previous")},
        volume=r.count("volume_fp"),
        open_interest=r.count("open_interest_fp"),
        market_close_time=r.timestamp("market_close_time", required=True),
        market_result=r.choice("market_result", MARKET_RESULTS),
    )


def parse_balance(raw: Any) -> Balance:
    """``GET /portfolio/balance``: ``balance`` and ``portfolio_value`` are integer cents;
    ``balance_dollars`` (exact, sub-cent) is preferred when present."""
    r = _Reader("balance", raw, "<none>")
    cents = r.integer("balance", required=True)
    exact = r.dollars("balance_dollars", required=False, signed=True)
    return Balance(
        balance=exact if exact is not None else Decimal(cents).scaleb(-2),
        balance_cents=cents,
        portfolio_value=r.cents("portfolio_value", signed=True),
        updated_ts=r.integer("updated_ts"),
    )


def parse_settlement(raw: Any) -> Settlement:
    r = _Reader("settlement", raw, "ticker")
    return Settlement(
        ticker=r.ticker("ticker"),
        event_ticker=r.ticker("event_ticker"),
        market_result=r.choice("market_result", SETTLEMENT_RESULTS),
        yes_count=r.count("yes_count_fp"),
        no_count=r.count("no_count_fp"),
        yes_total_cost=r.dollars("yes_total_cost_dollars"),
        no_total_cost=r.dollars("no_total_cost_dollars"),
        revenue=r.cents("revenue"),
        value=r.cents("value", required=False),
        fee_cost=_zero_if_none(r.dollars("fee_cost", required=False)),
        settled_time=r.timestamp("settled_time", required=True),
    )


def parse_order_response(raw: Any) -> OrderResponse:
    """The 201 body of ``POST /portfolio/events/orders``."""
    r = _Reader("order", raw, "order_id")
    return OrderResponse(
        order_id=r.text("order_id", required=True),
        client_order_id=r.text("client_order_id"),
        fill_count=r.count("fill_count"),
        remaining_count=r.count("remaining_count"),
        average_fill_price=r.price("average_fill_price", required=False),
        average_fee_paid=r.dollars("average_fee_paid", required=False),
        ts=r.timestamp_ms("ts_ms"),
    )


def parse_order(raw: Any) -> Order:
    r = _Reader("order", raw, "order_id")
    return Order(
        order_id=r.text("order_id", required=True),
        client_order_id=r.text("client_order_id"),
        ticker=r.ticker("ticker"),
        outcome_side=r.choice("outcome_side", OUTCOME_SIDES),
        book_side=r.choice("book_side", BOOK_SIDES),
        type=r.choice("type", frozenset({"limit", "market"})),
        status=r.choice("status", ORDER_STATUSES),
        yes_price=r.price("yes_price_dollars"),
        no_price=r.price("no_price_dollars"),
        fill_count=r.count("fill_count_fp"),
        remaining_count=r.count("remaining_count_fp"),
        initial_count=r.count("initial_count_fp"),
        taker_fill_cost=r.dollars("taker_fill_cost_dollars"),
        maker_fill_cost=r.dollars("maker_fill_cost_dollars"),
        taker_fees=r.dollars("taker_fees_dollars"),
        maker_fees=r.dollars("maker_fees_dollars"),
        created_time=r.timestamp("created_time"),
        last_update_time=r.timestamp("last_update_time"),
    )


def parse_cancel_response(raw: Any) -> CancelResponse:
    r = _Reader("order", raw, "order_id")
    return CancelResponse(
        order_id=r.text("order_id", required=True),
        client_order_id=r.text("client_order_id"),
        reduced_by=r.count("reduced_by"),
        ts=r.timestamp_ms("ts_ms"),
    )


def parse_fill(raw: Any) -> Fill:
    r = _Reader("fill", raw, "ticker")
    return Fill(
        fill_id=r.text("fill_id", required=True),
        order_id=r.text("order_id", required=True),
        ticker=r.ticker("ticker"),
        outcome_side=r.choice("outcome_side", OUTCOME_SIDES),
        book_side=r.choice("book_side", BOOK_SIDES),
        count=r.count("count_fp"),
        yes_price=r.price("yes_price_dollars"),
        no_price=r.price("no_price_dollars"),
        is_taker=r.boolean("is_taker"),
        fee_cost=r.dollars("fee_cost"),
        created_time=r.timestamp("created_time"),
    )


def parse_market_position(raw: Any) -> MarketPosition:
    r = _Reader("position", raw, "ticker")
    return MarketPosition(
        ticker=r.ticker("ticker"),
        position=r.count("position_fp", signed=True),
        total_traded=r.dollars("total_traded_dollars"),
        market_exposure=r.dollars("market_exposure_dollars"),
        realized_pnl=r.dollars("realized_pnl_dollars", signed=True),
        fees_paid=r.dollars("fees_paid_dollars"),
        last_updated_ts=r.timestamp("last_updated_ts"),
    )


def _zero_if_none(value: Decimal | None) -> Decimal:
    return Decimal(0) if value is None else value
