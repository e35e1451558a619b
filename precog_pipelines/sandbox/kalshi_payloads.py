"""Kalshi JSON objects for the sandbox world, in the current contract only (KALSHI_API.md
section 6): prices as 4-decimal dollar strings, counts as 2-decimal ``_fp`` strings, RFC 3339
``Z`` timestamps, keys in alphabetical order as in recorded responses, and none of the legacy
integer fields."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from decimal import Decimal

from precog_pipelines.sandbox.world import (
    NFL_SERIES,
    SETTLEMENT_TIMER_SECONDS,
    EventSpec,
    MarketState,
    SandboxWorld,
)

PRICE = Decimal("0.0001")
COUNT = Decimal("0.01")

SERIES_INFO = {
    NFL_SERIES: {
        "title": "Professional Football Game",
        "category": "Sports",
        "tags": ["Football"],
        "settlement_sources": [{"name": "NFL", "url": "https://www.nfl.com/"}],
        "contract_terms_url": "https://kalshi-public-docs.s3.amazonaws.com/contract_terms/NFLGAME.pdf",
    },
    "KXSANDBOX": {
        "title": "Sandbox synthetic markets",
        "category": "Sandbox",
        "tags": ["Load test"],
        "settlement_sources": [],
        "contract_terms_url": "https://example.invalid/sandbox.pdf",
    },
}


def dollars(value: Decimal) -> str:
    return f"{value.quantize(PRICE):f}"


def count(value: Decimal) -> str:
    return f"{value.quantize(COUNT):f}"


@functools.lru_cache(maxsize=8192)  # a page repeats the same few times thousands of times
def rfc3339(moment: datetime) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


def series_payload(world: SandboxWorld, ticker: str) -> dict | None:
    info = SERIES_INFO.get(ticker)
    if info is None or ticker not in world.series_tickers():
        return None
    return {
        "additional_prohibitions": [],
        "category": info["category"],
        "contract_terms_url": info["contract_terms_url"],
        "contract_url": info["contract_terms_url"],
        "exchange_index": 0,
        "fee_multiplier": 0.07,
        "fee_type": "quadratic",
        "frequency": "custom",
        "last_updated_ts": rfc3339(world.start - timedelta(days=30)),
        "settlement_sources": info["settlement_sources"],
        "tags": info["tags"],
        "ticker": ticker,
        "title": info["title"],
    }


def event_payload(event: EventSpec, markets: list[dict] | None = None) -> dict:
    info = SERIES_INFO[event.series_ticker]
    payload = {
        "available_on_brokers": False,
        "category": info["category"],
        "collateral_return_type": "MECNET",
        "event_ticker": event.event_ticker,
        "exchange_index": 0,
        "last_updated_ts": rfc3339(event.created),
        "mutually_exclusive": True,
        "product_metadata": {"competition": "Pro Football", "competition_scope": "Game"},
        "series_ticker": event.series_ticker,
        "settlement_sources": info["settlement_sources"],
        "strike_period": "",
        "sub_title": event.sub_title,
        "title": event.title,
    }
    if markets is not None:
        payload["markets"] = markets
    return payload


def market_payload(state: MarketState) -> dict:
    spec, quotes, previous = state.spec, state.quotes, state.previous
    payload = {
        "can_close_early": True,
        "close_time": rfc3339(state.close_time),
        "created_time": rfc3339(spec.open_time - timedelta(minutes=3)),
        "early_close_condition": "This market will close and expire after a winner is declared.",
        "event_ticker": spec.event_ticker,
        "exchange_index": 0,
        "expected_expiration_time": rfc3339(spec.expected_expiration),
        "expiration_time": rfc3339(spec.scheduled_close),
        "expiration_value": state.expiration_value,
        "last_price_dollars": dollars(quotes.last_price),
        "latest_expiration_time": rfc3339(spec.scheduled_close),
        "liquidity_dollars": "0.0000",
        "market_type": "binary",
        "no_ask_dollars": dollars(1 - quotes.yes_bid),
        "no_bid_dollars": dollars(1 - quotes.yes_ask),
        "no_sub_title": spec.sub_title,
        "notional_value_dollars": "1.0000",
        "open_interest_fp": count(state.open_interest),
        "open_time": rfc3339(spec.open_time),
        "previous_price_dollars": dollars(previous.last_price),
        "previous_yes_ask_dollars": dollars(previous.yes_ask),
        "previous_yes_bid_dollars": dollars(previous.yes_bid),
        "price_level_structure": "linear_cent",
        "price_ranges": [{"end": "1.0000", "start": "0.0000", "step": "0.0100"}],
        "result": state.result,
        "rules_primary": spec.rules_primary,
        "rules_secondary": spec.rules_secondary,
        "settlement_timer_seconds": SETTLEMENT_TIMER_SECONDS,
        "status": state.status,
        "strike_type": "structured",
        "ticker": spec.ticker,
        "title": spec.title,
        "updated_time": rfc3339(state.updated_time),
        "volume_24h_fp": count(state.volume_24h),
        "volume_fp": count(state.volume),
        "yes_ask_dollars": dollars(quotes.yes_ask),
        "yes_ask_size_fp": count(quotes.yes_ask_size),
        "yes_bid_dollars": dollars(quotes.yes_bid),
        "yes_bid_size_fp": count(quotes.yes_bid_size),
        "yes_sub_title": spec.sub_title,
    }
    if spec.occurrence is not None:
        payload["occurrence_datetime"] = rfc3339(spec.occurrence)
    if state.settlement_value is not None:
        payload["settlement_value_dollars"] = dollars(state.settlement_value)
    if state.settlement_ts is not None:
        payload["settlement_ts"] = rfc3339(state.settlement_ts)
    return dict(sorted(payload.items()))
