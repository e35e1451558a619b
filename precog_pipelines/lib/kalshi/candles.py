"""Which candlesticks of a closed market to fetch, and the flat record each one becomes.

A game market trades for days but moves mostly while its game is played, so each market costs
two requests (KALSHI_API.md section 3.1: ``start_ts``, ``end_ts``, ``period_interval``):

- hourly candles over the last :data:`HOURLY_LOOKBACK` before it closed (at most 336 rows);
- minute candles from :data:`MINUTES_BEFORE_GAME` before its game's expected start (its
  ``occurrence_datetime``, else ``expected_expiration_time`` minus :data:`GAME_LENGTH`) to its
  close, capped at :data:`MAX_MINUTE_WINDOW` (a postponed game must not ask for days of minutes).

A candle record is the wire candle flattened (``yes_bid.close_dollars``) beside its market's
ticker, period, close time and result: one object per row, keyed by ``candle_key`` so that the
ingestion pipeline can name, deduplicate and quarantine each candle on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from precog_pipelines.lib.kalshi.models import Market

MINUTE, HOUR = 1, 60
HOURLY_LOOKBACK = timedelta(days=14)
MINUTES_BEFORE_GAME = timedelta(hours=1)
GAME_LENGTH = timedelta(hours=3)
MAX_MINUTE_WINDOW = timedelta(hours=8)


@dataclass(frozen=True)
class CandleRequest:
    """One ``GET /series/{series}/markets/{ticker}/candlesticks`` call."""

    series_ticker: str
    ticker: str
    period_interval: int
    start_ts: int
    end_ts: int


def candle_requests(series_ticker: str, market: Market) -> list[CandleRequest]:
    """The hourly and the per-minute window of one closed market (see the module docstring)."""
    close = market.close_time
    hourly_start = max(market.open_time, close - HOURLY_LOOKBACK)
    requests = [CandleRequest(series_ticker, market.ticker, HOUR, _ts(hourly_start), _ts(close))]
    game_start = market.occurrence_datetime or (
        market.expected_expiration_time - GAME_LENGTH if market.expected_expiration_time else None)
    if game_start is not None:
        minute_start = max(game_start - MINUTES_BEFORE_GAME, close - MAX_MINUTE_WINDOW, market.open_time)
        if minute_start < close:
            requests.append(CandleRequest(series_ticker, market.ticker, MINUTE, _ts(minute_start), _ts(close)))
    return requests


def candle_record(market: Market, period_interval: int, candle: Any) -> dict[str, Any]:
    """One wire candle as the flat record :func:`precog_pipelines.lib.kalshi.parse.parse_candle` reads."""
    record: dict[str, Any] = {}
    if isinstance(candle, Mapping):
        for name, value in candle.items():
            if isinstance(value, Mapping):
                record |= {f"{name}.{inner}": inner_value for inner, inner_value in value.items()}
            else:
                record[name] = value
    else:
        record["<payload>"] = candle
    end = record.get("end_period_ts")
    record |= {
        "candle_key": f"{market.ticker}/{period_interval}/{end}",
        "ticker": market.ticker,
        "event_ticker": market.event_ticker,
        "period_interval": period_interval,
        "market_close_time": market.close_time.isoformat(),
        "market_result": market.result,
    }
    return record


def contract_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """A candle record with column-safe names (``yes_bid.close_dollars`` -> ``yes_bid_close_dollars``)."""
    return {name.replace(".", "_"): value for name, value in record.items()} if isinstance(record, Mapping) else {}


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())
