"""Fetching the candlesticks of the markets that closed within a time window (a day of the
``kalshi_candlesticks`` asset): one market list per series (the close-time filters), then the
windows of :func:`precog_pipelines.lib.kalshi.candles.candle_requests` per market, every call
through the client's limiter and retry policy. Returns flat candle records for the ingestion
pipeline, which parses, validates, stores and quarantines them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from precog_pipelines.lib.kalshi.candles import candle_record, candle_requests
from precog_pipelines.lib.kalshi.client import KalshiClient
from precog_pipelines.lib.kalshi.errors import KalshiParseError
from precog_pipelines.lib.kalshi.models import Market
from precog_pipelines.lib.kalshi.parse import parse_market


@dataclass
class CandleFetch:
    markets: list[Market] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    # Markets whose payload did not parse: their candles cannot be planned (reason per ticker).
    unreadable_markets: dict[str, str] = field(default_factory=dict)
    requests: int = 0


def fetch_closed_market_candles(client: KalshiClient, series: Sequence[str], start: datetime,
                                end: datetime) -> CandleFetch:
    """Candle records of every market of ``series`` that closed in ``[start, end)``."""
    fetch = CandleFetch()
    before = client.stats.requests
    for series_ticker in series:
        for payload in client.iter_market_payloads(
                series_ticker=series_ticker, min_close_ts=int(start.timestamp()), max_close_ts=int(end.timestamp()) - 1):
            try:
                market = parse_market(payload)
            except KalshiParseError as error:
                key = payload.get("ticker") if isinstance(payload, dict) else None
                fetch.unreadable_markets[str(key)] = str(error)
                continue
            fetch.markets.append(market)
            for request in candle_requests(series_ticker, market):
                fetch.records += [candle_record(market, request.period_interval, candle)
                                  for candle in client.get_candlestick_payloads(request)]
    fetch.requests = client.stats.requests - before
    return fetch
